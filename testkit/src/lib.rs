//! Test a Switchboard channel plugin from its own `cargo test`.
//!
//! The built component runs in the real runtime with the real limits (a fresh instance per call,
//! the memory cap, the time limit, the outbound rules of its manifest), while what would leave
//! the host is replaced by test doubles: outbound HTTP is answered by rules matched on method,
//! URL, headers and body, and every request is recorded; mail sent through the `smtp` import is
//! recorded (or refused); the channel's state lives in memory, seeded by the test and carried
//! from one call to the next; log lines are captured.
//!
//! ```no_run
//! use switchboard_testkit::{Http, Message, Plugin, Request};
//! use serde_json::json;
//!
//! let mut plugin = Plugin::build(env!("CARGO_MANIFEST_DIR")).unwrap().setting("bot_token", "1:abc");
//! plugin.on(Http::post("https://api.telegram.org/bot1:abc/sendMessage")
//!     .json(json!({"chat_id": "42", "text": "hi"}))
//!     .respond_json(200, json!({"ok": true, "result": {"message_id": 7}})));
//! let sent = plugin.send(Message::text("42", "hi"));
//! assert_eq!(sent.ok()["provider_message_id"], "7");
//! assert_eq!(sent.requests.len(), 1);
//!
//! let update = Request::post("/").header("x-telegram-bot-api-secret-token", plugin.webhook_secret()).json(json!({"update_id": 1}));
//! assert!(plugin.webhook(update).ok()["events"].is_array());
//! ```
//!
//! Interactive content goes out as the host sends it ([`Message::interactive`], with the
//! SDK's builders or the API's JSON), and [`choices`] holds each first-party provider's choice
//! event (a button, quick reply or list row tapped) exactly as the provider delivers it, for
//! [`Outcome::assert_choice`]:
//!
//! ```no_run
//! # use switchboard_testkit::{Http, Plugin};
//! # use serde_json::json;
//! # let mut plugin = Plugin::build(env!("CARGO_MANIFEST_DIR")).unwrap().setting("bot_token", "1:abc");
//! use switchboard_testkit::choices::telegram;
//! plugin.on(Http::post("https://api.telegram.org/bot1:abc/answerCallbackQuery").respond_json(200, json!({"ok": true, "result": true})));
//! let secret = plugin.webhook_secret().to_owned();
//! let tapped = plugin.webhook(telegram::callback_query(&secret, 77, "q42:yes", "Yes"));
//! tapped.assert_choice("q42:yes", Some("Yes"), Some("77"));
//! ```
//!
//! How it runs: each call is `switchboard plugin call FILE EXPORT --mock …` of the `switchboard`
//! binary (found through `SWITCHBOARD_BIN`, beside the test in a Cargo target folder, or on
//! `PATH`), so this crate stays small (no wasmtime to build in a plugin's tests) and the plugin
//! runs in exactly the runtime that will serve it.

#![warn(missing_docs)]

pub mod choices;
mod doubles;
mod inputs;
mod locate;
mod outcome;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub use doubles::Http;
pub use inputs::{Message, Request};
pub use locate::{switchboard_binary, workspace_component};
pub use outcome::{Answer, Choice, Contact, LogLine, Outcome, SentMail, SentRequest};

/// The webhook secret of the channel the calls are about, unless a test sets `webhook_secret`.
const DEFAULT_WEBHOOK_SECRET: &str = "TestKitSecretTestKitSecretTestKi";

/// Why the test kit could not run a call (not the plugin's answer: that is in [`Outcome`]).
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A built plugin component and the channel its calls are about.
#[derive(Debug, Clone)]
pub struct Plugin {
    component: PathBuf,
    binary: PathBuf,
    settings: BTreeMap<String, String>,
    state: BTreeMap<String, String>,
    rules: Vec<Http>,
    mail_refusal: Option<String>,
    time_limit: Option<Duration>,
    memory_mb: Option<u64>,
}

