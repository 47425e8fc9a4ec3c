//! Attachments' files, for the people of their workspace: pictures, sound and video shown in
//! place (with range requests, for players), everything else as a download; `nosniff` and a
//! sandboxing CSP always, so a file never runs as a page of this host (SVG and HTML included).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{ApiError, Caller};
use crate::app::App;
use crate::media::sniff::shown_inline;
use crate::store::model::MediaFile;
use crate::store::Scope;

/// The attachment's bytes. `404` for a file of another workspace (for a bot token, of a channel
/// it is not the bot of), one not downloaded (yet, or ever: its `error` says why in the
/// message's attachment), or an unknown id.
#[utoipa::path(get, path = "/media/{id}", tag = "conversations", params(("id" = i64, Path, description = "the file (an attachment's `file.id`)")),
    responses(
        (status = 200, content_type = "*/*", body = Vec<u8>, description = "the file; its sniffed type as `Content-Type`"),
        (status = 206, content_type = "*/*", body = Vec<u8>, description = "the part asked for with `Range`"),
        (status = 404, body = ApiError),
    ))]
pub async fn download(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>, headers: HeaderMap) -> Result<Response, ApiError> {
    let file = visible(&app, &caller, id).await?;
    serve(&app, file, &headers).await
}

/// A file sent on a channel, for its provider to download: by a signed link
/// (`media::links`), without a session. 404 for a link that is wrong, expired or of a file not
/// sent on that channel.
pub async fn linked(
    State(app): State<Arc<App>>,
    Path((channel_id, id, expires_ms, signature, _name)): Path<(String, i64, i64, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("no such file, or the link expired");
    let channel = app.store.channel(&channel_id, Scope::Every).await?.ok_or_else(not_found)?;
    if !crate::media::links::valid(&channel, id, expires_ms, &signature, crate::store::now_ms()) {
        return Err(not_found());
    }
    let file = app.store.media_file(id, Scope::Workspace(channel.workspace_id)).await?.filter(|f| f.channel_id.as_deref() == Some(channel.id.as_str())).ok_or_else(not_found)?;
    serve(&app, file, &headers).await
}

/// The file as `media::files` keeps it, with the headers that keep it from running as a page.
async fn serve(app: &App, file: MediaFile, headers: &HeaderMap) -> Result<Response, ApiError> {
    let id = file.id;
    let (Some(sha256), Some(mime_type)) = (file.sha256.as_deref(), file.mime_type.as_deref()) else {
        let why = match file.state.as_str() {
            "pending" => "is still being downloaded from the provider".to_owned(),
            _ => format!("could not be downloaded: {}", file.error.as_deref().unwrap_or("unknown reason")),
        };
        return Err(ApiError::not_found(format!("file {id} {why}")));
    };
    let mut stored = app.media.files.open(sha256).await.map_err(|e| {
        tracing::error!(media_id = id, %sha256, "a stored file cannot be opened: {e}");
        ApiError::not_found(format!("file {id} is missing from storage"))
    })?;
    let len = stored.len;
    let mut response_headers = HeaderMap::new();
    let inline = shown_inline(mime_type);
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    response_headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response_headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    response_headers.insert(header::CONTENT_DISPOSITION, disposition(inline, file.filename.as_deref(), id));
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        response_headers.insert(header::ETAG, etag);
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, length) = match served_part(range, len) {
        Part::Whole => (StatusCode::OK, 0, len),
        Part::Range { start, end } => {
            response_headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).expect("ASCII"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Part::Unsatisfiable => {
            response_headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{len}")).expect("ASCII"));
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, response_headers).into_response());
        }
    };
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    stored.file.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage", format!("reading file {id} failed: {e}")))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(stored.file.take(length)));
    Ok((status, response_headers, body).into_response())
}

/// What of a file of `len` bytes a download gets for its `Range` header.
#[derive(Debug, PartialEq)]
enum Part {
    Whole,
    /// Bytes `start..=end`.
    Range { start: u64, end: u64 },
    Unsatisfiable,
}

/// One range is served as asked; several are served as the whole file (allowed by RFC 9110).
/// An empty file has no byte to serve: any range of it is unsatisfiable (RFC 9110 14.1.1),
/// where the parser would take `bytes=0-` as byte 0.
fn served_part(range: Option<&str>, len: u64) -> Part {
    let Some(range) = range else { return Part::Whole };
    if len == 0 {
        return Part::Unsatisfiable;
    }
    match http_range_header::parse_range_header(range).and_then(|ranges| ranges.validate(len)) {
        Ok(ranges) if ranges.len() == 1 => Part::Range { start: *ranges[0].start(), end: *ranges[0].end() },
        Ok(_) => Part::Whole,
        Err(_) => Part::Unsatisfiable,
    }
}

