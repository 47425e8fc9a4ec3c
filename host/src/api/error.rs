//! One error shape for the whole API:
//! `{"error": "<code>", "message": "<for a person>", "fields": {"<key>": "<problem>"}}`.
//! Internal details are logged, never returned.

use std::collections::BTreeMap;

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
