//! Webhook ingress over HTTP: the request goes to `ingest` (the plugin verifies, the events
//! are stored), then the plugin's response is sent. Unverified -> 401 and nothing stored; a
//! body the plugin cannot read -> 400; never a 500.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::app::App;
use crate::ingest;
use crate::runtime::types::{HttpRequest, HttpResponse};
use crate::store::model::ChannelStatus;
use crate::store::Scope;

pub async fn receive(
    State(app): State<Arc<App>>,
    Path(params): Path<Vec<(String, String)>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let channel_id = params.iter().find(|(k, _)| k == "channel_id").map(|(_, v)| v.as_str()).unwrap_or_default();
    let rest = params.iter().find(|(k, _)| k == "rest").map(|(_, v)| v.as_str()).unwrap_or_default();
    let channel = match app.store.channel(channel_id, Scope::Every).await {
        Ok(Some(channel)) if channel.status == ChannelStatus::Active => channel,
        Ok(_) => return counted(&app, "unknown", Err(ApiError::not_found(format!("no channel `{channel_id}`")))),
        Err(error) => return counted(&app, "unknown", Err(error.into())),
    };
    let request = http_request(&method, rest.to_owned(), query, &headers, &body);
    let answer = ingest::handle(&app, &channel, &request).await.map(|ingested| provider_response(ingested.response)).map_err(Into::into);
    counted(&app, &channel.plugin, answer)
}

/// A provider app's one callback URL (`/webhooks/apps/{plugin}`): the plugin verifies with
/// the app's credentials, the host routes each event to its account's channel.
pub async fn receive_app(
    State(app): State<Arc<App>>,
    Path(plugin): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = http_request(&method, String::new(), query, &headers, &body);
    let answer = ingest::handle_app(&app, &plugin, &request).await.map(|ingested| provider_response(ingested.response)).map_err(Into::into);
    // Only a plugin that exists gets its own label (the path is the sender's to choose).
    let label = if app.registry.get(&plugin).is_some() { plugin.as_str() } else { "unknown" };
    counted(&app, label, answer)
}

/// Headers of a plugin's answer that act on whoever opens the URL, not on a provider: the answer
/// is on the admin pages' origin, so they are dropped (the policy and `nosniff` the host sets).
/// A plugin's other headers (a provider's own `X-…`) pass.
const NOT_PASSED_ON: [&str; 14] = [
    "set-cookie",
    "set-cookie2",
    "clear-site-data",
    "refresh",
    "location",
    "content-location",
    "link",
    "strict-transport-security",
    "content-security-policy",
    "content-security-policy-report-only",
    "x-content-type-options",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "service-worker-allowed",
];

/// The answer, counted in the webhook metrics by plugin and status.
fn counted(app: &App, plugin: &str, answer: Result<Response, ApiError>) -> Response {
    let response = answer.unwrap_or_else(IntoResponse::into_response);
    app.metrics.webhook(plugin, response.status().as_u16());
    response
}

/// The request as the contract's `http-request`; headers that are not text are dropped, and so
/// is the `Cookie` header: webhook URLs are on the admin pages' origin, so a person who opens one
/// (a link in a message, say) would hand the plugin their session. No provider signs with
/// cookies.
fn http_request(method: &Method, path: String, query: Option<String>, headers: &HeaderMap, body: &Bytes) -> HttpRequest {
    HttpRequest {
        method: method.as_str().to_owned(),
        path,
        query: query.unwrap_or_default(),
        headers: headers
            .iter()
            .filter(|(name, _)| *name != header::COOKIE)
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    }
}

/// The plugin's answer to the provider, without the headers that act on a person
/// ([`NOT_PASSED_ON`]; a malformed one is dropped too). The answer is on the admin pages' origin,
/// read by providers, never drawn for a person: whatever its type it runs no script and is not
/// sniffed into one (a sandbox policy, as files served from `/api/v1/media` have).
fn provider_response(response: HttpResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            if NOT_PASSED_ON.contains(&name.as_str()) {
                continue;
            }
            headers.append(name, value);
        }
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let mut answer = (status, headers, response.body).into_response();
    answer.extensions_mut().insert(super::error::ProviderAnswer);
    answer
}
