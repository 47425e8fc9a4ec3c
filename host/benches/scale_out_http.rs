//! Ingest through HTTP, the way a provider reaches the host: signed LINE webhooks from 64
//! senders at once for 5 s, each answered 200 once stored. One node on SQLite (the default, the
//! baseline), one node on Postgres, and three nodes on Postgres with the senders spread over
//! them, in the same run. Every process (the nodes, Postgres, the senders) shares this
//! machine's cores, so "three nodes" shows what the shared database and the fan-out cost, not
//! what three machines would give.
//!
//! Beside throughput, the CPU each webhook costs the servers: the nodes' and Postgres' (its
//! sessions included) user + system time over the same window, divided by the webhooks stored.
//!
//! Each database is measured young and warm: a first run of the senders from an empty database
//! (a new deployment's first seconds), then, Postgres having the statistics autovacuum gathers
//! within a minute of such traffic (`ANALYZE`), the run the ratios count, as a live database
//! is. Before migration 0014 the young Postgres often checked redeliveries through the wrong
//! index and read every message of the channel (2026-11-26: one node 1122 webhooks/s before
//! `ANALYZE`, 2837 after, in one run); the young run shows that this stays mended. Three
//! nodes are measured warm too: the run before theirs (not counted) is nodes 2 and 3's first
//! seconds, as the young run was node 1's. Each Postgres run prints where its CPU per webhook
//! went: the nodes, and Postgres's sessions, listeners and own processes.
//!
//! The comparisons run in rounds, side by side, and their median ratio counts (the machine's
//! speed drifts within minutes): the SQLite node, then one Postgres node, while both are up;
//! then, once nodes 2 and 3 are up, one node (node 1 alone taking the senders, the others idle
//! but listening) and then all three.
//!
//! Run: `cargo bench -p switchboard --bench scale_out_http` (starts its own Postgres; builds
//! nothing else: the `switchboard` binary of this build serves).

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "support/mod.rs"]
mod bench_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use support::{BIN, free_port};
use hmac::{Hmac, Mac};

const SENDERS: u64 = 64;
const SECONDS: u64 = 5;
const LINE_SECRET: &str = "0123456789abcdef0123456789abcdef";
/// Rounds of each comparison, measured side by side (`SCALE_OUT_ROUNDS` sets another number):
/// this machine's speed drifts within minutes, so the rounds' median ratio counts.
const ROUNDS: usize = 3;

/// A `switchboard serve` process, killed when dropped.
struct Node {
    child: Child,
    port: u16,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fake LINE API that only tells who the bot is (what connecting a channel asks); the
/// webhooks the bench sends need no answer from it. Its port.
fn fake_line_bot_info() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let info = r#"{"userId":"Ubot","basicId":"@toko","displayName":"Toko Budi","chatMode":"chat","markAsReadMode":"manual"}"#;
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{info}", info.len());
        }
    });
    port
}

