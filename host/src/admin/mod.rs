//! The admin pages: one HTML page, its ES modules, a stylesheet and the language catalogues
//! (English, Bahasa Indonesia), all embedded in the binary and built on the public API only
//! (the browser holds an API token or a session; there is no back door).

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX: &str = include_str!("index.html");
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JSON: &str = "application/json";

/// Every file served under `/admin/`: its path there, its content type, its text. A module
/// added to `js/` must be named here too (`i18n/check.mjs` says so when one is missing).
const FILES: &[(&str, &str, &str)] = &[
    ("app.css", CSS, include_str!("app.css")),
    ("js/api.js", JS, include_str!("js/api.js")),
    ("js/charts.js", JS, include_str!("js/charts.js")),
    ("js/dom.js", JS, include_str!("js/dom.js")),
    ("js/forms.js", JS, include_str!("js/forms.js")),
    ("js/i18n.js", JS, include_str!("js/i18n.js")),
    ("js/live.js", JS, include_str!("js/live.js")),
    ("js/main.js", JS, include_str!("js/main.js")),
    ("js/messages.js", JS, include_str!("js/messages.js")),
    ("js/state.js", JS, include_str!("js/state.js")),
    ("js/pages/activity.js", JS, include_str!("js/pages/activity.js")),
    ("js/pages/audit.js", JS, include_str!("js/pages/audit.js")),
    ("js/pages/channel.js", JS, include_str!("js/pages/channel.js")),
    ("js/pages/connect.js", JS, include_str!("js/pages/connect.js")),
    ("js/pages/inbox.js", JS, include_str!("js/pages/inbox.js")),
    ("js/pages/integrations.js", JS, include_str!("js/pages/integrations.js")),
    ("js/pages/invitation.js", JS, include_str!("js/pages/invitation.js")),
    ("js/pages/operations.js", JS, include_str!("js/pages/operations.js")),
    ("js/pages/people.js", JS, include_str!("js/pages/people.js")),
    ("js/pages/plugins.js", JS, include_str!("js/pages/plugins.js")),
    ("js/pages/provider-app.js", JS, include_str!("js/pages/provider-app.js")),
    ("js/pages/sign-in.js", JS, include_str!("js/pages/sign-in.js")),
    ("js/pages/templates.js", JS, include_str!("js/pages/templates.js")),
    ("js/pages/webhooks.js", JS, include_str!("js/pages/webhooks.js")),
    ("js/pages/workspaces.js", JS, include_str!("js/pages/workspaces.js")),
    // The language catalogues (i18n/check.mjs checks them against the modules).
    ("i18n/en.json", JSON, include_str!("i18n/en.json")),
    ("i18n/id.json", JSON, include_str!("i18n/id.json")),
];

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response() }))
        .route("/admin/{*path}", get(admin_file))
        .layer(axum::middleware::map_response(|response: Response| async { with_policy(response, ADMIN_POLICY) }))
}

/// One of [`FILES`]; any other path is not found.
async fn admin_file(Path(path): Path<String>) -> Response {
    let path = path.trim_start_matches('/');
    match FILES.iter().find(|file| file.0 == path) {
        Some(&(_, content_type, text)) => ([(header::CONTENT_TYPE, content_type)], text).into_response(),
        // The API's error shape, as for every other path nobody serves.
        None => (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": "not_found", "message": format!("no page file `{path}`")}))).into_response(),
    }
}

/// The admin pages' policy: our own script and style only (no inline code, so an injected
/// `<script>` does not run), files shown from blob URLs, the widget preview framed from this
/// host; and never framed themselves (clickjacking).
pub const ADMIN_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
media-src 'self' blob:; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A page's security headers: its `Content-Security-Policy`, never framed (also for browsers
/// that know only `X-Frame-Options`), and its type never sniffed.
pub fn with_policy(mut response: Response, policy: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    /// The translation catalogues (checked by `i18n/check.mjs`, the translators' own check):
    /// every key in both languages with the same placeholders, every key used, every key used
    /// there, and every module served.
    #[test]
    fn the_catalogues_have_every_key_in_both_languages_and_none_unused() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/admin/i18n/check.mjs");
        let output = std::process::Command::new("node").arg(script).output().expect("node runs (the browser tests need it too)");
        assert!(output.status.success(), "{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    }
}
