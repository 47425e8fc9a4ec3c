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

#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
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
        (self.status, axum::Json(&self)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!("storage error: {error}");
        match error {
            StoreError::NotFound => Self::not_found("not found"),
            _ => Self::unavailable("storage_unavailable", "the database could not complete the request; try again"),
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
        }
        error
    }
}

/// `axum::Json`, with rejections in our error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