async fn start(data_dir: &Path, database_url: Option<&str>, line_port: u16) -> Node {
    let port = free_port();
    let mut command = Command::new(BIN);
    command.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"]).arg(data_dir).env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null());
    command.env("SWITCHBOARD_ALLOW_OUTBOUND", format!("127.0.0.1:{line_port}"));
    if let Some(url) = database_url {
        command.env("SWITCHBOARD_DATABASE_URL", url);
    }
    let node = Node { child: command.spawn().unwrap(), port };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if let Ok(answer) = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await
            && answer.status() == 200
        {
            return node;
        }
        assert!(Instant::now() < deadline, "a node was not ready in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn admin_token(data_dir: &Path, database_url: Option<&str>) -> String {
    let mut command = Command::new(BIN);
    command.args(["token", "create", "--role", "admin", "--data-dir"]).arg(data_dir);
    if let Some(url) = database_url {
        command.env("SWITCHBOARD_DATABASE_URL", url);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A LINE channel (its API never called while ingesting) made through `node`; its id.
async fn line_channel(node: &Node, admin: &str, line_port: u16) -> String {
    let settings = serde_json::json!({"plugin": "line", "name": "Bench", "settings": {"channel_secret": LINE_SECRET, "channel_access_token": "t", "api_base_url": format!("http://127.0.0.1:{line_port}")}});
    let answer = reqwest::Client::new().post(format!("http://127.0.0.1:{}/api/v1/channels", node.port)).bearer_auth(admin).json(&settings).send().await.unwrap();
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn signature(body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(LINE_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// CPU seconds a process and its children (exited ones included, once reaped) used so far.
fn cpu_of_tree(root: u32) -> f64 {
    let stat = |pid: u32| bench_support::cpu_stat(&std::path::PathBuf::from(format!("/proc/{pid}/stat")));
    let whole = |stat: &bench_support::CpuStat| stat.own + stat.reaped;
    let mut total = stat(root).map(|s| whole(&s)).unwrap_or_default();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        if let Some(child) = stat(pid).filter(|s| s.parent == root) {
            total += whole(&child);
        }
    }
    total.as_secs_f64()
}

/// Postgres's processes, each with the CPU it used so far: where the database's share of a
/// webhook goes (the statements' sessions, the live listener's, or the server's own work).
#[derive(Default)]
struct PostgresCpu {
    /// Client sessions but the listeners: the nodes' reads and writes (group commits included).
    sessions: f64,
    /// The sessions that `LISTEN` (one per node): they read every change notice.
    listeners: f64,
    /// The postmaster, the background processes (WAL writer, checkpointer, autovacuum, …) and
    /// every session that exited (its CPU is the postmaster's once reaped).
    server: f64,
}

impl PostgresCpu {
    fn now(postmaster: u32, url: &str) -> Self {
        let stat = |pid: u32| bench_support::cpu_stat(&std::path::PathBuf::from(format!("/proc/{pid}/stat")));
        let listed = Command::new("psql").arg(url).args(["-qAt", "-c", "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"]).output().unwrap();
        let listeners: Vec<u32> = String::from_utf8_lossy(&listed.stdout).lines().filter_map(|line| line.trim().parse().ok()).collect();
        let mut cpu = Self { server: stat(postmaster).map(|s| (s.own + s.reaped).as_secs_f64()).unwrap_or_default(), ..Self::default() };
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
            let Some(child) = stat(pid).filter(|s| s.parent == postmaster) else { continue };
            let used = child.own.as_secs_f64();
            // A client session's title names its client's address: `postgres: user db 127.0.0.1(port) …`.
            let title = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            match (listeners.contains(&pid), title.contains("127.0.0.1(")) {
                (true, _) => cpu.listeners += used,
                (false, true) => cpu.sessions += used,
                (false, false) => cpu.server += used,
            }
        }
        cpu
    }
}

/// What a run measured.
struct Run {
    per_second: f64,
    /// Webhooks stored.
    stored: u64,
    /// Server CPU (nodes and Postgres) per webhook stored, in milliseconds.
    cpu_ms: f64,
}

/// Webhooks stored per second by `SENDERS` senders spread over `ports`, and the CPU the
/// `servers` (process ids: the nodes, the Postgres postmaster) spent per webhook meanwhile.
async fn measure(ports: &[u16], channel: &str, servers: &[u32]) -> Run {
    let cpu = || servers.iter().map(|pid| cpu_of_tree(*pid)).sum::<f64>();
    let before = cpu();
    let (per_second, stored) = per_second(ports, channel).await;
    let used = cpu() - before;
    Run { per_second, stored, cpu_ms: used * 1000.0 / stored.max(1) as f64 }
}

/// Webhooks stored per second by `SENDERS` senders spread over `ports`, and how many.
async fn per_second(ports: &[u16], channel: &str) -> (f64, u64) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stored = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::builder().pool_max_idle_per_host(SENDERS as usize).build().unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(SECONDS);
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let url = format!("http://127.0.0.1:{}/webhooks/{channel}", ports[s as usize % ports.len()]);
            let (client, stored) = (client.clone(), stored.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = NEXT.fetch_add(1, Ordering::Relaxed);
                    let body = serde_json::json!({"destination": "Ubot", "events": [{"type": "message", "timestamp": 1_763_600_000_000u64 + n,
                        "webhookEventId": format!("01BENCH{n:010}"), "source": {"type": "user", "userId": format!("U{:032}", n % 500)},
                        "message": {"id": format!("9{n:010}"), "type": "text", "text": format!("pesan nomor {n}")}}]})
                    .to_string();
                    let answer = client.post(&url).header("content-type", "application/json").header("x-line-signature", signature(&body)).body(body).send().await;
                    if answer.is_ok_and(|a| a.status() == 200) {
                        stored.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let stored = stored.load(Ordering::Relaxed);
    (stored as f64 / started.elapsed().as_secs_f64(), stored)
}

fn main() {
    let rounds = bench_support::count_from_env("SCALE_OUT_ROUNDS", ROUNDS);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
        let line = fake_line_bot_info();
        // Baseline: the default, one node on SQLite.
        let sqlite_admin = admin_token(dirs[0].path(), None);
        let sqlite = start(dirs[0].path(), None, line).await;
        let sqlite_channel = line_channel(&sqlite, &sqlite_admin, line).await;
        let sqlite_young = measure(&[sqlite.port], &sqlite_channel, &[sqlite.child.id()]).await;

        let server = support::postgres::Postgres::start();
        let url = server.create_database("bench");
        let admin = admin_token(dirs[1].path(), Some(&url));
        for dir in &dirs[2..] {
            std::fs::copy(dirs[1].path().join("secret.key"), dir.path().join("secret.key")).unwrap();
        }
        let first = start(dirs[1].path(), Some(&url), line).await;
        let channel = line_channel(&first, &admin, line).await;
        let postmaster = server.postmaster_pid();
        let young = measure(&[first.port], &channel, &[first.child.id(), postmaster]).await;
        let analyzed = Command::new("psql").arg(&url).args(["-q", "-c", "ANALYZE"]).output().unwrap();
        assert!(analyzed.status.success(), "ANALYZE failed: {}", String::from_utf8_lossy(&analyzed.stderr));

        println!("HTTP ingest, signed LINE webhooks, {SENDERS} senders at once, {SECONDS} s each (2 shared cores; nodes, Postgres and senders on one machine);");
        println!("server CPU per webhook = the nodes' and Postgres' user + system time / webhooks stored;");
        println!("{rounds} rounds of each comparison side by side, the median ratio counts:");
        println!(
            "  from an empty database (not counted below): SQLite {:>6.0} webhooks/s, {:.2} ms CPU/webhook; Postgres, one node {:>6.0}, {:.2} ms | {:.2}x SQLite's",
            sqlite_young.per_second,
            sqlite_young.cpu_ms,
            young.per_second,
            young.cpu_ms,
            young.per_second / sqlite_young.per_second
        );
        // One Postgres node against the SQLite node, warm (Postgres analysed), in rounds.
        println!("then warm (Postgres analysed):");
        let mut one_to_sqlite = Vec::new();
        for round in 1..=rounds {
            let baseline = measure(&[sqlite.port], &sqlite_channel, &[sqlite.child.id()]).await;
            let database_before = PostgresCpu::now(postmaster, &url);
            let one = measure(&[first.port], &channel, &[first.child.id(), postmaster]).await;
            let database_after = PostgresCpu::now(postmaster, &url);
            println!("  round {round}: SQLite, one node (baseline): {:>6.0} webhooks/s, {:.2} ms CPU/webhook", baseline.per_second, baseline.cpu_ms);
            println!(
                "           Postgres, one node:          {:>6.0} webhooks/s, {:.2} ms CPU/webhook | {:.2}x SQLite's throughput",
                one.per_second,
                one.cpu_ms,
                one.per_second / baseline.per_second
            );
            println!("  {}", split(&one, &database_before, &database_after, "the listener"));
            one_to_sqlite.push(one.per_second / baseline.per_second);
        }
        drop(sqlite);
        println!("  median of {rounds} rounds: one Postgres node {:.2}x the SQLite node's throughput", bench_support::median(one_to_sqlite));

        // Nodes 2 and 3 compile from node 1's cache (each keeps its own; copying saves the wait).
        for dir in &dirs[2..] {
            copy_dir(&dirs[1].path().join("cache"), &dir.path().join("cache"));
        }
        let second = start(dirs[2].path(), Some(&url), line).await;
        let third = start(dirs[3].path(), Some(&url), line).await;
        let (ports, servers) = ([first.port, second.port, third.port], [first.child.id(), second.child.id(), third.child.id(), postmaster]);
        // Warm, as the one node was measured: nodes 2 and 3's first seconds (their sessions'
        // catalog and plan caches, their plugins' first calls) are not counted either.
        measure(&ports, &channel, &servers).await;
        // Three nodes against one (node 1 alone taking the senders, the others idle), in rounds.
        let (mut throughputs, mut cpus) = (Vec::new(), Vec::new());
        for round in 1..=rounds {
            let one = measure(&[first.port], &channel, &[first.child.id(), postmaster]).await;
            let cluster_before = PostgresCpu::now(postmaster, &url);
            let three = measure(&ports, &channel, &servers).await;
            let cluster_after = PostgresCpu::now(postmaster, &url);
            println!(
                "  round {round}: Postgres, one node {:>6.0} webhooks/s, {:.2} ms CPU/webhook; three nodes {:>6.0} webhooks/s, {:.2} ms CPU/webhook | {:.2}x one node's throughput, {:.2}x its CPU/webhook",
                one.per_second,
                one.cpu_ms,
                three.per_second,
                three.cpu_ms,
                three.per_second / one.per_second,
                three.cpu_ms / one.cpu_ms
            );
            println!("  {}", split(&three, &cluster_before, &cluster_after, "the three listeners"));
            throughputs.push(three.per_second / one.per_second);
            cpus.push(three.cpu_ms / one.cpu_ms);
        }
        println!(
            "  median of {rounds} rounds: three Postgres nodes {:.2}x one node's throughput, {:.2}x its CPU/webhook",
            bench_support::median(throughputs),
            bench_support::median(cpus)
        );
    });
}

/// Where a run's CPU per webhook went: the nodes, and Postgres's processes (over the run's
/// window, give or take the two psql calls that find the listeners).
fn split(run: &Run, before: &PostgresCpu, after: &PostgresCpu, listeners: &str) -> String {
    let share = |after: f64, before: f64| (after - before) * 1000.0 / run.stored.max(1) as f64;
    let (sessions, listening, server) = (share(after.sessions, before.sessions), share(after.listeners, before.listeners), share(after.server, before.server));
    format!(
        "    of which the nodes {:.2} ms; Postgres: its sessions {sessions:.2} ms, {listeners} {listening:.3} ms, the server's own (WAL writer, checkpointer, exited sessions) {server:.3} ms",
        run.cpu_ms - sessions - listening - server
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            let _ = std::fs::copy(entry.path(), target);
        }
    }
}
