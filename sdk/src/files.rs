//! Files of the channel (contract 0.1.3): bytes a plugin already holds kept as a file of an
//! inbound message (an email's attachments: put the reference in the attachment's
//! `provider_media_id`), and the bytes of a file an agent sends, read in bounded pieces (for
//! providers that take the file itself, not its link: an email's MIME part).

#[cfg(target_arch = "wasm32")]
use crate::bindings::switchboard::channel::files;

/// The most [`read`] returns at once.
pub const MAX_READ: u32 = 1 << 20;

/// Keeps `content` as a file of this call's channel; the reference to put in the attachment's
/// `provider_media_id`, or why not (over the host's size limit, outside a channel call).
/// Natively (a plugin's unit tests) there is no host: always an error.
pub fn keep(content: &[u8], mime_type: Option<&str>, filename: Option<&str>) -> Result<String, String> {
    #[cfg(target_arch = "wasm32")]
    return files::keep(content, mime_type, filename);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (content, mime_type, filename);
        Err("no host to keep files (a native build)".into())
    }
}

/// Up to `length` bytes (at most [`MAX_READ`]) from `offset` of the file this `send` delivers,
/// named by its `media.url`; fewer at the end, none past it.
pub fn read(url: &str, offset: u64, length: u32) -> Result<Vec<u8>, String> {
    #[cfg(target_arch = "wasm32")]
    return files::read(url, offset, length);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (url, offset, length);
        Err("no host to read files from (a native build)".into())
    }
}

/// The whole file this `send` delivers, read piece by piece, refused past `limit` bytes.
pub fn read_all(url: &str, limit: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    loop {
        let piece = read(url, bytes.len() as u64, MAX_READ)?;
        if piece.is_empty() {
            return Ok(bytes);
        }
        bytes.extend_from_slice(&piece);
        if bytes.len() > limit {
            return Err(format!("the file is larger than {limit} bytes"));
        }
    }
}
