//! What a file is, from its first bytes (the `infer` crate's magic numbers), not from what the
//! provider or uploader says: a "photo" that is really an HTML page must not reach a browser
//! as a photo.

/// The MIME type of a file starting with `head`. `claimed` (the provider's or uploader's word)
/// counts only when the bytes match nothing known, and then only if it names no type a
/// browser would show or play (image, audio, video, HTML, script): otherwise the file is
/// `application/octet-stream`.
pub fn mime_type(head: &[u8], claimed: Option<&str>) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    let claimed = claimed.map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()).unwrap_or_default();
    let harmless = !claimed.is_empty()
        && claimed.contains('/')
        && claimed.chars().all(|c| c.is_ascii_alphanumeric() || "/.+-".contains(c))
        && !["image/", "audio/", "video/", "text/html", "text/javascript", "application/javascript", "application/xhtml", "multipart/"]
            .iter()
            .any(|shown| claimed.starts_with(shown));
    if harmless { claimed } else { "application/octet-stream".to_owned() }
}

/// Whether a browser may show the file in place (an `<img>`, `<audio>` or `<video>`): raster
/// images, audio and video. SVG (it carries script) and everything else is a download.
pub fn shown_inline(mime_type: &str) -> bool {
    (mime_type.starts_with("image/") && mime_type != "image/svg+xml") || mime_type.starts_with("audio/") || mime_type.starts_with("video/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_decide_not_the_claim() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(mime_type(png, Some("application/pdf")), "image/png");
        assert_eq!(mime_type(b"%PDF-1.7\n", Some("image/jpeg")), "application/pdf");
        assert_eq!(mime_type(b"<!DOCTYPE html><html><script>", Some("image/jpeg")), "text/html");
        // Unknown bytes: a harmless claim is kept, one a browser would render is not.
        assert_eq!(mime_type(b"name,amount\n", Some("text/csv; charset=utf-8")), "text/csv");
        assert_eq!(mime_type(b"\0\x01\x02", Some("image/png")), "application/octet-stream");
        assert_eq!(mime_type(b"<svg onload=alert(1)>", Some("image/svg+xml")), "application/octet-stream");
        assert_eq!(mime_type(b"\0\x01\x02", None), "application/octet-stream");
    }

    #[test]
    fn only_pictures_sound_and_video_are_shown_in_place() {
        assert!(shown_inline("image/jpeg") && shown_inline("audio/ogg") && shown_inline("video/mp4"));
        assert!(!shown_inline("image/svg+xml") && !shown_inline("text/html") && !shown_inline("application/pdf"));
    }
}
