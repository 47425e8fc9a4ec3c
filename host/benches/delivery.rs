//! Delivery figures, each against a baseline measured in the same run (the machine is shared):
//!
//! - **Ingest**: distinct Telegram webhooks over real HTTP into the host (plugin verify + parse,
//!   store, answer after the commit) against two native axum handlers doing the same secret
//!   check, parse and normalisation: one with the host's durability design (a writer thread with
//!   group commit, a savepoint per webhook as the host's writer has, `synchronous=FULL`, WAL, the
//!   host's schema made by its own migrations, full-text index included, written at each batch's
//!   end as the host's is; answered once its batch is on disk), the baseline that counts; and one committing each webhook on its own in a
//!   reduced schema, the weaker baseline, kept for comparison with earlier figures. Throughput,
//!   p99 and server CPU per webhook at 16 and 64 connections, each connection sending one request
//!   after another (as wrk does).
//! - **Outbox**: 500 replies over 50 conversations to a fake Telegram answering at once and after
//!   150 ms; sends per second, against the same number of requests sent straight to the fake
//!   with the host's per-channel concurrency, 64 (the ceiling of the fake and the loopback here).
//! - **Event webhooks**: 1000 `message.received` events over 50 conversations sent again
//!   (`redeliver`, so only delivering is timed) to a receiver answering at once; deliveries per
//!   second against a native sender with the host's promise: each delivery signed (the same
//!   crate), posted with the host's per-endpoint concurrency (8) and its attempt recorded in
//!   SQLite with group commit and `synchronous=FULL` before it counts. The host does more per
//!   delivery (it reads the event's message, conversation and channel to build the body, and
//!   keeps each conversation's events in order); both are in the figure.
//!
//! Server CPU: the host and the native handlers run in this process; the clients run on a
//! runtime of their own, whose threads are known. A run's server CPU is the process's user +
//! system time (`/proc/self/stat`) minus the clients' threads' (`/proc/self/task/<tid>/stat`)
//! over the run. Whatever else runs meanwhile counts too (the idle servers' timers, the kernel's
//! loopback work done on a server thread), alike for every server.
//!
//! Run: `cargo bench -p switchboard --bench delivery`; `-- ingest`, `-- outbox` or `-- events`
//! runs one part. For a profile of one side (`perf record -p <pid>` while it runs), `-- ingest-host`
//! or `-- ingest-native` loads only the host or only the same-promise native, at 64 connections
//! (`INGEST_CONNECTIONS` sets another number), three runs one after another.

mod support;

