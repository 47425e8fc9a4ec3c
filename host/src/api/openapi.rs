//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations as `utoipa-axum` registers their routes (a route cannot be served without being
//! documented), finished here with what holds for every operation: the error shape on any 4xx,
//! the plugin and storage faults (502, 503), and the two ways to authenticate. Served at
//! `/api/v1/openapi.json`, readable at `/api/v1/docs` (a page embedded in the binary, no CDN).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};

use super::error::ApiError;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "The admin and inbox API of a Switchboard host. Authenticate with `Authorization: Bearer <token>` \
                       (API tokens) or the `sb_session` cookie of a signed-in person (writes then need `X-CSRF-Token`). \
                       The operator acts inside one workspace with `X-Workspace: <id>`. Every error is \
                       `{\"error\", \"message\"[, \"fields\"]}`; another workspace's ids answer 404.",
    ),
    components(schemas(ApiError)),
    tags(
        (name = "session", description = "Signing in and out, and who is calling"),
        (name = "people", description = "People of a workspace and their invitation links"),
        (name = "tokens", description = "API tokens for machines, a channel's bot among them (role `bot`)"),
        (name = "workspaces", description = "The businesses an operator serves (operator)"),
        (name = "plugins", description = "Channel plugins: list, install, remove (operator)"),
        (name = "provider-apps", description = "One operator app serving every account of a provider (operator)"),
        (name = "channels", description = "Connected accounts"),
        (name = "templates", description = "Message templates of channels that have them"),
        (name = "conversations", description = "The inbox: conversations and their messages"),
        (name = "logins", description = "Connecting with a provider login"),
        (name = "audit", description = "Who did what, when, from where"),
        (name = "activity", description = "Figures drawn by the Activity and Operations pages, as JSON and CSV"),
        (name = "secrets", description = "The key that seals secrets at rest (operator)"),
        (name = "webhook endpoints", description = "Event webhooks for CRMs and bots: endpoints, deliveries, the events they receive (`webhooks`)"),
    )
)]
struct ApiDoc;

/// Routes anyone may call (no token, no session).
const PUBLIC: &[&str] = &["/api/v1/session", "/api/v1/invitations/{token}"];

/// The document the routes start from.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// Adds what every operation shares; `doc` holds the routes' own parts.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    let error = || ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name(ApiError::name())))).build();
    let responses = [
        ("Error", "Refused: the `error` code and `message` say why, `fields` names bad fields"),
        ("PluginFault", "The channel's plugin or its provider failed (`plugin_failed`, `provider_error`): not worth repeating as is"),
        ("Unavailable", "Worth another try later: the plugin is loading, timed out or is unavailable, or the database was busy"),
    ];
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, description) in responses {
        components.responses.insert(name.to_owned(), RefOr::T(ResponseBuilder::new().description(description).content("application/json", error()).build()));
    }
    components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(super::auth::SESSION_COOKIE))));
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = PUBLIC.contains(&path.as_str());
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            shared_responses(operation);
            // Handlers share names across modules (`list`, `show`): qualify them by tag.
            let tag = operation.tags.as_ref().and_then(|tags| tags.first()).cloned().unwrap_or_default();
            operation.operation_id = operation.operation_id.take().map(|id| format!("{}_{id}", tag.replace('-', "_")));
            let requirements = if public {
                vec![SecurityRequirement::default()]
            } else {
                vec![SecurityRequirement::new("bearer", Vec::<String>::new()), SecurityRequirement::new("session", Vec::<String>::new())]
            };
            operation.security = Some(requirements);
        }
    }
    doc
}

fn shared_responses(operation: &mut Operation) {
    let reference = |name: &str| RefOr::Ref(Ref::from_response_name(name));
    let responses = &mut operation.responses.responses;
    responses.entry("4XX".into()).or_insert_with(|| reference("Error"));
    responses.entry("502".into()).or_insert_with(|| reference("PluginFault"));
    responses.entry("503".into()).or_insert_with(|| reference("Unavailable"));
}

