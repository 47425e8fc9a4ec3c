//! Test harness: the real host (its library entry point, wired exactly as `switchboard serve`)
//! on 127.0.0.1 port 0 with a real SQLite file in a temp dir (or, with [`Backend::Postgres`], a
//! throwaway Postgres server of its own), and fake providers that speak the providers' real
//! wire formats.

pub mod browser;
pub mod compile_cache;
pub mod events;
pub mod fake_line;
pub mod fake_meta;
pub mod fake_telegram;
pub mod fake_twitter;
pub mod js_plugin;
pub mod fake_whatsapp_cloud;
pub mod fake_whatsapp_onprem;
pub mod links;
pub mod mail;
pub mod oci_registry;
/// The throwaway Postgres the host's own tests start (`host/tests/support/postgres.rs`), one
/// file for both.
#[path = "../../host/tests/support/postgres.rs"]
pub mod postgres;
pub mod py_plugin;
pub mod recorder;
pub mod site;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use switchboard::runtime::Limits;
use switchboard::store::model::Role;
use tokio::sync::oneshot;

/// The URL providers are told to call: a public HTTPS name, as behind a TLS proxy in production.
pub const PUBLIC_URL: &str = "https://switchboard.example.test";

/// How long a test waits for something that must happen but comes later on a loaded machine (a
/// host starting and compiling its plugins, a delivery, an event): generous on purpose, since a
/// wait ends as soon as its condition holds and only a failing test waits this long. Not for
/// product promises measured in time (those keep their own bound).
pub const PATIENCE: Duration = Duration::from_secs(240);

/// The database a test host serves from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data dir, as a single node runs.
    #[default]
    Sqlite,
    /// A Postgres server started for this host alone (`--database-url`), as scale-out nodes run:
    /// a fresh cluster and database, stopped with the host.
    Postgres,
}

#[derive(Default)]
pub struct HostOptions {
    /// SQLite (default) or a Postgres of its own.
    pub backend: Backend,
    pub allow_outbound: Vec<String>,
    pub limits: Limits,
    /// Components copied into `<data-dir>/plugins` before start.
    pub extra_plugins: Vec<PathBuf>,
    /// Run the SMTP listener (`--smtp-listen`) on 127.0.0.1, port 0.
    pub smtp: bool,
    /// `--inbound-domain`; default: the public URL's host (`switchboard.example.test`).
    pub inbound_domain: Option<String>,
    /// The public URL is the host's own address instead of [`PUBLIC_URL`]: for browser tests,
    /// where pages load what the host links to (the chat widget's embed snippet).
    pub local_public_url: bool,
    /// Answers plugins' DNS lookups instead of the system (an attacker's DNS, a name that only
    /// the test knows).
    pub resolver: Option<std::sync::Arc<dyn switchboard::runtime::Resolver>>,
    /// Run plugins only when signed by one of `trusted_keys`, as a production host does; by
    /// default the test hosts run unsigned test plugins (`--allow-unsigned-plugins`).
    pub require_signed_plugins: bool,
    pub trusted_keys: Vec<String>,
    /// `--media-max-mb`; default: the host's.
    pub media_max_mb: Option<u64>,
    /// `--record-webhooks DIR`.
    pub record_webhooks: Option<PathBuf>,
    /// Event webhooks' retries (default: the host's, 5 s first).
    pub webhook_retry: Option<switchboard::event_webhooks::RetryPolicy>,
    /// `--catalogue oci://REGISTRY/REPOSITORY` (repeatable).
    pub catalogue: Vec<String>,
}

/// A running host with a token per role (the workspace roles in workspace 1, the first).
pub struct TestHost {
    pub base: String,
    /// The installation's operator: plugins, workspaces, provider apps.
    pub operator: String,
    pub admin: String,
    pub supervisor: String,
    pub agent: String,
    pub http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    /// Where the SMTP listener is, when started with `smtp`.
    pub smtp_addr: Option<std::net::SocketAddr>,
    /// Store failures to cause (a group commit that fails; SQLite's writer or Postgres's).
    pub faults: std::sync::Arc<switchboard::store::writer::Faults>,
    /// `--database-url` when it serves from Postgres.
    pub database_url: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// The host's Postgres server, if it has one: last, so it stops after the host (fields drop
    /// in order).
    postgres: Option<postgres::Postgres>,
}

