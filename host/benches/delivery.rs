//! Delivery figures, each against a baseline measured in the same run (the machine is shared):
//!
//! - **Ingest**: distinct Telegram webhooks over real HTTP into the host (plugin verify + parse,
//!   store, answer after the commit) against a native axum handler doing the same secret check,
//!   parse and SQLite transaction with the same pragmas; throughput and p99 at 16 and 64
//!   connections, each connection sending one request after another (as wrk does).
//! - **Outbox**: 500 replies over 50 conversations to a fake Telegram answering at once and after
//!   150 ms; sends per second, against the same number of requests sent straight to the fake
//!   with the host's per-channel concurrency, 64 (the ceiling of the fake and the loopback here).
//!
//! Run: `cargo bench -p switchboard --bench delivery`; `-- ingest` or `-- outbox` runs one part.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use switchboard::store::Db;
use switchboard::store::tokens::Role;

const TOKEN: &str = "7000001:AAHbenchTokenFromBotFather";
const LINE_SECRET: &str = "0123456789abcdef0123456789abcdef";
const INGEST_SECONDS: u64 = 5;
const REPLIES: usize = 500;
const CONVERSATIONS: usize = 50;

fn main() {
    // `RUST_LOG=switchboard=info` shows why a send was retried.
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).try_init();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let provider = FakeTelegram::start().await;
        let host = Host::start(&provider).await;
        let channel = host.telegram_channel(&provider).await;
        let secret = provider.secret.lock().unwrap().clone().expect("setWebhook was called");
        let native = Native::start(&secret).await;

        // `cargo bench` passes `--bench`; a bare word picks one part (for profiling one).
        let part = std::env::args().skip(1).find(|a| !a.starts_with('-'));
        let runs = |name: &str| part.as_deref().is_none_or(|p| p == name);
        if runs("ingest") {
            println!("ingest: distinct Telegram webhooks for {INGEST_SECONDS} s per run, one request after another per connection");
            let mut next_update = 1_000_000;
            for connections in [16, 64] {
                let url = format!("{}/webhooks/{channel}", host.base);
                let through_host = load(&url, &secret, connections, &mut next_update).await;
                let url = format!("{}/webhook", native.base);
                let baseline = load(&url, &secret, connections, &mut next_update).await;
                println!(
                    "  {connections:>2} connections: host {:>6.0} req/s, p99 {:>6.2} ms | native {:>6.0} req/s, p99 {:>6.2} ms | throughput {:.2}x, p99 {:.2}x",
                    through_host.per_second,
                    through_host.p99_ms,
                    baseline.per_second,
                    baseline.p99_ms,
                    through_host.per_second / baseline.per_second,
                    through_host.p99_ms / baseline.p99_ms
                );
                assert_eq!(through_host.refused + baseline.refused, 0, "every webhook was answered 200");
            }
        }
        if !runs("outbox") {
            return;
        }

        // LINE for the outbox: its plugin declares no pace, so the figure is the host's own
        // (Telegram's declared 30 sends/s per bot would be the ceiling otherwise).
        println!("outbox: {REPLIES} replies over {CONVERSATIONS} conversations of a LINE channel");
        let line = host.line_channel(&provider).await;
        let conversations = host.line_conversations(&line).await;
        for latency in [0u64, 150] {
            provider.latency_ms.store(latency, Ordering::SeqCst);
            let outbox = host.replies_per_second(&provider, &conversations).await;
            let direct = provider.direct_per_second(REPLIES, 64).await;
            println!(
                "  provider answering after {latency:>3} ms: outbox {outbox:>6.0} sends/s | straight to the fake, 64 at once: {direct:>6.0} sends/s | {:.2}x",
                outbox / direct
            );
        }
    });
}

// ---- load generation ------------------------------------------------------------------------

struct Load {
    per_second: f64,
    p99_ms: f64,
    refused: usize,
}

