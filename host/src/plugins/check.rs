//! `switchboard plugin check FILE`: whether a component is a plugin this host can run and that
//! behaves as the contract asks, before anyone installs it. It loads the component in the real
//! runtime with the real limits, where no host name resolves: a request the plugin makes to its
//! provider (or an SMTP server) fails as an unknown host before a connection is opened, as if
//! the provider were down (only a host written as an IP address skips the lookup). It checks:
//! the manifest and settings schema; that `connect` and `send` answer a typed error (not a trap
//! or a timeout) when the provider is unreachable; that `handle-webhook` refuses a request that
//! carries no signature or secret; that a bounded fuzz of malformed requests gets typed answers
//! only; and the author's fixtures (`--fixtures DIR`: each as expected, and each accepted one
//! refused once its headers, path and query are taken away; one that is not as expected is
//! named with what it expected and what the plugin answered, and where it came from when that
//! explains it: recorded for another plugin, or written by `plugin new` for its example
//! provider). A report line per check, then PASS or FAIL.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runtime::types::{ChannelContext, ChannelError, FieldKind, HttpRequest, OutboundContent, OutboundMessage, WebhookOutcome, WindowState};
use crate::runtime::{CallError, HostServices, Limits, LoadedPlugin, Resolver, Runtime};

/// Malformed requests the fuzz sends (seeded: the same ones every run).
const FUZZ_REQUESTS: usize = 200;

/// Every host name fails to resolve, so the plugin's requests to its provider (and its mail)
/// fail before a connection is opened: the provider is unreachable on purpose.
struct ProviderUnreachable;

impl Resolver for ProviderUnreachable {
    fn lookup<'a>(&'a self, host: &'a str, _: u16) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move { Err(std::io::Error::other(format!("{host}: not resolved (`plugin check` keeps the provider unreachable)"))) })
    }
}

/// One check's outcome.
struct Line {
    ok: bool,
    name: &'static str,
    detail: String,
}

/// The report; `Ok(text)` when every check passed, `Err(text)` otherwise.
pub async fn check(file: &Path, fixtures: Option<&Path>, settings: &[(String, String)], call_timeout: Duration) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let services = HostServices { resolver: Arc::new(ProviderUnreachable), ..HostServices::none() };
    let limits = Limits { call_timeout, ..Limits::default() };
    let runtime = Runtime::new(limits, Vec::new(), services, None).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    let plugin = match runtime.load(bytes).await {
        Ok(plugin) => {
            lines.push(Line { ok: true, name: "loads", detail: format!("a component of switchboard:channel {}, served by this host; manifest, schema, window, guide and limits answered", plugin.wit_version) });
            plugin
        }
        Err(error) => {
            lines.push(Line { ok: false, name: "loads", detail: error.to_string() });
            return Err(report(file, None, &lines));
        }
    };
    lines.push(manifest(&plugin));
    lines.push(schema(&plugin));
    let ctx = context(&plugin, settings);
    lines.push(provider_unreachable("connect, provider unreachable", plugin.connect(&ctx).await.map(|_| ())));
    lines.push(provider_unreachable("send, provider unreachable", plugin.send(&ctx, &message()).await.map(|_| ())));
    lines.push(unsigned(&plugin, &ctx).await);
    lines.push(fuzz(&plugin, &ctx).await);
    if let Some(dir) = fixtures {
        lines.push(fixtures_pass(&plugin, &ctx, dir).await);
    }
    let text = report(file, Some(&plugin), &lines);
    if lines.iter().all(|l| l.ok) { Ok(text) } else { Err(text) }
}

