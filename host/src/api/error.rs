//! One error shape for the whole API:
//! `{"error": "<code>", "message": "<for a person>", "fields": {"<key>": "<problem>"}}`.
//! Internal details are logged, never returned.

use std::collections::BTreeMap;

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ingest::IngestError;
use crate::runtime::types::ChannelError;
use crate::runtime::{CallError, PluginFailure, Retry};
use crate::store::StoreError;

/// Every error answer: a code for programs, a message for people, and per field what is wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable code, e.g. `not_found`, `invalid_fields`, `plugin_timeout`.
    pub error: &'static str,
    pub message: String,
    /// Only when fields of the request are wrong: the field's key and its problem.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(required = false)]
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self { status, error, message: message.into(), fields: BTreeMap::new() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 422 with a problem per field.
    pub fn invalid_fields(fields: BTreeMap<String, String>) -> Self {
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        let message = format!("some fields are invalid: {}", keys.join(", "));
        Self { fields, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields", message) }
    }

    pub fn unprocessable(error: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error, message)
    }

    pub fn unavailable(error: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, error, message)
    }

    pub fn bad_gateway(error: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, error, message)
    }

    /// A plugin that failed (not a typed refusal of its own), as [`CallError::retry`] decides:
    /// worth another try -> 503 (`plugin_timeout` for a timeout), for good -> 502.
    pub fn plugin_failure(failure: PluginFailure) -> Self {
        let message = failure.to_string();
        match (CallError::from(failure.clone()).retry(), failure) {
            (_, PluginFailure::Timeout(_)) => Self::unavailable("plugin_timeout", message),
            (Retry::Never, _) => Self::bad_gateway("plugin_failed", message),
            _ => Self::unavailable("plugin_failed", message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(&self)).into_response();
        // Kept for `messages::told_in`, which says it again in the reader's language.
        response.extensions_mut().insert(super::messages::ErrorWords { error: self.error, message: self.message, fields: self.fields });
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // Another request's doing, answered as such: not the storage failing.
        match error {
            StoreError::NotFound => Self::not_found("not found"),
            StoreError::BotChannelTaken(channel) => {
                Self::new(StatusCode::CONFLICT, "channel_has_bot", format!("channel `{channel}` got a bot at the same moment: reload to see it"))
            }
            StoreError::ChangedMeanwhile => {
                Self::new(StatusCode::CONFLICT, "changed_meanwhile", "another request changed this at the same moment: reload it and decide again")
            }
            _ if error.is_unique_violation() => {
                tracing::debug!("a write lost to another one: {error}");
                Self::new(StatusCode::CONFLICT, "conflict", "another request made the same thing at the same moment: reload to see it")
            }
            _ if error.is_foreign_key_violation() => {
                tracing::debug!("a write lost to a deletion: {error}");
                Self::new(StatusCode::CONFLICT, "deleted_meanwhile", "what this refers to was deleted at the same moment: reload to see what is left")
            }
            _ => {
                tracing::error!("storage error: {error}");
                Self::unavailable("storage_unavailable", "the database could not complete the request; try again")
            }
        }
    }
}

/// Why a request was not taken, as the provider (or the widget) should hear it: an unverified
/// request is 401, one the plugin cannot read 400 (the provider must not send it again); what
/// [`IngestError::retry`] says is worth another try is 503 (429 when rate limited), so the
/// provider redelivers; a plugin failing for good is 502.
impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        let retry = error.retry();
        let message = error.to_string();
        match error {
            IngestError::PluginUnavailable(_) => ApiError::unavailable("plugin_unavailable", message),
            IngestError::NoApp(_) => ApiError::not_found(message),
            // Its channel was deleted while it was being stored: sending it again will not help.
            IngestError::Store(e) if e.is_foreign_key_violation() => ApiError::not_found("the channel was deleted while this was being stored"),
            IngestError::Store(_) => {
                ApiError::unavailable("storage_unavailable", "the request was verified but could not be stored; send it again")
            }
            IngestError::Plugin(CallError::Channel(ChannelError::Unauthorized(reason))) => {
                ApiError::unauthorized(format!("webhook not verified: {reason}"))
            }
            IngestError::Plugin(CallError::Channel(ChannelError::RateLimited(_))) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down")
            }
            IngestError::Plugin(CallError::Failed(failure)) => ApiError::plugin_failure(failure),
            IngestError::Plugin(CallError::Channel(_)) if retry != Retry::Never => {
                ApiError::unavailable("temporarily_unavailable", message)
            }
            IngestError::Plugin(CallError::Channel(_)) => ApiError::bad_request(message),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let mut error = Self::bad_request(format!("the request body is not what this route takes: {}", rejection.body_text()));
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            error.status = status;
            error.error = "unsupported_media_type";
            error.message = "send the body as JSON with `Content-Type: application/json`".into();
        } else if status == StatusCode::PAYLOAD_TOO_LARGE {
            error.status = status;
            error.error = "payload_too_large";
            error.message = format!("the request body is too large for this route ({})", rejection.body_text());
        }
        error
    }
}

