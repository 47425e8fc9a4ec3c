//! Input no route can use, refused before any route sees it, as the client's mistake (4xx):
//! a path or query that decodes to a control character (a NUL reaches no file and no
//! database: Postgres refuses NUL in text, which would otherwise surface as a 503), a path
//! segment longer than any id, and JSON text holding a NUL (`\u0000`).

use axum::extract::Request;
use axum::http::StatusCode;
use percent_encoding::percent_decode_str;

use super::ApiError;

/// The longest path segment any route takes (ids, tokens, signatures, file names).
pub const MAX_PATH_SEGMENT: usize = 1024;

/// 400 for control characters in the path or query, 414 for an over-long segment.
pub fn refusal(request: &Request) -> Option<ApiError> {
    unusable(request.uri().path(), request.uri().query().unwrap_or(""))
}

fn unusable(path: &str, query: &str) -> Option<ApiError> {
    for segment in path.split('/') {
        let decoded = percent_decode_str(segment).collect::<Vec<u8>>();
        if decoded.len() > MAX_PATH_SEGMENT {
            return Some(ApiError::new(
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!("a part of the path is {} bytes long; no id is longer than {MAX_PATH_SEGMENT}", decoded.len()),
            ));
        }
        if holds_control(&decoded) {
            return Some(ApiError::bad_request("the path holds a control character (such as NUL); no id does"));
        }
    }
    // `+` is a space in a query, never a control character: decoding `%XX` is enough.
    holds_control(&percent_decode_str(query).collect::<Vec<u8>>())
        .then(|| ApiError::bad_request("the query holds a control character (such as NUL)"))
}

fn holds_control(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f)
}

/// JSON text holding a NUL is refused (422) on every route that takes JSON: Postgres stores no
/// NUL in text, so neither backend takes one.
pub fn nul_refusal(json: &[u8]) -> Option<ApiError> {
    json_holds_nul(json).then(|| ApiError::unprocessable("invalid_request", "text in the request holds a NUL character (\\u0000), which nothing stores"))
}

/// Whether JSON text holds an escaped NUL (`\u0000` whose backslash is not itself escaped):
/// raw control characters are invalid JSON already, so this is the one way a NUL arrives.
/// One pass, counting the run of backslashes as it goes: anyone may send a body (sign-in takes
/// JSON before any token), so its cost stays linear in the body, a run of backslashes too.
pub fn json_holds_nul(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (at, &byte) in json.iter().enumerate() {
        if byte == b'u' && backslashes % 2 == 1 && json[at..].starts_with(b"u0000") {
            return true;
        }
        backslashes = if byte == b'\\' { backslashes + 1 } else { 0 };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_long_segments_are_refused_plain_ids_pass() {
        assert!(unusable("/api/v1/plugins/telegram", "").is_none());
        assert!(unusable("/api/v1/plugins/..%2F..%2Fx", "a=b+c").is_none(), "not a control character: the route decides");
        assert_eq!(unusable("/api/v1/plugins/a%00b", "").unwrap().status, StatusCode::BAD_REQUEST);
        assert_eq!(unusable("/api/v1/plugins/a%0Ab", "").unwrap().status, StatusCode::BAD_REQUEST);
        assert_eq!(unusable("/api/v1/conversations", "q=a%00").unwrap().status, StatusCode::BAD_REQUEST);
        let long = "a".repeat(MAX_PATH_SEGMENT + 1);
        assert_eq!(unusable(&format!("/api/v1/plugins/{long}"), "").unwrap().status, StatusCode::URI_TOO_LONG);
    }

    #[test]
    fn an_escaped_nul_is_found_an_escaped_backslash_before_u0000_is_not() {
        assert!(json_holds_nul(br#"{"name":"a\u0000b"}"#));
        assert!(json_holds_nul(br#"{"name":"a\\\u0000"}"#));
        assert!(!json_holds_nul(br#"{"name":"a\\u0000"}"#));
        assert!(!json_holds_nul(br#"{"name":"u0000"}"#));
        assert!(json_holds_nul(br#"\\\u0000"#), "three backslashes: the last escapes the u");
        assert!(!json_holds_nul(br#"\\\\u0000"#));
    }
}