fn report(file: &Path, plugin: Option<&LoadedPlugin>, lines: &[Line]) -> String {
    let mut text = match plugin {
        Some(p) => format!("Checking {} {} (contract {}) from {}\n", p.id(), p.version, p.wit_version, file.display()),
        None => format!("Checking {}\n", file.display()),
    };
    for line in lines {
        let _ = writeln!(text, "{:<5} {}: {}", if line.ok { "ok" } else { "FAIL" }, line.name, line.detail);
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    let _ = writeln!(text, "{}", if failed == 0 { format!("PASS ({} checks)", lines.len()) } else { format!("FAIL ({failed} of {} checks)", lines.len()) });
    text
}

fn manifest(plugin: &LoadedPlugin) -> Line {
    let m = &plugin.manifest;
    let mut problems = Vec::new();
    if m.name.trim().is_empty() {
        problems.push("the name is empty".to_owned());
    }
    if m.description.trim().is_empty() {
        problems.push("the description is empty".to_owned());
    }
    let detail = format!("id `{}`, version {}, {} outbound host(s) parse", m.id, m.version, m.outbound_hosts.len());
    match problems.is_empty() {
        true => Line { ok: true, name: "manifest", detail },
        false => Line { ok: false, name: "manifest", detail: problems.join("; ") },
    }
}

fn schema(plugin: &LoadedPlugin) -> Line {
    let fields = &plugin.settings_schema;
    let mut problems = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if field.key.trim().is_empty() || fields[..i].iter().any(|f| f.key == field.key) {
            problems.push(format!("key `{}` is empty or repeated", field.key));
        }
        if field.label.trim().is_empty() {
            problems.push(format!("`{}` has no label", field.key));
        }
        if field.kind == FieldKind::Select && field.options.is_empty() {
            problems.push(format!("`{}` is a select without options", field.key));
        }
        if field.secret != (field.kind == FieldKind::Secret) {
            problems.push(format!("`{}`: `secret` and the kind `secret` must go together", field.key));
        }
    }
    match problems.is_empty() {
        true => Line { ok: true, name: "settings schema", detail: format!("{} field(s): keys unique, labels set, selects with options", fields.len()) },
        false => Line { ok: false, name: "settings schema", detail: problems.join("; ") },
    }
}

/// A channel of this plugin with the schema's defaults, `x` for the other fields, and `settings`.
fn context(plugin: &LoadedPlugin, settings: &[(String, String)]) -> ChannelContext {
    let mut values: Vec<(String, String)> = plugin
        .settings_schema
        .iter()
        .map(|f| {
            let value = f.default_value.clone().or_else(|| f.options.first().map(|o| o.value.clone())).unwrap_or_else(|| "x".into());
            (f.key.clone(), value)
        })
        .collect();
    for (key, value) in settings {
        values.retain(|(k, _)| k != key);
        values.push((key.clone(), value.clone()));
    }
    ChannelContext {
        channel_id: "ch_check".into(),
        webhook_url: "https://switchboard.example.test/webhooks/ch_check".into(),
        webhook_secret: "Ch3ckS3cretCh3ckS3cretCh3ckS3cr3".into(),
        settings: values,
    }
}

fn message() -> OutboundMessage {
    OutboundMessage {
        message_id: "1".into(),
        conversation_id: "1".into(),
        recipient: "12345".into(),
        content: OutboundContent::Text("check".into()),
        reply_to: None,
        last_inbound: None,
        window: WindowState::Unrestricted,
        attempt: 0,
    }
}

/// A call whose every request to its provider fails (the host name does not resolve) must
/// still answer: a typed error (or success).
fn provider_unreachable(name: &'static str, outcome: Result<(), CallError>) -> Line {
    match outcome {
        Ok(()) => Line { ok: true, name, detail: "answered without its provider".into() },
        Err(CallError::Channel(error)) => Line { ok: true, name, detail: format!("a typed error: {}", short(&error.to_string())) },
        Err(CallError::Failed(failure)) => Line { ok: false, name, detail: format!("no typed answer: {failure}") },
    }
}