/// `axum::Json`, with rejections in our error shape, and text holding a NUL refused as bad
/// input (no column takes it: Postgres refuses it outright).
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !(essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))) {
            return Err(Self::Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is too large for this route ({})", rejection.body_text()),
            ),
            _ => ApiError::bad_request(format!("the request body could not be read: {}", rejection.body_text())),
        })?;
        if let Some(refusal) = super::bad_input::nul_refusal(&bytes) {
            return Err(refusal);
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

/// Marks a response that is a plugin's answer to its provider (a webhook's), which keeps its
/// own shape whatever its status.
#[derive(Clone, Copy)]
pub struct ProviderAnswer;

/// Longest error text of axum's own kept as the message.
const MAX_REJECTION_TEXT: usize = 4096;

/// Puts every error the routes did not shape themselves into the one shape: axum's extractor
/// rejections (text/plain), 405 (empty, `Allow` kept), 413 from the body limit, and the like.
/// JSON and HTML answers (the OAuth callback's page) and plugins' answers to providers pass.
pub async fn json_shaped(response: Response) -> Response {
    let status = response.status();
    let content_type = response.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let shaped = content_type.starts_with("application/json") || content_type.starts_with("text/html");
    if !(status.is_client_error() || status.is_server_error()) || shaped || response.extensions().get::<ProviderAnswer>().is_some() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_REJECTION_TEXT).await.map(|b| String::from_utf8_lossy(&b).trim().to_owned()).unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::RANGE_NOT_SATISFIABLE => "range_not_satisfiable",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        _ if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = match status {
        // axum adds `Allow` outside every layer of the router, after this one has run.
        StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method; the `Allow` header lists those it takes".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => format!("the request body is too large for this route ({text})"),
        StatusCode::RANGE_NOT_SATISFIABLE => "the range asked for is outside the file (`Content-Range` gives its length)".to_owned(),
        _ if status.is_server_error() => {
            tracing::error!(status = status.as_u16(), "unshaped server error: {text}");
            "the server could not complete the request".to_owned()
        }
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => text,
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let shaped = ApiError::new(status, code, message).into_response();
    let (shaped_parts, body) = shaped.into_parts();
    parts.headers.insert(axum::http::header::CONTENT_TYPE, shaped_parts.headers[axum::http::header::CONTENT_TYPE].clone());
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a write refused by a foreign key (its channel deleted meanwhile) looks like.
    fn deleted_meanwhile() -> StoreError {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch("PRAGMA foreign_keys = ON; CREATE TABLE channels (id TEXT PRIMARY KEY); CREATE TABLE contacts (channel_id TEXT REFERENCES channels (id))").unwrap();
        StoreError::Sqlite(db.execute("INSERT INTO contacts VALUES ('ch_gone')", []).unwrap_err())
    }

    #[test]
    fn a_write_lost_to_a_deletion_is_a_conflict_and_a_webhook_for_a_deleted_channel_is_not_found_not_send_it_again() {
        let answered = ApiError::from(deleted_meanwhile());
        assert_eq!((answered.status, answered.error), (StatusCode::CONFLICT, "deleted_meanwhile"));
        let answered = ApiError::from(IngestError::Store(deleted_meanwhile()));
        assert_eq!(answered.status, StatusCode::NOT_FOUND, "{}", answered.message);
    }
}