impl TestHost {
    pub async fn start(options: HostOptions) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let plugins_dir = data_dir.path().join("plugins");
        std::fs::create_dir_all(&plugins_dir).unwrap();
        for plugin in &options.extra_plugins {
            std::fs::copy(plugin, plugins_dir.join(plugin.file_name().unwrap())).unwrap();
        }
        let (postgres, database_url) = match options.backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                // initdb and pg_ctl take seconds: off the async workers.
                let (cluster, url) = tokio::task::spawn_blocking(|| {
                    let cluster = postgres::Postgres::start();
                    let url = cluster.create_database("switchboard");
                    (cluster, url)
                })
                .await
                .unwrap();
                (Some(cluster), Some(url))
            }
        };
        // Made before the host starts, in the database it will serve from (which this migrates).
        let roles = [(Role::Operator, None), (Role::Admin, Some(1)), (Role::Supervisor, Some(1)), (Role::Agent, Some(1))];
        let [operator, admin, supervisor, agent]: [String; 4] =
            tokens_in_database(data_dir.path(), database_url.as_deref(), &roles).await.try_into().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let smtp = match options.smtp {
            true => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
            false => None,
        };
        let smtp_addr = smtp.as_ref().map(|l| l.local_addr().unwrap());
        let faults = std::sync::Arc::new(switchboard::store::writer::Faults::default());
        let config = switchboard::ServeConfig {
            data_dir: data_dir.path().to_path_buf(),
            database_url: database_url.clone(),
            public_url: Some(if options.local_public_url { base.clone() } else { PUBLIC_URL.into() }),
            allow_outbound: options.allow_outbound,
            limits: options.limits,
            mail: switchboard::MailOptions { inbound_domain: options.inbound_domain, ..Default::default() },
            media_max_mb: options.media_max_mb.unwrap_or(switchboard::media::DEFAULT_MAX_MB),
            resolver: options.resolver.map(switchboard::app::ResolverChoice).unwrap_or_default(),
            plugin_trust: switchboard::app::PluginTrust { trusted_keys: options.trusted_keys, allow_unsigned: !options.require_signed_plugins },
            faults: faults.clone(),
            record_webhooks: options.record_webhooks,
            webhook_retry: options.webhook_retry.unwrap_or_default(),
            compiler: None,
            release_start_up_code: false,
            compile_cache: Some(compile_cache::shared_compile_cache()),
            catalogue: options.catalogue,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(switchboard::serve(switchboard::Listeners { http: listener, smtp }, config, async {
            let _ = stopped.await;
        }));
        let mut host = Self {
            base,
            operator,
            admin,
            supervisor,
            agent,
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            data_dir,
            smtp_addr,
            faults,
            database_url,
            stop: Some(stop),
            server: Some(server),
            postgres,
        };
        host.wait_until_serving().await;
        host
    }

    /// Until `/readyz` says the plugins are loaded and the workers run (compiling a large plugin
    /// takes many seconds on a loaded machine: bounded by [`PATIENCE`], not a guess).
    async fn wait_until_serving(&mut self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < deadline {
            if self.server.as_ref().is_some_and(|s| s.is_finished()) {
                let outcome = self.server.take().unwrap().await;
                panic!("the host stopped while starting: {outcome:?}");
            }
            if let Ok(response) = self.http.get(format!("{}/readyz", self.base)).send().await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the host did not start serving in {PATIENCE:?}");
    }

    pub fn data_path(&self) -> &Path {
        self.data_dir.path()
    }

    /// Which database it serves from.
    pub fn backend(&self) -> Backend {
        if self.postgres.is_some() { Backend::Postgres } else { Backend::Sqlite }
    }

    /// A new token for `role` in `workspace` (`None`: the operator's), made in the database the
    /// host serves from, as `switchboard token create` makes one.
    pub async fn create_token(&self, role: Role, workspace: Option<i64>) -> String {
        tokens_in_database(self.data_path(), self.database_url.as_deref(), &[(role, workspace)]).await.remove(0)
    }

    /// A request to the API with a bearer token (`None`: without one).
    pub async fn call(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body)).await
    }

    /// Posts a webhook as a provider would: raw body bytes and the given headers.
    pub async fn webhook(&self, channel_id: &str, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> (u16, String) {
        let mut request = self.http.post(format!("{}/webhooks/{channel_id}", self.base)).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.body(body).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Polls `check` until it returns `Some`, for up to `timeout` ([`PATIENCE`] unless the test
    /// measures a promise).
    pub async fn eventually<T, F, Fut>(&self, timeout: Duration, mut check: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(value) = check().await {
                return Some(value);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        self.assert_store_calls_off_workers().await;
        self.shutdown().await;
    }

    /// Stops the host and waits (at most [`PATIENCE`]) until it has finished: whether it did,
    /// that is, whether nothing it served held its shutdown up.
    pub async fn stop_and_wait(mut self) -> bool {
        self.assert_store_calls_off_workers().await;
        self.shutdown().await
    }

    /// No database call so far ran on an async worker (where it would stall every task of that
    /// worker while SQLite waits): the host counts them at `/metrics`.
    pub async fn assert_store_calls_off_workers(&self) {
        let metrics = self.http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        let calls = metrics
            .lines()
            .find_map(|line| line.strip_prefix("switchboard_store_calls_on_async_workers_total "))
            .unwrap_or_else(|| panic!("/metrics has no switchboard_store_calls_on_async_workers_total:\n{metrics}"));
        assert_eq!(calls.trim(), "0", "database calls ran on async workers (the host's log names them)");
    }

    /// Asks the host to stop and waits for it (at most [`PATIENCE`]); whether it finished.
    async fn shutdown(&mut self) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(server) => tokio::time::timeout(PATIENCE, server).await.is_ok(),
            None => true,
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Tokens for these roles and workspaces (`None`: the operator's), made in the store of
/// `data_dir` (SQLite) or of `database_url` (Postgres, its secret key in `data_dir`), opened as
/// `switchboard token create` opens it: migrated first if nothing did yet.
async fn tokens_in_database(data_dir: &Path, database_url: Option<&str>, wanted: &[(Role, Option<i64>)]) -> Vec<String> {
    let store = switchboard::store::backend::Backend::open(data_dir, database_url, "e2e-tokens", Default::default()).await.unwrap().store();
    let mut made = Vec::new();
    for &(role, workspace) in wanted {
        made.push(store.create_token(role, workspace).await.unwrap());
    }
    made
}

/// The inbox as an agent sees it, newest first.
pub async fn conversations(host: &TestHost) -> Vec<Value> {
    let (status, list) = host.get("/api/v1/conversations", &host.agent).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

/// A conversation's messages, oldest first.
pub async fn messages(host: &TestHost, conversation_id: i64) -> Vec<Value> {
    let (status, list) = host.get(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

/// An agent's message; returns its id once queued.
pub async fn send(host: &TestHost, conversation_id: i64, body: Value) -> i64 {
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &host.agent, body).await;
    assert_eq!(status, 202, "{queued}");
    queued["id"].as_i64().unwrap()
}

/// Waits until the outbound message reaches `status`; returns it.
pub async fn until_status(host: &TestHost, conversation_id: i64, message_id: i64, status: &str) -> Value {
    let found = host
        .eventually(PATIENCE, || async {
            messages(host, conversation_id).await.into_iter().find(|m| m["id"] == message_id && m["status"] == status)
        })
        .await;
    match found {
        Some(message) => message,
        None => panic!("message {message_id} never became {status}: {:?}", messages(host, conversation_id).await),
    }
}

/// Path of a test plugin component built by `tests/build.rs`.
pub fn test_plugin(env_path: &str) -> PathBuf {
    PathBuf::from(env_path)
}

/// Serves a fake provider on 127.0.0.1, port 0, for the rest of the test; returns its base URL
/// and its `127.0.0.1:PORT` (what `--allow-outbound` takes).
pub async fn serve_fake(app: axum::Router) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{authority}"), authority)
}

/// A fake provider's answer a test scripted: a status, a JSON body and maybe `Retry-After`.
pub struct ScriptedAnswer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
}

impl axum::response::IntoResponse for ScriptedAnswer {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.status).unwrap();
        let mut response = (status, axum::Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert("retry-after", seconds.into());
        }
        response
    }
}