async fn unsigned(plugin: &LoadedPlugin, ctx: &ChannelContext) -> Line {
    let name = "unsigned webhook refused";
    let request = HttpRequest { method: "POST".into(), path: String::new(), query: String::new(), headers: vec![("content-type".into(), "application/json".into())], body: b"{}".to_vec() };
    match plugin.handle_webhook(ctx, &request).await {
        Err(CallError::Channel(ChannelError::Unauthorized(reason) | ChannelError::BadRequest(reason))) => Line { ok: true, name, detail: short(&reason) },
        Err(CallError::Channel(other)) => Line { ok: false, name, detail: format!("refused, but not as unauthorized or bad-request: {other}") },
        Err(CallError::Failed(failure)) => Line { ok: false, name, detail: format!("no typed answer: {failure}") },
        Ok(outcome) if outcome.events.is_empty() && outcome.response.status >= 400 => Line { ok: true, name, detail: format!("answered {}", outcome.response.status) },
        Ok(outcome) => Line { ok: false, name, detail: format!("accepted a request with no signature or secret (HTTP {}, {} event(s)): verify first", outcome.response.status, outcome.events.len()) },
    }
}

/// Malformed requests: every one must get a typed answer, within the limits.
async fn fuzz(plugin: &LoadedPlugin, ctx: &ChannelContext) -> Line {
    let name = "fuzz of malformed requests";
    let mut seed = 0x5eed_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut refused, mut accepted, mut slowest) = (0, 0, Duration::ZERO);
    for i in 0..FUZZ_REQUESTS {
        let len = (next() % 2048) as usize;
        let body: Vec<u8> = match i % 4 {
            0 => (0..len).map(|_| next() as u8).collect(),
            1 => format!("{{\"object\":{},\"entry\":[{{\"id\":{}}}],\"events\":[null,{}]}}", next() % 3, next(), "[".repeat(len % 64)).into_bytes(),
            2 => b"{}".to_vec(),
            _ => "\u{0}\u{ffff}".repeat(len % 100).into_bytes(),
        };
        let method = ["POST", "GET", "PUT"][(next() % 3) as usize];
        let headers = vec![
            ("content-type".to_owned(), ["application/json", "message/rfc822", "text/plain"][(next() % 3) as usize].to_owned()),
            ("x-hub-signature-256".to_owned(), format!("sha256={:064x}", next())),
            ("x-line-signature".to_owned(), "A".repeat((next() % 300) as usize)),
        ];
        let request = HttpRequest { method: method.into(), path: ["", "x", "../..", "mime"][(next() % 4) as usize].into(), query: format!("hub.mode=subscribe&crc_token={}", next()), headers, body };
        let started = Instant::now();
        let outcome = plugin.handle_webhook(ctx, &request).await;
        slowest = slowest.max(started.elapsed());
        match outcome {
            Ok(_) => accepted += 1,
            Err(CallError::Channel(_)) => refused += 1,
            Err(CallError::Failed(failure)) => {
                return Line { ok: false, name, detail: format!("request {i} ({method}, {} bytes) got no typed answer: {failure}", request.body.len()) };
            }
        }
    }
    Line { ok: true, name, detail: format!("{FUZZ_REQUESTS} requests, every answer typed ({refused} refused, {accepted} answered), slowest {} ms", slowest.as_millis()) }
}