fn update(id: i64) -> String {
    json!({
        "update_id": id,
        "message": {
            "message_id": id,
            "from": {"id": 4242 + id % 500, "is_bot": false, "first_name": "Siti", "last_name": "Rahma", "username": "sitirahma"},
            "chat": {"id": 4242 + id % 500, "first_name": "Siti", "type": "private"},
            "date": 1_763_600_000,
            "text": "Halo kak, apakah pesanan saya nomor 10293 sudah dikirim? Terima kasih."
        }
    })
    .to_string()
}

/// `connections` clients, each posting distinct updates one after another for the run's time.
async fn load(url: &str, secret: &str, connections: usize, next_update: &mut i64) -> Load {
    let first = *next_update;
    *next_update += 1_000_000;
    let counter = Arc::new(AtomicU64::new(first as u64));
    let deadline = Instant::now() + Duration::from_secs(INGEST_SECONDS);
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..connections {
        let (url, secret, counter) = (url.to_owned(), secret.to_owned(), counter.clone());
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
            let mut latencies = Vec::new();
            let mut refused = 0;
            while Instant::now() < deadline {
                let id = counter.fetch_add(1, Ordering::SeqCst) as i64;
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("x-telegram-bot-api-secret-token", &secret)
                    .header("content-type", "application/json")
                    .body(update(id))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => refused += 1,
                }
            }
            (latencies, refused)
        }));
    }
    let mut latencies = Vec::new();
    let mut refused = 0;
    for client in clients {
        let (mine, theirs) = client.await.unwrap();
        latencies.extend(mine);
        refused += theirs;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let p99 = latencies.get(latencies.len() * 99 / 100).copied().unwrap_or_default();
    Load { per_second: latencies.len() as f64 / elapsed, p99_ms: p99.as_secs_f64() * 1000.0, refused }
}

// ---- the host, in process, on a port ---------------------------------------------------------