/// The document as served, with its `webhooks` section: the event webhooks a workspace's
/// endpoints receive (utoipa has no webhooks of its own, so they are added to the JSON here).
pub fn with_webhooks(doc: &OpenApi) -> String {
    let mut document = serde_json::to_value(doc).expect("the OpenAPI document serializes");
    let event_schema = serde_json::json!({
        "type": "object",
        "required": ["type", "timestamp", "api_version", "data"],
        "properties": {
            "type": {"type": "string", "enum": crate::store::webhook_endpoints::EVENT_TYPES.iter().copied().chain([crate::store::webhook_endpoints::PING]).collect::<Vec<_>>()},
            "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened"},
            "api_version": {"type": "integer", "description": "Fields are only added within a version"},
            "data": {"type": "object", "properties": {
                "workspace_id": {"type": "integer"},
                "channel_id": {"type": ["string", "null"]},
                "channel": {"type": ["object", "null"], "description": "id, name, plugin, display_name"},
                "conversation": {"type": ["object", "null"], "description": "as `GET /conversations/{id}` shows it, with its contact"},
                "message": {"type": ["object", "null"], "description": "as `GET /conversations/{id}/messages` shows it; stored attachments with a signed download `url`"},
                "detail": {"type": ["string", "null"], "description": "a failure's reason, the person assigned, a disconnected channel's name"}
            }}
        }
    });
    document["components"]["schemas"]["WebhookEvent"] = event_schema;
    let header = |name: &str, description: &str| serde_json::json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}});
    let headers = serde_json::json!([
        header("webhook-id", "The event's id: the same for every retry and redelivery (deduplicate on it)"),
        header("webhook-timestamp", "Seconds since the epoch when this attempt was signed"),
        header("webhook-signature", "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space separated when two secrets are valid (a day after a rotation)"),
    ]);
    let examples = [
        ("message.received", serde_json::json!({"type": "message.received", "timestamp": "2026-11-25T10:00:00.123Z", "api_version": 1, "data": {
            "workspace_id": 1, "channel_id": "ch_8f2k", "channel": {"id": "ch_8f2k", "name": "Toko Batik WA", "plugin": "whatsapp-cloud", "display_name": "+62 812 0000 1111"},
            "conversation": {"id": 42, "channel_id": "ch_8f2k", "external_id": "6281234567890", "status": "open", "assignee_id": null,
                "contact": {"id": 7, "external_id": "6281234567890", "name": "Siti Rahayu", "handle": null}, "last_activity_at": 1764064800123_i64, "created_at": 1764064800123_i64},
            "message": {"id": 901, "conversation_id": 42, "direction": "inbound", "text": "Halo, pesanan saya sudah dikirim?", "status": "received", "created_at": 1764064800123_i64},
            "detail": null}})),
        ("choice.made", serde_json::json!({"type": "choice.made", "timestamp": "2026-11-25T10:05:00.456Z", "api_version": 1, "data": {
            "workspace_id": 1, "channel_id": "ch_t3lg", "channel": {"id": "ch_t3lg", "name": "Toko Batik Telegram", "plugin": "telegram", "display_name": "@toko_batik_bot"},
            "conversation": {"id": 43, "channel_id": "ch_t3lg", "external_id": "4242", "status": "bot", "assignee_id": null,
                "contact": {"id": 8, "external_id": "4242", "name": "Budi", "handle": null}, "last_activity_at": 1764065100456_i64, "created_at": 1764064800123_i64},
            "message": {"id": 905, "conversation_id": 43, "direction": "inbound", "text": "Belum", "status": "received", "created_at": 1764065100456_i64,
                "content": {"choice": {"id": "missing:A-17", "title": "Belum", "message_id": 904, "answers": "77", "by": "tap"}}},
            "detail": null}})),
        ("conversation.resolved", serde_json::json!({"type": "conversation.resolved", "timestamp": "2026-11-25T11:30:00Z", "api_version": 1, "data": {
            "workspace_id": 1, "channel_id": "ch_8f2k", "channel": {"id": "ch_8f2k", "name": "Toko Batik WA", "plugin": "whatsapp-cloud", "display_name": null},
            "conversation": {"id": 42, "status": "resolved"}, "message": null, "detail": "resolved"}})),
    ];
    let mut webhooks = serde_json::Map::new();
    for event in crate::store::webhook_endpoints::EVENT_TYPES.iter().copied().chain([crate::store::webhook_endpoints::PING]) {
        let example = examples.iter().find(|(name, _)| *name == event).map(|(_, e)| e.clone()).unwrap_or_else(|| {
            serde_json::json!({"type": event, "timestamp": "2026-11-25T10:00:00Z", "api_version": 1, "data": {"workspace_id": 1, "channel_id": null, "channel": null, "conversation": null, "message": null, "detail": null}})
        });
        webhooks.insert(event.to_owned(), serde_json::json!({"post": {
            "summary": format!("`{event}`, sent to the endpoints that asked for it"),
            "description": "Signed per Standard Webhooks; answer 2xx within 10 s, or it is retried (5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h, for 24 h). A conversation's events come in order.",
            "tags": ["webhook endpoints"],
            "parameters": headers,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookEvent"}, "example": example}}},
            "responses": {"200": {"description": "Accepted (any 2xx)"}}
        }}));
    }
    document["webhooks"] = serde_json::Value::Object(webhooks);
    serde_json::to_string_pretty(&document).expect("JSON values serialize")
}

pub fn json(doc: &str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], doc.to_owned()).into_response()
}

/// The docs page: renders `openapi.json` in the browser with a few lines of script.
pub const DOCS_PAGE: &str = include_str!("docs.html");

/// Its script and style are inline (one file); it reads `openapi.json` from this host.
const DOCS_POLICY: &str =
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn docs_page() -> Response {
    crate::admin::with_policy(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], DOCS_PAGE).into_response(), DOCS_POLICY)
}