use std::path::{Path as FilePath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use switchboard::store::Db;
use switchboard::store::model::Role;
use tokio::sync::oneshot;

const TOKEN: &str = "7000001:AAHbenchTokenFromBotFather";
const LINE_SECRET: &str = "0123456789abcdef0123456789abcdef";
const INGEST_SECONDS: u64 = 5;
/// Ingest runs of the host and the same-promise native, alternated, per connection count
/// (`INGEST_ROUNDS` sets another number): this machine's speed drifts by a quarter within minutes,
/// so each round compares two runs made side by side, and the rounds' median ratio counts.
const INGEST_ROUNDS: usize = 3;
const REPLIES: usize = 500;
const CONVERSATIONS: usize = 50;
const EVENTS: usize = 1000;

fn main() {
    // The server's allocator settings (`switchboard serve` sets them first thing too).
    switchboard::heap::for_start_up();
    // `RUST_LOG=switchboard=info` shows why a send was retried.
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).try_init();
    // Built (and dropped) outside the servers' runtime: a runtime cannot be dropped inside another.
    let clients = Clients::start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let provider = FakeTelegram::start().await;
        let receiver = EventReceiver::start().await;
        let host = Host::start(&provider, &receiver.authority).await;
        let channel = host.telegram_channel(&provider).await;
        let secret = provider.secret.lock().unwrap().clone().expect("setWebhook was called");
        let same_promise = NativeGroupCommit::start(&secret).await;
        let per_commit = NativePerCommit::start(&secret).await;

        // `cargo bench` passes `--bench`; a bare word picks one part (for profiling one).
        let part = std::env::args().skip(1).find(|a| !a.starts_with('-'));
        let runs = |name: &str| part.as_deref().is_none_or(|p| p == name);
        // One side alone, for a profiler to watch (no ratios: there is nothing to divide by).
        if let Some(side @ ("ingest-host" | "ingest-native")) = part.as_deref() {
            let url = match side {
                "ingest-host" => format!("{}/webhooks/{channel}", host.base),
                _ => format!("{}/webhook", same_promise.base),
            };
            let mut next_update = 1_000_000;
            let connections = support::count_from_env("INGEST_CONNECTIONS", 64);
            println!("{side}: distinct Telegram webhooks, {connections} connections, {INGEST_SECONDS} s per run");
            for _ in 0..3 {
                let load = clients.load(&url, &secret, connections, &mut next_update).await;
                assert_eq!(load.refused, 0, "every webhook was answered 200");
                println!("    {}", load.figures());
            }
            return;
        }
        if runs("ingest") {
            let rounds = support::count_from_env("INGEST_ROUNDS", INGEST_ROUNDS);
            println!("ingest: distinct Telegram webhooks for {INGEST_SECONDS} s per run, one request after another per connection");
            println!("  (server CPU: this process's minus the clients' threads'; ratios are host ÷ native;");
            println!("   {rounds} rounds of the host and the same-promise native side by side, the median ratio counts)");
            let mut next_update = 1_000_000;
            for connections in [16, 64] {
                println!("  {connections} connections");
                let host_url = format!("{}/webhooks/{channel}", host.base);
                let mut rounds_ratios = Vec::new();
                let mut last_host = None;
                for round in 1..=rounds {
                    let through_host = clients.load(&host_url, &secret, connections, &mut next_update).await;
                    let group_commit = clients.load(&format!("{}/webhook", same_promise.base), &secret, connections, &mut next_update).await;
                    println!("    round {round}: {:<42} {}", "host", through_host.figures());
                    println!("             {:<42} {}", "native, the host's promise (group commit)", group_commit.figures());
                    println!("             host ÷ native with the host's promise: {}", through_host.ratios(&group_commit));
                    assert_eq!(through_host.refused + group_commit.refused, 0, "every webhook was answered 200");
                    rounds_ratios.push(through_host.ratio_numbers(&group_commit));
                    last_host = Some(through_host);
                }
                let commit_each = clients.load(&format!("{}/webhook", per_commit.base), &secret, connections, &mut next_update).await;
                assert_eq!(commit_each.refused, 0, "every webhook was answered 200");
                let last_host = last_host.expect("at least one round");
                println!("    {:<51} {}", "native, a commit per webhook (weaker baseline)", commit_each.figures());
                println!("    host (last round) ÷ native committing each (weaker): {}", last_host.ratios(&commit_each));
                let median = |pick: fn(&[f64; 3]) -> f64| support::median(rounds_ratios.iter().map(pick).collect::<Vec<_>>());
                println!(
                    "    median of {rounds} rounds, host ÷ native with the host's promise: throughput {:.2}x, p99 {:.2}x, server CPU per webhook {:.2}x",
                    median(|r| r[0]),
                    median(|r| r[1]),
                    median(|r| r[2])
                );
            }
        }
        // LINE for the outbox and the events: its plugin declares no pace, so the figures are the
        // host's own (Telegram's declared 30 sends/s per bot would be the ceiling otherwise).
        let line = match runs("events") || runs("outbox") {
            true => host.line_channel(&provider).await,
            false => return,
        };
        if runs("events") {
            println!("event webhooks: {EVENTS} events over {CONVERSATIONS} conversations, sent again, to a receiver answering at once");
            let endpoint = host.event_endpoint(&receiver.url).await;
            for round in 0..EVENTS / CONVERSATIONS {
                host.line_write(&line, 1000 + round).await;
            }
            receiver.wait_for(EVENTS).await;
            let started = Instant::now();
            host.redeliver_everything(endpoint).await;
            receiver.wait_for(2 * EVENTS).await;
            let through_host = EVENTS as f64 / started.elapsed().as_secs_f64();
            let bodies = receiver.bodies();
            let native = native_deliveries(&bodies[..EVENTS], &receiver.url, switchboard::event_webhooks::PER_ENDPOINT).await;
            println!("  host {through_host:>6.0} deliveries/s | native with the host's promise {native:>6.0} deliveries/s | {:.2}x", through_host / native);
        }
        if !runs("outbox") {
            return;
        }

        println!("outbox: {REPLIES} replies over {CONVERSATIONS} conversations of a LINE channel");
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

// ---- event webhooks: a receiver, and the native sender -----------------------------------------

/// Answers 200 at once; counts what it accepted and keeps the bodies.
struct EventReceiver {
    url: String,
    authority: String,
    bodies: Arc<Mutex<Vec<(String, Bytes)>>>,
}

impl EventReceiver {
    async fn start() -> Self {
        let bodies: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
        let kept = bodies.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let kept = kept.clone();
                async move {
                    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                    kept.lock().unwrap().push((id, body));
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url: format!("http://{authority}/hook"), authority, bodies }
    }

    fn bodies(&self) -> Vec<(String, Bytes)> {
        self.bodies.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) {
        for _ in 0..24_000 {
            if self.bodies.lock().unwrap().len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the receiver got {} of {count} events", self.bodies.lock().unwrap().len());
    }
}

/// The native sender making the host's promise: `bodies` signed and posted, `at_once` in
/// flight, each attempt recorded (status, latency, the answer) in SQLite by one writer thread
/// with group commit and `synchronous=FULL` before it counts; deliveries per second.
async fn native_deliveries(bodies: &[(String, Bytes)], url: &str, at_once: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let (rows, waiting) = mpsc::channel::<((i64, i64, i64, String), oneshot::Sender<()>)>();
    let path = dir.path().join("native.db");
    let writer = std::thread::spawn(move || {
        let mut conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE attempts (id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL, at INTEGER NOT NULL, status INTEGER, latency_ms INTEGER NOT NULL, response TEXT NOT NULL);",
        )
        .unwrap();
        while let Ok(first) = waiting.recv() {
            let mut batch = vec![first];
            batch.extend(waiting.try_iter());
            let tx = conn.transaction().unwrap();
            for ((delivery, status, latency, response), _) in &batch {
                tx.execute("INSERT INTO attempts (delivery_id, at, status, latency_ms, response) VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![delivery, switchboard::store::now_ms(), status, latency, response]).unwrap();
            }
            tx.commit().unwrap();
            for (_, done) in batch {
                let _ = done.send(());
            }
        }
    });
    let signer = Arc::new(standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap());
    let (client, next, bodies) = (reqwest::Client::new(), Arc::new(AtomicU64::new(0)), Arc::new(bodies.to_vec()));
    let started = Instant::now();
    let workers: Vec<_> = (0..at_once)
        .map(|_| {
            let (client, next, bodies, signer, rows, url) = (client.clone(), next.clone(), bodies.clone(), signer.clone(), rows.clone(), url.to_owned());
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst) as usize;
                    let Some((id, body)) = bodies.get(index) else { return };
                    let sent = Instant::now();
                    let timestamp = switchboard::store::now_ms() / 1000;
                    let signature = signer.sign(id, timestamp, body).unwrap();
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("webhook-id", id)
                        .header("webhook-timestamp", timestamp.to_string())
                        .header("webhook-signature", signature)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let status = i64::from(response.status().as_u16());
                    let answer = String::from_utf8_lossy(&response.bytes().await.unwrap()).chars().take(2048).collect::<String>();
                    let (done, committed) = oneshot::channel();
                    rows.send(((index as i64, status, sent.elapsed().as_millis() as i64, answer), done)).unwrap();
                    committed.await.unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let per_second = bodies.len() as f64 / started.elapsed().as_secs_f64();
    drop(rows);
    writer.join().unwrap();
    per_second
}

// ---- load generation ------------------------------------------------------------------------

struct Load {
    per_second: f64,
    p99_ms: f64,
    refused: usize,
    /// The servers' CPU time per answered webhook, in microseconds.
    server_cpu_us: f64,
}

impl Load {
    fn figures(&self) -> String {
        format!("{:>6.0} req/s, p99 {:>6.2} ms, server CPU {:>5.0} µs/webhook", self.per_second, self.p99_ms, self.server_cpu_us)
    }

    fn ratios(&self, baseline: &Load) -> String {
        let [throughput, p99, cpu] = self.ratio_numbers(baseline);
        format!("throughput {throughput:.2}x, p99 {p99:.2}x, server CPU per webhook {cpu:.2}x")
    }

    /// Throughput, p99 and server CPU per webhook, each ÷ the baseline's.
    fn ratio_numbers(&self, baseline: &Load) -> [f64; 3] {
        [self.per_second / baseline.per_second, self.p99_ms / baseline.p99_ms, self.server_cpu_us / baseline.server_cpu_us]
    }
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

/// The load generator: HTTP clients on a runtime of their own, so the CPU its threads use can be
/// told apart from the servers'.
struct Clients {
    runtime: tokio::runtime::Runtime,
    /// `/proc/self/task/<tid>/stat` of each of the runtime's threads.
    thread_stats: Arc<Mutex<Vec<PathBuf>>>,
}

impl Clients {
    fn start() -> Self {
        let thread_stats = Arc::new(Mutex::new(Vec::new()));
        let started = thread_stats.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-client")
            .on_thread_start(move || started.lock().unwrap().push(current_thread_stat()))
            // A thread that ended would take its CPU time out of the clients' sum.
            .thread_keep_alive(Duration::from_secs(24 * 3600))
            .enable_all()
            .build()
            .unwrap();
        Self { runtime, thread_stats }
    }

    fn cpu(&self) -> Duration {
        self.thread_stats.lock().unwrap().iter().map(|stat| cpu_time(stat)).sum()
    }

    /// `connections` clients, each posting distinct updates one after another for the run's
    /// time; with the CPU time the servers used meanwhile.
    async fn load(&self, url: &str, secret: &str, connections: usize, next_update: &mut i64) -> Load {
        let first = *next_update;
        *next_update += 1_000_000;
        let (process_before, clients_before) = (cpu_time(FilePath::new("/proc/self/stat")), self.cpu());
        let run = self.runtime.spawn(post_updates(url.to_owned(), secret.to_owned(), connections, first));
        let (mut load, answered) = run.await.unwrap();
        let process = cpu_time(FilePath::new("/proc/self/stat")) - process_before;
        let server = process.saturating_sub(self.cpu().saturating_sub(clients_before));
        load.server_cpu_us = server.as_secs_f64() * 1e6 / answered.max(1) as f64;
        load
    }
}

/// Posts updates numbered from `first` over `connections` connections for the run's time; the
/// figures (CPU not yet known) and how many were answered.
async fn post_updates(url: String, secret: String, connections: usize, first: i64) -> (Load, usize) {
    let counter = Arc::new(AtomicU64::new(first as u64));
    let deadline = Instant::now() + Duration::from_secs(INGEST_SECONDS);
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..connections {
        let (url, secret, counter) = (url.clone(), secret.clone(), counter.clone());
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
    let load = Load { per_second: latencies.len() as f64 / elapsed, p99_ms: p99.as_secs_f64() * 1000.0, refused, server_cpu_us: 0.0 };
    (load, latencies.len())
}

// ---- CPU time from /proc ---------------------------------------------------------------------

/// Clock ticks per second of /proc's CPU times (Linux's USER_HZ, 100 on x86 and ARM).

/// User + system CPU time in a /proc `stat` file: the whole process's (every thread, ended ones
/// included) or one thread's.
fn cpu_time(stat: &FilePath) -> Duration {
    support::cpu_stat(stat).unwrap_or_else(|| panic!("{}: not a readable stat file", stat.display())).own
}

/// The calling thread's `stat` file, by its path under the process (`<pid>/task/<tid>`).
fn current_thread_stat() -> PathBuf {
    let task = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self (Linux 3.17+)");
    FilePath::new("/proc").join(task).join("stat")
}

// ---- the host, in process, on a port ---------------------------------------------------------

struct Host {
    base: String,
    admin: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Host {
    async fn start(provider: &FakeTelegram, receiver: &str) -> Self {
        let data = tempfile::tempdir().unwrap();
        let admin = Db::open(data.path()).unwrap().create_token(Role::Admin, Some(1)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = switchboard::ServeConfig {
            data_dir: data.path().to_path_buf(),
            database_url: None,
            public_url: Some("https://switchboard.example".into()),
            allow_outbound: vec![provider.authority.clone(), receiver.to_owned()],
            limits: Default::default(),
            mail: Default::default(),
            media_max_mb: switchboard::media::DEFAULT_MAX_MB,
            resolver: Default::default(),
            plugin_trust: Default::default(),
            faults: Default::default(),
            record_webhooks: None,
            webhook_retry: Default::default(),
            compiler: None,
            release_start_up_code: false,
            compile_cache: None,
            catalogue: Vec::new(),
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
        self.line_write(channel, 0).await;
        let url = format!("{}/api/v1/conversations?channel={channel}&limit=500", self.base);
        let list: Value = self.http.get(url).bearer_auth(&self.admin).send().await.unwrap().json().await.unwrap();
        list.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
    }

    /// Each of the fifty LINE users writes one message (`round` keeps the ids distinct).
    async fn line_write(&self, channel: &str, round: usize) {
        use base64::Engine;
        use hmac::{Hmac, Mac};
        for user in 0..CONVERSATIONS {
            let id = round * CONVERSATIONS + user;
            let body = json!({"destination": "Ubench", "events": [{"type": "message", "timestamp": 1_763_600_000_000u64 + id as u64,
                "webhookEventId": format!("01HBENCH{id:08}"), "deliveryContext": {"isRedelivery": false}, "mode": "active",
                "source": {"type": "user", "userId": format!("U{user:032}")}, "message": {"id": format!("5{id:08}"), "type": "text", "text": "Halo"}}]})
            .to_string();
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(LINE_SECRET.as_bytes()).unwrap();
            mac.update(body.as_bytes());
            let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            let url = format!("{}/webhooks/{channel}", self.base);
            let response = self.http.post(url).header("x-line-signature", signature).header("content-type", "application/json").body(body).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }
    }

    /// An endpoint for `message.received` at `url`; its id.
    async fn event_endpoint(&self, url: &str) -> i64 {
        let body = json!({"url": url, "events": ["message.received"]});
        let response = self.http.post(format!("{}/api/v1/webhook-endpoints", self.base)).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        let endpoint: Value = response.json().await.unwrap();
        endpoint["id"].as_i64().unwrap_or_else(|| panic!("the endpoint was not made: {endpoint}"))
    }

    async fn redeliver_everything(&self, endpoint: i64) {
        let url = format!("{}/api/v1/webhook-endpoints/{endpoint}/redeliver", self.base);
        let response = self.http.post(url).bearer_auth(&self.admin).json(&json!({"since": 0})).send().await.unwrap();
        assert_eq!(response.status(), 202);
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

// ---- the native baselines: the same work in plain Rust -----------------------------------------

use support::telegram::Update;

/// A webhook as both native handlers store it: what the Telegram plugin makes of an update.
struct Inbound {
    provider_message_id: String,
    conversation: String,
    conversation_name: Option<String>,
    sender_id: String,
    sender_name: Option<String>,
    sender_handle: Option<String>,
    timestamp_ms: i64,
    text: Option<String>,
    /// JSON `[key, value]` pairs, as the host stores a message's properties.
    properties: String,
}

/// The secret checked (constant time), the update parsed and normalised as the plugin does;
/// `None` for an update without a message (answered 200, nothing stored).
fn checked_inbound(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<Option<Inbound>, StatusCode> {
    use subtle::ConstantTimeEq;
    let given = headers.get("x-telegram-bot-api-secret-token").map(|v| v.as_bytes()).unwrap_or_default();
    if !bool::from(given.ct_eq(secret.as_bytes())) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let update = serde_json::from_slice::<Update>(body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let Some(message) = update.message else { return Ok(None) };
    let conversation = message.chat.id.to_string();
    let (sender_id, sender_name, sender_handle) = match message.from {
        Some(user) => {
            let name = match user.last_name {
                Some(last) => format!("{} {last}", user.first_name),
                None => user.first_name,
            };
            (user.id.to_string(), Some(name), user.username)
        }
        // Posts on behalf of a chat carry no user.
        None => (conversation.clone(), message.chat.title.clone(), None),
    };
    Ok(Some(Inbound {
        provider_message_id: update.update_id.to_string(),
        conversation,
        conversation_name: message.chat.title,
        sender_id,
        sender_name,
        sender_handle,
        timestamp_ms: message.date * 1000,
        text: message.text.or(message.caption),
        properties: serde_json::to_string(&[("message_id", message.message_id.to_string())]).expect("pairs serialize"),
    }))
}

/// The host's durability design without the host: handlers hand their webhook to one writer
/// thread, which stores every webhook waiting in one transaction, each in its own savepoint,
/// commits (one fsync for the batch, `synchronous=FULL`, WAL) and only then lets them answer.
/// The database is the host's: its schema and full-text trigger made by its own migrations.
struct NativeGroupCommit {
    base: String,
    _dir: tempfile::TempDir,
}

/// The writer's answer to one handler: stored and on disk, or why not.
type OnDisk = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
struct GroupCommitState {
    secret: Arc<String>,
    writes: mpsc::Sender<(Inbound, OnDisk)>,
}

/// Webhooks one batch holds at most (the host's writer's limit).
const MOST_PER_BATCH: usize = 256;
/// The channel the native webhooks are stored under (the host's rows all name one).
const NATIVE_CHANNEL: &str = "ch_native";

impl NativeGroupCommit {
    async fn start(secret: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The host makes the schema and closes it again; the writer then has the file alone.
        drop(Db::open(dir.path()).unwrap());
        let conn = rusqlite::Connection::open(dir.path().join("switchboard.db")).unwrap();
        // The host's pragmas.
        switchboard::store::configure_writer(&conn).unwrap();
        conn.execute(
            "INSERT INTO channels (id, plugin, name, status, settings, webhook_secret, created_at, updated_at)
             VALUES (?1, 'telegram', 'Native bench', 'active', '{}', ?2, 0, 0)",
            [NATIVE_CHANNEL, secret],
        )
        .unwrap();
        let (writes, waiting) = mpsc::channel();
        std::thread::Builder::new().name("native-writer".into()).spawn(move || write_batches(conn, waiting)).unwrap();
        let state = GroupCommitState { secret: Arc::new(secret.to_owned()), writes };
        let app = Router::new().route("/webhook", post(group_commit_webhook)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, _dir: dir }
    }
}

async fn group_commit_webhook(State(state): State<GroupCommitState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let inbound = match checked_inbound(&state.secret, &headers, &body) {
        Ok(Some(inbound)) => inbound,
        Ok(None) => return StatusCode::OK,
        Err(refused) => return refused,
    };
    let (on_disk, committed) = oneshot::channel();
    if state.writes.send((inbound, on_disk)).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match committed.await {
        Ok(Ok(())) => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The writer thread, as the host's (store/writer.rs): a batch is whatever waits when the last
/// one committed; a webhook that fails is rolled back to its savepoint and fails alone, as does
/// a redelivery (it changes nothing); a commit that fails fails the whole batch.
fn write_batches(mut conn: rusqlite::Connection, waiting: mpsc::Receiver<(Inbound, OnDisk)>) {
    while let Ok(first) = waiting.recv() {
        let mut batch = vec![first];
        while batch.len() < MOST_PER_BATCH {
            match waiting.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let mut answers = Vec::with_capacity(batch.len());
        let committed = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            for (inbound, on_disk) in batch {
                tx.execute_batch("SAVEPOINT write")?;
                let stored = store_in_host_schema(&tx, &inbound);
                if !matches!(stored, Ok(true)) {
                    tx.execute_batch("ROLLBACK TO write")?;
                }
                tx.execute_batch("RELEASE write")?;
                answers.push((on_disk, stored));
            }
            // The batch's text indexed for search at its end, as the host's writer does.
            switchboard::store::writer::index_waiting_text(&tx)?;
            tx.commit()
        })();
        // Answered only now: the batch is on disk (or failed as a whole).
        for (on_disk, stored) in answers {
            let answer = match &committed {
                Err(failed) => Err(failed.to_string()),
                Ok(()) => stored.map(|_| ()).map_err(|e| e.to_string()),
            };
            let _ = on_disk.send(answer);
        }
    }
}

/// The rows the host stores for an inbound message (contact, conversation with its window and
/// activity, message; the schema's trigger leaves its text for the batch's full-text index);
/// whether it was new.
fn store_in_host_schema(tx: &rusqlite::Transaction<'_>, inbound: &Inbound) -> rusqlite::Result<bool> {
    let now = switchboard::store::now_ms();
    // Ids read by their keys, not by `RETURNING`, which SQLite buffers in a temporary table (the
    // host's writer reads them so too).
    tx.prepare_cached(
        "INSERT INTO contacts (channel_id, external_id, name, handle, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (channel_id, external_id) DO UPDATE SET
            name = COALESCE(excluded.name, contacts.name),
            handle = COALESCE(excluded.handle, contacts.handle),
            updated_at = excluded.updated_at",
    )?
    .execute(rusqlite::params![NATIVE_CHANNEL, inbound.sender_id, inbound.sender_name, inbound.sender_handle, now])?;
    let contact: i64 = tx
        .prepare_cached("SELECT id FROM contacts WHERE channel_id = ?1 AND external_id = ?2")?
        .query_row(rusqlite::params![NATIVE_CHANNEL, inbound.sender_id], |r| r.get(0))?;
    // The host's upsert and touch in one statement; the window counts from the provider's time,
    // never later than now.
    tx.prepare_cached(
        "INSERT INTO conversations (channel_id, external_id, contact_id, name, last_inbound_at, last_activity_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (channel_id, external_id) DO UPDATE SET
            name = COALESCE(excluded.name, conversations.name),
            contact_id = COALESCE(conversations.contact_id, excluded.contact_id),
            status = 'open',
            last_activity_at = excluded.last_activity_at,
            last_inbound_at = MAX(COALESCE(conversations.last_inbound_at, 0), excluded.last_inbound_at)",
    )?
    .execute(rusqlite::params![NATIVE_CHANNEL, inbound.conversation, contact, inbound.conversation_name, inbound.timestamp_ms.min(now), now])?;
    let conversation: i64 = tx
        .prepare_cached("SELECT id FROM conversations WHERE channel_id = ?1 AND external_id = ?2")?
        .query_row(rusqlite::params![NATIVE_CHANNEL, inbound.conversation], |r| r.get(0))?;
    let stored = tx
        .prepare_cached(
            "INSERT INTO messages (conversation_id, channel_id, direction, provider_message_id, contact_id, text, content,
                properties, status, provider_timestamp, created_at, updated_at)
             VALUES (?1, ?2, 'inbound', ?3, ?4, ?5, '{\"attachments\":[]}', ?6, 'received', ?7, ?8, ?8)
             ON CONFLICT DO NOTHING",
        )?
        .execute(rusqlite::params![conversation, NATIVE_CHANNEL, inbound.provider_message_id, contact, inbound.text, inbound.properties, inbound.timestamp_ms, now])?;
    Ok(stored == 1)
}

/// The weaker baseline: each webhook committed (and fsynced) on its own, under a mutex on the
/// async worker, in a reduced schema without the full-text index.
struct NativePerCommit {
    base: String,
}

#[derive(Clone)]
struct PerCommitState {
    secret: Arc<String>,
    db: Arc<Mutex<rusqlite::Connection>>,
    _dir: Arc<tempfile::TempDir>,
}

impl NativePerCommit {
    async fn start(secret: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("native.db")).unwrap();
        // The host's pragmas.
        switchboard::store::configure_writer(&conn).unwrap();
        conn.execute_batch(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, name TEXT, handle TEXT);
             CREATE TABLE conversations (id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, contact_id INTEGER REFERENCES contacts(id), last_inbound_at INTEGER);
             CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL REFERENCES conversations(id), provider_message_id TEXT NOT NULL UNIQUE,
                 text TEXT, provider_timestamp INTEGER, created_at INTEGER);",
        )
        .unwrap();
        let state = PerCommitState { secret: Arc::new(secret.to_owned()), db: Arc::new(Mutex::new(conn)), _dir: Arc::new(dir) };
        let app = Router::new().route("/webhook", post(per_commit_webhook)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base }
    }
}

async fn per_commit_webhook(State(state): State<PerCommitState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let inbound = match checked_inbound(&state.secret, &headers, &body) {
        Ok(Some(inbound)) => inbound,
        Ok(None) => return StatusCode::OK,
        Err(refused) => return refused,
    };
    let mut db = state.db.lock().unwrap();
    let tx = db.transaction().unwrap();
    let contact: i64 = tx
        .prepare_cached("INSERT INTO contacts (external_id, name, handle) VALUES (?1, ?2, ?3) ON CONFLICT (external_id) DO UPDATE SET name = excluded.name RETURNING id")
        .unwrap()
        .query_row(rusqlite::params![inbound.sender_id, inbound.sender_name, inbound.sender_handle], |r| r.get(0))
        .unwrap();
    let conversation: i64 = tx
        .prepare_cached(
            "INSERT INTO conversations (external_id, contact_id, last_inbound_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (external_id) DO UPDATE SET last_inbound_at = excluded.last_inbound_at RETURNING id",
        )
        .unwrap()
        .query_row(rusqlite::params![inbound.conversation, contact, inbound.timestamp_ms], |r| r.get(0))
        .unwrap();
    tx.prepare_cached(
        "INSERT INTO messages (conversation_id, provider_message_id, text, provider_timestamp, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (provider_message_id) DO NOTHING",
    )
    .unwrap()
    .execute(rusqlite::params![conversation, inbound.provider_message_id, inbound.text, inbound.timestamp_ms, 0])
    .unwrap();
    tx.commit().unwrap();
    StatusCode::OK
}