/// The author's fixtures: `*.json` files `{"request": {method, path, query, headers, body},
/// "settings"?: {...}, "webhook_secret"?: "...", "expect": "accept" | "refuse"}`. Accepted is
/// any answer that is no refusal, as `serve --record-webhooks` records it. A fixture that does
/// not do as it expects is named with what it expected and what the plugin answered, and the
/// line ends with [`FIXTURE_HINT`]: most often the fixture is not in the plugin's format.
async fn fixtures_pass(plugin: &LoadedPlugin, ctx: &ChannelContext, dir: &Path) -> Line {
    let name = "fixtures";
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect(),
        Err(e) => return Line { ok: false, name, detail: format!("cannot read {}: {e}", dir.display()) },
    };
    files.sort();
    let mut problems = Vec::new();
    let mut not_as_expected = false;
    for file in &files {
        let shown = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let fixture: serde_json::Value = match std::fs::read(file).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            Some(value) => value,
            None => {
                problems.push(format!("{shown}: not JSON"));
                continue;
            }
        };
        let expect_accept = match fixture["expect"].as_str() {
            Some("accept") => true,
            Some("refuse") => false,
            _ => {
                problems.push(format!("{shown}: \"expect\" must be \"accept\" or \"refuse\", not {}", fixture["expect"]));
                continue;
            }
        };
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let mut ctx = ctx.clone();
        if let Some(settings) = fixture["settings"].as_object() {
            for (key, value) in settings {
                ctx.settings.retain(|(k, _)| k != key);
                ctx.settings.push((key.clone(), text(value)));
            }
        }
        if let Some(secret) = fixture["webhook_secret"].as_str() {
            ctx.webhook_secret = secret.to_owned();
        }
        // After the channel is set: a recording's placeholders take its values.
        let request = crate::fixtures::request_of(&fixture, &ctx);
        if let Some(answered) = unexpected(plugin.handle_webhook(&ctx, &request).await, expect_accept) {
            not_as_expected = true;
            let expected = if expect_accept { "expected \"accept\"" } else { "expected \"refuse\"" };
            // A recording of another plugin's channel, or a fixture `plugin new` wrote for its
            // example provider, is most likely not in this plugin's format: say which.
            let origin = match fixture["recorded"]["plugin"].as_str() {
                Some(other) if other != plugin.id() => format!(" (recorded for plugin `{other}`, not `{}`)", plugin.id()),
                _ if fixture["note"].as_str().is_some_and(|note| note.contains(super::scaffold::FIXTURE_MARK)) => {
                    " (written by `plugin new` for its example provider: HMAC-SHA256 of the body in `x-signature`)".to_owned()
                }
                _ => String::new(),
            };
            problems.push(format!("{shown}{origin}: {expected}, {answered}"));
        }
        // An accepted delivery with its credentials taken away (every header but the content
        // type, the path and the query, where secrets travel) must be refused.
        if expect_accept {
            let stripped = HttpRequest {
                method: request.method.clone(),
                path: String::new(),
                query: String::new(),
                headers: request.headers.iter().filter(|(k, _)| k == "content-type").cloned().collect(),
                body: request.body.clone(),
            };
            match plugin.handle_webhook(&ctx, &stripped).await {
                Err(CallError::Channel(_)) => {}
                Ok(outcome) if outcome.events.is_empty() && outcome.response.status >= 400 => {}
                Ok(_) => problems.push(format!("{shown}: accepted with its signature, secret and query taken away: verify first")),
                Err(CallError::Failed(failure)) => problems.push(format!("{shown} without credentials: no typed answer: {failure}")),
            }
        }
    }
    match (files.is_empty(), problems.is_empty()) {
        (true, _) => Line { ok: false, name, detail: format!("no *.json fixtures in {}", dir.display()) },
        (false, true) => Line { ok: true, name, detail: format!("{} of {} as expected", files.len(), files.len()) },
        (false, false) => {
            let hint = if not_as_expected { format!("\n      {FIXTURE_HINT}") } else { String::new() };
            Line { ok: false, name, detail: problems.join("; ") + &hint }
        }
    }
}

/// Said under the fixtures line when one is not as expected (its lines indented as the report's).
const FIXTURE_HINT: &str = "hint: a fixture is one delivery exactly as your provider sends it (method, path, query, headers, body),\n      \
     with the secret it was signed with in `webhook_secret` or `settings`. Those `plugin new` writes fit only its example\n      \
     provider (HMAC-SHA256 of the body in `x-signature`): replace them with your provider's, recorded by a host started with\n      \
     `switchboard serve --record-webhooks DIR`, or written from the provider's documentation.";

/// What the plugin answered a fixture, when that is not what the fixture expects.
fn unexpected(answered: Result<WebhookOutcome, CallError>, expect_accept: bool) -> Option<String> {
    match answered {
        Ok(outcome) => (!expect_accept).then(|| {
            format!("the plugin accepted it (HTTP {}, {} event(s))", outcome.response.status, outcome.events.len())
        }),
        Err(CallError::Channel(error)) => expect_accept.then(|| format!("the plugin refused it ({})", short(&error.to_string()))),
        Err(CallError::Failed(failure)) => Some(format!("the plugin gave no typed answer: {failure}")),
    }
}

fn short(text: &str) -> String {
    let text = text.replace('\n', " ");
    if text.chars().count() > 120 { format!("{}…", text.chars().take(120).collect::<String>()) } else { text }
}