#[derive(utoipa::IntoParams, serde::Deserialize)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, as the customer will see it (default: `file`).
    filename: Option<String>,
}

/// A file as the API shows it: `{id, url, state, sha256, size, mime_type, filename, error}`.
pub fn shown(file: &MediaFile) -> serde_json::Value {
    serde_json::to_value(file).unwrap_or_default()
}

/// Uploads a file to send: the body is the file (any `Content-Type`; the type is sniffed from
/// the bytes). Send it with `POST /conversations/{id}/messages` `{"file_id": …, "text": caption}`.
/// 413 over `--media-max-mb`. Files never sent are deleted after a day.
#[utoipa::path(post, path = "/media", tag = "conversations", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file's bytes"),
    responses((status = 201, body = MediaFile, description = "stored; `url` serves it"), (status = 413, body = ApiError), (status = 422, body = ApiError)))]
pub async fn upload(caller: Caller, State(app): State<Arc<App>>, Query(query): Query<UploadQuery>, headers: HeaderMap, body: Body) -> Result<(StatusCode, axum::Json<MediaFile>), ApiError> {
    let Some(workspace) = caller.workspace else {
        return Err(ApiError::unprocessable("no_workspace", "files belong to a workspace: name one with `X-Workspace`"));
    };
    let filename = query.filename.map(|n| n.trim().chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').collect::<String>()).filter(|n| !n.is_empty());
    if filename.as_ref().is_some_and(|n| n.len() > 255) {
        return Err(ApiError::bad_request("`filename` is longer than 255 bytes"));
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let claimed = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let bytes = app.media.receive(body.into_data_stream(), declared, claimed).await.map_err(|e| refused_upload(&e))?;
    let id = app.store.media_uploaded(workspace, filename, bytes).await?;
    let file = app.store.media_file(id, Scope::Workspace(workspace)).await?.ok_or_else(|| ApiError::not_found("the file vanished"))?;
    Ok((StatusCode::CREATED, axum::Json(file)))
}

/// A refused upload as the API answers it: 413, 400, or 503 for the host's own trouble.
pub(super) fn refused_upload(refusal: &crate::media::Received) -> ApiError {
    use crate::media::Received;
    match refusal {
        Received::TooLarge { .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", refusal.to_string()),
        Received::Empty | Received::Broken(_) => ApiError::bad_request(refusal.to_string()),
        Received::Storage(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage", refusal.to_string()),
    }
}

/// The file, if the caller may see it (its workspace's people; the operator; a bot token, the
/// files of its channels' messages only: the caller's scope, in the query).
async fn visible(app: &App, caller: &Caller, id: i64) -> Result<MediaFile, ApiError> {
    app.store.media_file(id, caller.scope()).await?.ok_or_else(|| ApiError::not_found(format!("no file {id}")))
}

/// `inline` or `attachment`, with the file's name (RFC 6266: an ASCII fallback and the
/// UTF-8 name).
fn disposition(inline: bool, filename: Option<&str>, id: i64) -> HeaderValue {
    let kind = if inline { "inline" } else { "attachment" };
    let name = filename.filter(|n| !n.trim().is_empty()).map(str::to_owned).unwrap_or_else(|| format!("file-{id}"));
    let ascii: String = name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded: String = name.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    HeaderValue::from_str(&format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")).unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_served_as_asked_and_none_of_an_empty_file() {
        assert_eq!(served_part(None, 0), Part::Whole);
        assert_eq!(served_part(None, 500), Part::Whole);
        assert_eq!(served_part(Some("bytes=100-199"), 500), Part::Range { start: 100, end: 199 });
        assert_eq!(served_part(Some("bytes=0-"), 500), Part::Range { start: 0, end: 499 });
        assert_eq!(served_part(Some("bytes=0-9, 20-29"), 500), Part::Whole);
        assert_eq!(served_part(Some("bytes=510-"), 500), Part::Unsatisfiable);
        assert_eq!(served_part(Some("bytes=0-"), 0), Part::Unsatisfiable, "an empty file has no byte 0");
        assert_eq!(served_part(Some("bytes=-5"), 0), Part::Unsatisfiable);
    }

    #[test]
    fn the_name_is_kept_safely_in_both_forms() {
        assert_eq!(disposition(false, Some("faktur \"Mei\".pdf"), 3), "attachment; filename=\"faktur _Mei_.pdf\"; filename*=UTF-8''faktur%20%22Mei%22.pdf");
        assert_eq!(disposition(true, Some("foto ü.jpg"), 3), "inline; filename=\"foto _.jpg\"; filename*=UTF-8''foto%20%C3%BC.jpg");
        assert_eq!(disposition(false, None, 7), "attachment; filename=\"file-7\"; filename*=UTF-8''file-7");
    }
}