struct Host {
    base: String,
    admin: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Host {
    async fn start(provider: &FakeTelegram) -> Self {
        let data = tempfile::tempdir().unwrap();
        let admin = Db::open(data.path()).unwrap().create_token(Role::Admin, Some(1)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = switchboard::ServeConfig {
            data_dir: data.path().to_path_buf(),
            database_url: None,
            public_url: Some("https://switchboard.example".into()),
            allow_outbound: vec![provider.authority.clone()],
            limits: Default::default(),
            mail: Default::default(),
            media_max_mb: switchboard::media::DEFAULT_MAX_MB,
            resolver: Default::default(),
            plugin_trust: Default::default(),
            faults: Default::default(),
            record_webhooks: None,
            compiler: None,
        };
        tokio::spawn(switchboard::serve(listener, config, std::future::pending()));
        let http = reqwest::Client::new();
        for _ in 0..2400 {
            if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
                return Self { base, admin, http, _data: data };
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the host did not start");
    }

    async fn telegram_channel(&self, provider: &FakeTelegram) -> String {
        let body = json!({"plugin": "telegram", "name": "Bench bot", "settings": {"bot_token": TOKEN, "api_base_url": provider.base_url}});
        let response = self.http.post(format!("{}/api/v1/channels", self.base)).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        let channel: Value = response.json().await.unwrap();
        channel["id"].as_str().unwrap_or_else(|| panic!("the channel did not connect: {channel}")).to_owned()
    }

    async fn line_channel(&self, provider: &FakeTelegram) -> String {
        let settings = json!({"channel_secret": LINE_SECRET, "channel_access_token": "bench-line-token", "api_base_url": provider.base_url});
        let body = json!({"plugin": "line", "name": "Bench LINE", "settings": settings});
        let response = self.http.post(format!("{}/api/v1/channels", self.base)).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        let channel: Value = response.json().await.unwrap();
        channel["id"].as_str().unwrap_or_else(|| panic!("the LINE channel did not connect: {channel}")).to_owned()
    }

    /// Fifty LINE users write (signed as LINE signs); their conversations' ids.
    async fn line_conversations(&self, channel: &str) -> Vec<i64> {
        use base64::Engine;
        use hmac::{Hmac, Mac};
        for user in 0..CONVERSATIONS {
            let body = json!({"destination": "Ubench", "events": [{"type": "message", "timestamp": 1_763_600_000_000u64 + user as u64,
                "webhookEventId": format!("01HBENCH{user:06}"), "deliveryContext": {"isRedelivery": false}, "mode": "active",
                "source": {"type": "user", "userId": format!("U{user:032}")}, "message": {"id": format!("5{user:08}"), "type": "text", "text": "Halo"}}]})
            .to_string();
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(LINE_SECRET.as_bytes()).unwrap();
            mac.update(body.as_bytes());
            let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            let url = format!("{}/webhooks/{channel}", self.base);
            let response = self.http.post(url).header("x-line-signature", signature).header("content-type", "application/json").body(body).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }
        let url = format!("{}/api/v1/conversations?channel={channel}&limit=500", self.base);
        let list: Value = self.http.get(url).bearer_auth(&self.admin).send().await.unwrap().json().await.unwrap();
        list.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
    }

    /// Queues the replies (ten per conversation, agents of every conversation at once, each
    /// conversation's in order) and waits until the provider answered them all.
    async fn replies_per_second(&self, provider: &FakeTelegram, conversations: &[i64]) -> f64 {
        let before = provider.sent.load(Ordering::SeqCst);
        let started = Instant::now();
        let agents: Vec<_> = conversations
            .iter()
            .map(|conversation| {
                let (http, url, admin) = (self.http.clone(), format!("{}/api/v1/conversations/{conversation}/messages", self.base), self.admin.clone());
                tokio::spawn(async move {
                    for round in 0..REPLIES / CONVERSATIONS {
                        let response = http.post(&url).bearer_auth(&admin).json(&json!({"text": format!("balasan {round}")})).send().await.unwrap();
                        assert_eq!(response.status(), 202);
                    }
                })
            })
            .collect();
        for agent in agents {
            agent.await.unwrap();
        }
        while provider.sent.load(Ordering::SeqCst) < before + REPLIES as u64 {
            assert!(started.elapsed() < Duration::from_secs(300), "the outbox stalled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        REPLIES as f64 / started.elapsed().as_secs_f64()
    }
}

// ---- a fake Telegram: getMe, setWebhook, sendMessage after a set latency ---------------------

/// A fake Telegram Bot API and LINE Messaging API on one port.
struct FakeTelegram {
    base_url: String,
    authority: String,
    latency_ms: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    secret: Arc<Mutex<Option<String>>>,
}

#[derive(Clone)]
struct FakeState {
    latency_ms: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    secret: Arc<Mutex<Option<String>>>,
}

impl FakeTelegram {
    async fn start() -> Self {
        let state = FakeState { latency_ms: Arc::default(), sent: Arc::default(), secret: Arc::default() };
        let app = Router::new()
            .route("/v2/bot/info", axum::routing::get(|| async { axum::Json(json!({"userId": "Ubench", "basicId": "@bench", "displayName": "Bench", "chatMode": "chat", "markAsReadMode": "manual"})) }))
            .route("/v2/bot/message/push", post(line_push))
            .route("/{bot}/{method}", axum::routing::any(fake_call))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base_url: format!("http://{authority}"), authority, latency_ms: state.latency_ms, sent: state.sent, secret: state.secret }
    }

    /// `count` sendMessage calls straight from here, `at_once` in flight at a time.
    async fn direct_per_second(&self, count: usize, at_once: usize) -> f64 {
        let client = reqwest::Client::new();
        let url = format!("{}/v2/bot/message/push", self.base_url);
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..at_once)
            .map(|_| {
                let (client, url, next) = (client.clone(), url.clone(), next.clone());
                tokio::spawn(async move {
                    while (next.fetch_add(1, Ordering::SeqCst) as usize) < count {
                        let response = client.post(&url).json(&json!({"to": "U1", "messages": [{"type": "text", "text": "langsung"}]})).send().await.unwrap();
                        let _ = response.bytes().await;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        count as f64 / started.elapsed().as_secs_f64()
    }
}

async fn fake_call(State(state): State<FakeState>, Path((_bot, method)): Path<(String, String)>, body: Bytes) -> (StatusCode, axum::Json<Value>) {
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let result = match method.as_str() {
        "getMe" => json!({"id": 7000001, "is_bot": true, "first_name": "Bench", "username": "bench_bot"}),
        "setWebhook" => {
            *state.secret.lock().unwrap() = params["secret_token"].as_str().map(str::to_owned);
            json!(true)
        }
        "deleteWebhook" => json!(true),
        "sendMessage" => {
            let latency = state.latency_ms.load(Ordering::SeqCst);
            if latency > 0 {
                tokio::time::sleep(Duration::from_millis(latency)).await;
            }
            let id = state.sent.fetch_add(1, Ordering::SeqCst);
            json!({"message_id": id, "chat": {"id": params["chat_id"], "type": "private"}, "date": 1_763_600_000, "text": params["text"]})
        }
        _ => return (StatusCode::NOT_FOUND, axum::Json(json!({"ok": false, "error_code": 404, "description": "Not Found"}))),
    };
    (StatusCode::OK, axum::Json(json!({"ok": true, "result": result})))
}

async fn line_push(State(state): State<FakeState>) -> axum::Json<Value> {
    let latency = state.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let id = state.sent.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"sentMessages": [{"id": id.to_string(), "quoteToken": "q"}]}))
}

// ---- the native baseline: the same work in one Rust handler ----------------------------------

struct Native {
    base: String,
}

#[derive(Clone)]
struct NativeState {
    secret: Arc<String>,
    db: Arc<Mutex<rusqlite::Connection>>,
    _dir: Arc<tempfile::TempDir>,
}

use support::telegram::Update;

impl Native {
    async fn start(secret: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("native.db")).unwrap();
        // The host's pragmas.
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", switchboard::store::SYNCHRONOUS).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.execute_batch(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, name TEXT, handle TEXT);
             CREATE TABLE conversations (id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, contact_id INTEGER REFERENCES contacts(id), last_inbound_at INTEGER);
             CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL REFERENCES conversations(id), provider_message_id TEXT NOT NULL UNIQUE,
                 text TEXT, provider_timestamp INTEGER, created_at INTEGER);",
        )
        .unwrap();
        let state = NativeState { secret: Arc::new(secret.to_owned()), db: Arc::new(Mutex::new(conn)), _dir: Arc::new(dir) };
        let app = Router::new().route("/webhook", post(native_webhook)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base }
    }
}

async fn native_webhook(State(state): State<NativeState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    use subtle::ConstantTimeEq;
    let given = headers.get("x-telegram-bot-api-secret-token").map(|v| v.as_bytes()).unwrap_or_default();
    if !bool::from(given.ct_eq(state.secret.as_bytes())) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(update) = serde_json::from_slice::<Update>(&body) else { return StatusCode::BAD_REQUEST };
    let Some(message) = update.message else { return StatusCode::OK };
    let from = message.from.map(|f| (f.id.to_string(), format!("{} {}", f.first_name, f.last_name.unwrap_or_default()), f.username));
    let mut db = state.db.lock().unwrap();
    let tx = db.transaction().unwrap();
    let (contact_id, name, handle) = from.unwrap_or_default();
    let contact: i64 = tx
        .prepare_cached("INSERT INTO contacts (external_id, name, handle) VALUES (?1, ?2, ?3) ON CONFLICT (external_id) DO UPDATE SET name = excluded.name RETURNING id")
        .unwrap()
        .query_row(rusqlite::params![contact_id, name, handle], |r| r.get(0))
        .unwrap();
    let conversation: i64 = tx
        .prepare_cached(
            "INSERT INTO conversations (external_id, contact_id, last_inbound_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (external_id) DO UPDATE SET last_inbound_at = excluded.last_inbound_at RETURNING id",
        )
        .unwrap()
        .query_row(rusqlite::params![message.chat.id.to_string(), contact, message.date * 1000], |r| r.get(0))
        .unwrap();
    tx.prepare_cached(
        "INSERT INTO messages (conversation_id, provider_message_id, text, provider_timestamp, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (provider_message_id) DO NOTHING",
    )
    .unwrap()
    .execute(rusqlite::params![conversation, format!("{}:{}", update.update_id, message.message_id), message.text, message.date * 1000, 0])
    .unwrap();
    tx.commit().unwrap();
    StatusCode::OK
}