impl Plugin {
    /// A component already built (`*.wasm`).
    pub fn load(component: impl AsRef<Path>) -> Result<Self, Error> {
        let component = component.as_ref().to_path_buf();
        if !component.is_file() {
            return Err(Error(format!("{} does not exist: build the plugin for wasm32-wasip2 first", component.display())));
        }
        let binary = switchboard_binary()?;
        Ok(Self {
            component,
            binary,
            settings: BTreeMap::from([("webhook_secret".to_owned(), DEFAULT_WEBHOOK_SECRET.to_owned())]),
            state: BTreeMap::new(),
            rules: Vec::new(),
            mail_refusal: None,
            time_limit: None,
            memory_mb: None,
        })
    }

    /// Builds the crate at `crate_dir` for `wasm32-wasip2` (release, once per test process) and
    /// loads its component. Pass `env!("CARGO_MANIFEST_DIR")` from the plugin's own tests.
    pub fn build(crate_dir: impl AsRef<Path>) -> Result<Self, Error> {
        Self::load(locate::build_component(crate_dir.as_ref())?)
    }

    /// Sets one of the channel's settings (the schema's defaults apply to the others).
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.set_setting(key, value);
        self
    }

    /// Sets one of the channel's settings, in place.
    pub fn set_setting(&mut self, key: &str, value: &str) {
        self.settings.insert(key.to_owned(), value.to_owned());
    }

    /// The channel's webhook secret (the host's `webhook-secret`), to sign or authorise requests.
    pub fn webhook_secret(&self) -> &str {
        &self.settings["webhook_secret"]
    }

    /// Puts a value in the channel's state before the next call.
    pub fn seed_state(&mut self, key: &str, value: &str) {
        self.state.insert(key.to_owned(), value.to_owned());
    }

    /// The channel's state as the last call left it.
    pub fn state(&self) -> &BTreeMap<String, String> {
        &self.state
    }

    /// Answers matching requests with this rule; rules are tried in the order added.
    pub fn on(&mut self, rule: Http) -> &mut Self {
        self.rules.push(rule);
        self
    }

    /// Forgets every HTTP rule (each rule's `times` count restarts with every call anyway).
    pub fn clear_rules(&mut self) {
        self.rules.clear();
    }

    /// Makes the SMTP server refuse every message with `reason`.
    pub fn refuse_mail(&mut self, reason: &str) {
        self.mail_refusal = Some(reason.to_owned());
    }

    /// The time limit of each call (the host's default: 15 s).
    pub fn time_limit(&mut self, limit: Duration) {
        self.time_limit = Some(limit);
    }

    /// The memory cap of each call in MiB (the host's default: 64).
    pub fn memory_limit_mb(&mut self, megabytes: u64) {
        self.memory_mb = Some(megabytes);
    }

    /// `manifest()`.
    pub fn manifest(&mut self) -> Outcome {
        self.call("manifest", Value::Null)
    }

    /// `settings-schema()`.
    pub fn settings_schema(&mut self) -> Outcome {
        self.call("settings-schema", Value::Null)
    }

    /// `connect(ctx)` with the channel's settings.
    pub fn connect(&mut self) -> Outcome {
        self.call("connect", Value::Null)
    }

    /// `disconnect(ctx)`.
    pub fn disconnect(&mut self) -> Outcome {
        self.call("disconnect", Value::Null)
    }

    /// `handle-webhook(ctx, request)`.
    pub fn webhook(&mut self, request: Request) -> Outcome {
        self.call("handle-webhook", request.into_json())
    }

    /// Replays a fixture as `plugin check --fixtures` does: `{"request": {method, path, query,
    /// headers, body}, "settings"?, "webhook_secret"?, …}`, the format `plugin new` and
    /// `switchboard serve --record-webhooks` write. Its settings and webhook secret become the
    /// channel's (for the calls after it too), then `handle-webhook` gets its request: a string
    /// body as its bytes, placeholders such as `{{webhook_secret}}` filled in.
    ///
    /// Panics when `fixture` is not such JSON.
    pub fn replay(&mut self, fixture: &str) -> Outcome {
        let fixture: Value = serde_json::from_str(fixture).unwrap_or_else(|e| panic!("the fixture is not JSON: {e}"));
        let Some(request) = fixture.get("request").cloned() else {
            panic!("a fixture holds its `request`: {fixture}");
        };
        if let Some(settings) = fixture["settings"].as_object() {
            for (key, value) in settings {
                self.set_setting(key, value.as_str().unwrap_or_default());
            }
        }
        if let Some(secret) = fixture["webhook_secret"].as_str() {
            self.set_setting("webhook_secret", secret);
        }
        self.call("handle-webhook", request)
    }

    /// `send(ctx, message)`.
    pub fn send(&mut self, message: Message) -> Outcome {
        self.call("send", message.into_json())
    }

    /// `list-templates(ctx)`.
    pub fn list_templates(&mut self) -> Outcome {
        self.call("list-templates", Value::Null)
    }

    /// `create-template(ctx, template)`.
    pub fn create_template(&mut self, name: &str, language: &str, category: &str, body: &str) -> Outcome {
        self.call("create-template", json!({ "name": name, "language": language, "category": category, "body": body }))
    }

    /// `delete-template(ctx, name)`.
    pub fn delete_template(&mut self, name: &str) -> Outcome {
        self.call("delete-template", json!({ "name": name }))
    }

    /// `auth-start(request)`: where the provider's login starts (the settings are the channel's).
    pub fn auth_start(&mut self, redirect_url: &str, state: &str) -> Outcome {
        self.call("auth-start", json!({ "redirect_url": redirect_url, "state": state }))
    }

    /// `auth-finish(request)`: the accounts a provider login gave, from its redirect's query.
    pub fn auth_finish(&mut self, redirect_url: &str, callback_query: &[(&str, &str)]) -> Outcome {
        let query: BTreeMap<&str, &str> = callback_query.iter().copied().collect();
        self.call("auth-finish", json!({ "redirect_url": redirect_url, "callback_query": query }))
    }

    /// Any export `switchboard plugin call` runs, with its JSON input.
    ///
    /// Panics when the call cannot be made at all (no binary, a component the host refuses):
    /// in a test that is the failure to report. The plugin's own answers, refusals and failures
    /// are in the [`Outcome`].
    pub fn call(&mut self, export: &str, input: Value) -> Outcome {
        match self.try_call(export, input) {
            Ok(outcome) => outcome,
            Err(error) => panic!("{export}: {error}"),
        }
    }

    /// [`Plugin::call`], with the reason instead of a panic when the call cannot be made.
    pub fn try_call(&mut self, export: &str, input: Value) -> Result<Outcome, Error> {
        let rules: Vec<Value> = self.rules.iter().map(Http::to_json).collect();
        let script = json!({ "http": rules, "state": self.state, "smtp": { "refuse": self.mail_refusal } });
        let script_file = locate::scratch_file("mock", &script.to_string())?;
        let mut command = Command::new(&self.binary);
        command.args(["plugin", "call"]).arg(&self.component).arg(export).arg("--mock").arg(script_file.path());
        command.arg("--cache-dir").arg(locate::compile_cache_dir());
        for (key, value) in &self.settings {
            command.arg("--setting").arg(format!("{key}={value}"));
        }
        if let Some(limit) = self.time_limit {
            command.arg("--timeout-ms").arg(limit.as_millis().to_string());
        }
        if let Some(megabytes) = self.memory_mb {
            command.arg("--memory-mb").arg(megabytes.to_string());
        }
        if !input.is_null() {
            command.args(["--input", "-"]);
        }
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| Error(format!("cannot run {}: {e}", self.binary.display())))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        if !input.is_null() {
            stdin.write_all(input.to_string().as_bytes()).map_err(|e| Error(format!("cannot give the input: {e}")))?;
        }
        drop(stdin);
        let output = child.wait_with_output().map_err(|e| Error(format!("{} stopped: {e}", self.binary.display())))?;
        drop(script_file);
        let printed: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
            Error(format!("`switchboard plugin call {export}` did not answer: {}", String::from_utf8_lossy(&output.stderr).trim()))
        })?;
        let outcome = Outcome::from_report(printed).map_err(Error)?;
        self.state = outcome.state.clone();
        Ok(outcome)
    }
}
