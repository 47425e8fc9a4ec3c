//! Several `switchboard serve` nodes over one Postgres, as a scale-out deployment runs them:
//! webhooks and replies shared by three nodes through a kill -9, a reply sent through one node
//! reaching a website chat open on another, and a plugin uploaded to one node (or installed on
//! it from an OCI registry, where it came from recorded alike everywhere) live on the others.
//!
//! Each test starts its own throwaway Postgres. The tests run one at a time: three nodes and
//! Postgres on two cores are load enough, and a time bound means nothing beside another test's
//! load. Every node after the first of the run starts from that node's compile cache (compiling
//! every plugin takes up to a minute on two cores).

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::postgres::Postgres;
use support::oci_registry::OciRegistry;
use support::{BIN, PATIENCE, Server, install_from_registry, own_compile_cache, json_of, plugin_version, request, request_with, status_of, telegram_next_version, wait_for};

/// The tests of this file, one at a time (a failed one's poisoned lock still serializes).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The compile cache every node starts from once the run's first node compiled the plugins
/// (entries are keyed by component and engine, so any data dir may use them).
fn warm_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("scale-out-compile-cache")
}

/// Whether [`warm_cache`] was filled by this run (a folder left by an earlier build is not used).
static CACHE_WARM: AtomicBool = AtomicBool::new(false);

/// The files of `from` (not its folders) copied into `to`.
fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// `switchboard token create` against the database the nodes serve from. The token.
fn create_token(url: &str, data_dir: &Path, role: &str) -> String {
    let output = Command::new(BIN)
        .args(["token", "create", "--role", role, "--data-dir"])
        .arg(data_dir)
        .env("SWITCHBOARD_DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(output.status.success(), "token create --role {role}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Nodes over one throwaway Postgres database, each with a data dir of its own holding a copy
/// of the one secret key.
struct Cluster {
    /// `None` while a node is down. First: the nodes are killed before Postgres stops.
    nodes: Vec<Option<Server>>,
    dirs: Vec<tempfile::TempDir>,
    /// Every node's environment: the database, and what the test adds.
    envs: Vec<(String, String)>,
    url: String,
    /// An admin of workspace 1 (channels, conversations); made once the first node is ready.
    admin: String,
    /// The installation's operator (plugins); made once the first node is ready.
    operator: String,
    postgres: Postgres,
}

impl Cluster {
    /// `count` nodes' data dirs (none started) over database `database`, started with `envs`.
    fn new(database: &str, count: usize, envs: &[(&str, &str)]) -> Self {
        let postgres = Postgres::start();
        let url = postgres.create_database(database);
        let dirs: Vec<tempfile::TempDir> = (0..count).map(|_| tempfile::tempdir().unwrap()).collect();
        // One secret key in every node's data dir before any starts, as an operator copies it;
        // nothing touches the database before the nodes do (they race to migrate it).
        let key: [u8; 32] = rand::random();
        for dir in &dirs {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join("secret.key");
            std::fs::write(&path, key).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut all = vec![("SWITCHBOARD_DATABASE_URL".to_owned(), url.clone())];
        all.extend(envs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
        Self { nodes: (0..count).map(|_| None).collect(), dirs, envs: all, url, admin: String::new(), operator: String::new(), postgres }
    }

    /// Starts node `i` (from 0) on its data dir without waiting for it.
    fn spawn(&mut self, i: usize) {
        assert!(self.nodes[i].is_none(), "node {} runs already", i + 1);
        if CACHE_WARM.load(Ordering::SeqCst) {
            copy_files(&warm_cache(), &self.dirs[i].path().join("cache"));
        }
        // Each node its own compile cache, as on separate machines: a plugin installed on one is
        // compiled by each from the bytes the database shares.
        let cache = own_compile_cache(self.dirs[i].path());
        let mut envs: Vec<(&str, &str)> = self.envs.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        envs.push(("SWITCHBOARD_COMPILE_CACHE", &cache));
        self.nodes[i] = Some(Server::start(self.dirs[i].path(), &envs));
    }

    /// Waits until node `i` is ready; the run's first ready node fills the shared compile cache.
    /// Once a node is ready, the tokens are made.
    fn wait_ready(&mut self, i: usize) {
        self.node(i).wait_ready();
        if self.admin.is_empty() {
            self.admin = create_token(&self.url, self.dirs[i].path(), "admin");
            self.operator = create_token(&self.url, self.dirs[i].path(), "operator");
        }
        if !CACHE_WARM.load(Ordering::SeqCst) {
            let shared = warm_cache();
            let _ = std::fs::remove_dir_all(&shared);
            copy_files(&self.dirs[i].path().join("cache"), &shared);
            CACHE_WARM.store(true, Ordering::SeqCst);
        }
    }

    fn start(&mut self, i: usize) {
        self.spawn(i);
        self.wait_ready(i);
    }

    /// Every node at once, on a database nobody migrated yet.
    fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.spawn(i);
        }
        for i in 0..self.nodes.len() {
            self.wait_ready(i);
        }
    }

    fn node(&self, i: usize) -> &Server {
        self.nodes[i].as_ref().unwrap_or_else(|| panic!("node {} is down", i + 1))
    }

    fn port(&self, i: usize) -> u16 {
        self.node(i).port
    }

    /// kill -9 of node `i`.
    fn kill(&mut self, i: usize) {
        let mut server = self.nodes[i].take().unwrap_or_else(|| panic!("node {} is down already", i + 1));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
    }

    /// The last lines of each running node's log, for a failure's message.
    fn logs(&self) -> String {
        let mut logs = String::new();
        for (i, server) in self.nodes.iter().enumerate() {
            if let Some(server) = server {
                let log = server.log.lock().unwrap();
                let lines: Vec<&str> = log.lines().collect();
                logs.push_str(&format!("--- node {} ---\n{}\n", i + 1, lines[lines.len().saturating_sub(30)..].join("\n")));
            }
        }
        logs
    }
}

/// What `query` reads from the cluster's database (a connection of its own).
fn read_database<T>(url: &str, query: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        query(&client).await
    })
}

/// One number the database answers.
fn count(url: &str, sql: &str) -> i64 {
    read_database(url, async |client| client.query_one(sql, &[]).await.unwrap().get(0))
}

/// The outbox claims of the node whose name matches `node` (SQL `LIKE`): message and claim end.
fn claims_of(url: &str, node: &str) -> Vec<(i64, i64)> {
    read_database(url, async |client| {
        let sql = "SELECT message_id, claimed_until FROM outbox WHERE claimed_by LIKE $1 AND claimed_until IS NOT NULL";
        client.query(sql, &[&node]).await.unwrap().iter().map(|row| (row.get(0), row.get(1))).collect()
    })
}

/// Whether each of `claims` (message, claim end) was taken over: the message left the outbox
/// (sent or failed), or its claim is not that one any more (claimed afresh, or let go).
fn taken_over(url: &str, claims: &[(i64, i64)]) -> bool {
    let messages: Vec<i64> = claims.iter().map(|(message, _)| *message).collect();
    let held: HashMap<i64, Option<i64>> = read_database(url, async |client| {
        let sql = "SELECT message_id, claimed_until FROM outbox WHERE message_id = ANY($1)";
        client.query(sql, &[&messages]).await.unwrap().iter().map(|row| (row.get(0), row.get(1))).collect()
    });
    claims.iter().all(|(message, until)| held.get(message).is_none_or(|now| *now != Some(*until)))
}

fn get_json(port: u16, token: &str, path: &str) -> Value {
    let response = request(port, "GET", path, Some(token), None).unwrap();
    assert_eq!(status_of(&response), 200, "GET {path}: {response}");
    json_of(&response)
}

/// The ids of a channel's conversations (all of them: there are fewer than the limit).
fn conversation_ids(port: u16, token: &str, channel: &str) -> Vec<i64> {
    let listed = get_json(port, token, &format!("/api/v1/conversations?channel={channel}&limit=500"));
    listed.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

/// A conversation's messages (all of them: there are fewer than the limit).
fn messages_of(port: u16, token: &str, conversation: i64) -> Vec<Value> {
    get_json(port, token, &format!("/api/v1/conversations/{conversation}/messages?limit=1000")).as_array().unwrap().clone()
}

/// The channel secret of the LINE channel.
const LINE_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// `body` posted to the channel's webhook on `port`, signed as LINE signs; the status (0: no
/// answer, as from a killed node).
fn deliver_line(port: u16, channel: &str, body: &str) -> u16 {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(LINE_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    request_with(port, "POST", &format!("/webhooks/{channel}"), &[("x-line-signature", &signature)], body).map_or(0, |r| status_of(&r))
}

/// A fake LINE Messaging API on a thread per connection: the bot's info, and pushes answered
/// after a random 100-300 ms, honouring `X-Line-Retry-Key` as LINE does (a key accepted before
/// answers 409 with `x-line-accepted-request-id`). A push is accepted once read whole, even
/// when the node that sent it dies before the answer. While held ([`FakeLine::hold_after`]),
/// pushes past a count wait before being accepted, until [`FakeLine::release`].
struct FakeLine {
    port: u16,
    pushes: Arc<Mutex<Pushes>>,
    released: Arc<Condvar>,
    in_flight: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Pushes {
    /// Push requests read whole.
    attempts: usize,
    /// Of those, answered 409: their key was accepted before.
    conflicts: usize,
    /// Each accepted retry key: the request id and message id it got.
    keys: HashMap<String, (String, String)>,
    /// The texts accepted, in the order accepted.
    accepted: Vec<String>,
    /// Requests answered, for request ids.
    requests: u64,
    /// While `Some(n)`: once `n` texts are accepted, pushes wait until released.
    hold_after: Option<usize>,
}

impl Pushes {
    fn next_request_id(&mut self) -> String {
        self.requests += 1;
        format!("{:08x}-5ca1-4e00-8000-{:012x}", self.requests, self.requests)
    }
}

impl FakeLine {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (pushes, released, in_flight) = (Arc::new(Mutex::new(Pushes::default())), Arc::new(Condvar::new()), Arc::new(AtomicUsize::new(0)));
        let (shared, waking, counting) = (pushes.clone(), released.clone(), in_flight.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (pushes, released, in_flight) = (shared.clone(), waking.clone(), counting.clone());
                std::thread::spawn(move || {
                    let _ = answer_line(stream, &pushes, &released, &in_flight);
                });
            }
        });
        Self { port, pushes, released, in_flight }
    }

    /// Pushes wait (read, not accepted) once `accepted` texts are, until [`FakeLine::release`].
    fn hold_after(&self, accepted: usize) {
        self.pushes.lock().unwrap().hold_after = Some(accepted);
    }

    fn release(&self) {
        self.pushes.lock().unwrap().hold_after = None;
        self.released.notify_all();
    }

    fn accepted(&self) -> Vec<String> {
        self.pushes.lock().unwrap().accepted.clone()
    }

    fn accepted_count(&self) -> usize {
        self.pushes.lock().unwrap().accepted.len()
    }

    fn attempts(&self) -> usize {
        self.pushes.lock().unwrap().attempts
    }

    fn conflicts(&self) -> usize {
        self.pushes.lock().unwrap().conflicts
    }

    /// Pushes started so far, and how many of them are being answered now.
    fn started(&self) -> (usize, usize) {
        let state = self.pushes.lock().unwrap();
        (state.attempts, self.in_flight.load(Ordering::SeqCst))
    }
}

fn answer_line(mut stream: TcpStream, pushes: &Mutex<Pushes>, released: &Condvar, in_flight: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let (mut length, mut retry_key) = (0, None);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("x-line-retry-key") {
                retry_key = Some(value.trim().to_owned());
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if !request_line.starts_with("POST /v2/bot/message/push") {
        let answer = if request_line.starts_with("GET /v2/bot/info") {
            r#"{"userId":"Ubot","basicId":"@toko","displayName":"Toko Budi","chatMode":"chat","markAsReadMode":"manual"}"#
        } else {
            r#"{"message":"Not found"}"#
        };
        return respond(&mut stream, "200 OK", &[], answer);
    }
    let push: Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = push["messages"][0]["text"].as_str().unwrap_or_default().to_owned();
    {
        // Counted together, so a reading of both (`FakeLine::started`) is consistent.
        let mut state = pushes.lock().unwrap();
        state.attempts += 1;
        in_flight.fetch_add(1, Ordering::SeqCst);
    }
    // The provider takes a while: a node killed meanwhile never hears that its push went out.
    std::thread::sleep(Duration::from_millis(100 + rand::random::<u64>() % 201));
    let mut state = pushes.lock().unwrap();
    while state.hold_after.is_some_and(|count| state.accepted.len() >= count) {
        state = released.wait(state).unwrap();
    }
    let request_id = state.next_request_id();
    let earlier = retry_key.as_ref().and_then(|key| state.keys.get(key).cloned());
    let (status, headers, answer) = match earlier {
        Some((accepted_request, message_id)) => {
            state.conflicts += 1;
            let answer = json!({"message": "The retry key is already accepted", "sentMessages": [{"id": message_id, "quoteToken": format!("q{message_id}")}]});
            ("409 Conflict", vec![("x-line-request-id", request_id), ("x-line-accepted-request-id", accepted_request)], answer.to_string())
        }
        None => {
            state.accepted.push(text);
            let message_id = (600_000_000_000_000_000u64 + state.accepted.len() as u64).to_string();
            if let Some(key) = retry_key {
                state.keys.insert(key, (request_id.clone(), message_id.clone()));
            }
            let answer = json!({"sentMessages": [{"id": message_id, "quoteToken": format!("q{message_id}")}]});
            ("200 OK", vec![("x-line-request-id", request_id)], answer.to_string())
        }
    };
    drop(state);
    in_flight.fetch_sub(1, Ordering::SeqCst);
    respond(&mut stream, status, &headers, &answer)
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &str) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n{body}")
}

const WEBHOOKS: usize = 600;
const USERS: usize = 30;
const ROUNDS: usize = 10;
const REPLIES: usize = USERS * ROUNDS;

fn webhook_text(i: usize) -> String {
    format!("pesan {i:04} dari pelanggan {:02}", i % USERS)
}

/// Webhook `i`: one customer's text message (no reply token: every answer is a push).
fn webhook_body(i: usize, since_ms: u64) -> String {
    let user = i % USERS;
    json!({"destination": "Ubot", "events": [{"type": "message", "timestamp": since_ms + i as u64,
        "webhookEventId": format!("01SCALEOUT{i:06}"), "source": {"type": "user", "userId": format!("U{user:032}")},
        "message": {"id": format!("5{i:08}"), "type": "text", "text": webhook_text(i)}}]})
    .to_string()
}

/// Of the first third, every tenth webhook goes to every node at once.
fn to_every_node(i: usize) -> bool {
    i < WEBHOOKS / 3 && i % 10 == 3
}

fn reply_text(conversation: i64, round: usize) -> String {
    format!("{conversation}:{round:02}")
}

/// An agent's reply queued through the node on `port`.
fn queue_reply(port: u16, token: &str, conversation: i64, round: usize) {
    let body = json!({"text": reply_text(conversation, round)}).to_string();
    let queued = request(port, "POST", &format!("/api/v1/conversations/{conversation}/messages"), Some(token), Some(&body)).unwrap();
    assert_eq!(status_of(&queued), 202, "{queued}");
}

/// What the provider saw of its webhooks.
#[derive(Default)]
struct Deliveries {
    acknowledged: HashSet<usize>,
    /// Not acknowledged by the node first tried (killed), then acknowledged by another.
    resent: usize,
    /// Acknowledged webhooks delivered again to another node, and how many of those got a 200.
    redelivered: usize,
    redelivered_acknowledged: usize,
    /// For each webhook sent to every node at once, how many nodes acknowledged it.
    at_once: Vec<usize>,
}

/// The same webhook to every node at once (threads released together); each node's status.
fn deliver_at_once(ports: &[u16], channel: &str, body: &str) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(ports.len()));
    let sends: Vec<_> = ports
        .iter()
        .map(|&port| {
            let (barrier, channel, body) = (barrier.clone(), channel.to_owned(), body.to_owned());
            std::thread::spawn(move || {
                barrier.wait();
                deliver_line(port, &channel, &body)
            })
        })
        .collect();
    sends.into_iter().map(|send| send.join().unwrap()).collect()
}

/// As a provider retries a webhook nobody acknowledged: to the live nodes in turn until one does.
fn resend_until_acknowledged(ports: &[u16], alive: &[AtomicBool], channel: &str, body: &str, start: usize) {
    let mut attempt = 0;
    wait_for(
        || {
            let live: Vec<usize> = (0..ports.len()).filter(|n| alive[*n].load(Ordering::SeqCst)).collect();
            let port = ports[live[(start + attempt) % live.len()]];
            attempt += 1;
            (deliver_line(port, channel, body) == 200).then_some(())
        },
        || format!("no live node acknowledged {body}"),
    );
}

#[test]
fn three_nodes_started_together_migrate_once_and_share_webhooks_and_replies_through_a_kill_9() {
    let _serial = one_at_a_time();
    let line = FakeLine::start();
    let allow = format!("127.0.0.1:{}", line.port);
    // A plugin timeout of 4 s: a send the fake never answers ends within the test's time.
    let mut cluster = Cluster::new("scaleout", 3, &[("SWITCHBOARD_ALLOW_OUTBOUND", &allow), ("SWITCHBOARD_PLUGIN_TIMEOUT_MS", "4000")]);
    cluster.start_all();
    let versions = count(&cluster.url, "SELECT COUNT(*) FROM schema_versions");
    let migrators = count(&cluster.url, "SELECT COUNT(DISTINCT applied_by) FROM schema_versions");
    let known = switchboard::store::pg::SCHEMA_VERSIONS as i64;
    assert_eq!((versions, migrators), (known, 1), "each schema version applied once, by one of the nodes started together");
    assert_eq!(count(&cluster.url, "SELECT COUNT(*) FROM schema_versions WHERE applied_by LIKE '%@127.0.0.1:%'"), known, "by a node (named by where it serves)");
    // They also raced to make the first operator account: one did.
    assert_eq!(count(&cluster.url, "SELECT COUNT(*) FROM people WHERE username = 'operator'"), 1);

    let settings = json!({"plugin": "line", "name": "Toko Budi", "settings": {"channel_secret": LINE_SECRET, "channel_access_token": "t", "api_base_url": format!("http://{allow}")}});
    let created = request(cluster.port(0), "POST", "/api/v1/channels", Some(&cluster.admin), Some(&settings.to_string())).unwrap();
    assert_eq!(status_of(&created), 201, "{created}");
    let channel = json_of(&created)["id"].as_str().unwrap().to_owned();

    // 600 webhooks, round-robin over the nodes from six threads; node 2 is killed a third of the way in.
    let since_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let ports: Vec<u16> = (0..3).map(|i| cluster.port(i)).collect();
    let alive: Arc<Vec<AtomicBool>> = Arc::new((0..3).map(|_| AtomicBool::new(true)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    // The last two thirds wait for the kill: it lands a third of the way in by construction.
    let node_2_killed = Arc::new(AtomicBool::new(false));
    let deliveries = Arc::new(Mutex::new(Deliveries::default()));
    let webhooks_started = Instant::now();
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (ports, alive, next, deliveries, channel, killed) =
                (ports.clone(), alive.clone(), next.clone(), deliveries.clone(), channel.clone(), node_2_killed.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= WEBHOOKS {
                        break;
                    }
                    while i >= WEBHOOKS / 3 && !killed.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    let body = webhook_body(i, since_ms);
                    let first = i % ports.len();
                    let acknowledged = if to_every_node(i) {
                        let statuses = deliver_at_once(&ports, &channel, &body);
                        let acknowledged = statuses.iter().filter(|s| **s == 200).count();
                        deliveries.lock().unwrap().at_once.push(acknowledged);
                        acknowledged > 0
                    } else {
                        deliver_line(ports[first], &channel, &body) == 200
                    };
                    if !acknowledged {
                        resend_until_acknowledged(&ports, &alive, &channel, &body, first + 1);
                        deliveries.lock().unwrap().resent += 1;
                    }
                    // One in five is delivered again, to another node (LINE redelivers).
                    let again = (i % 5 == 0 && !to_every_node(i)).then(|| deliver_line(ports[(first + 1) % ports.len()], &channel, &body));
                    let mut record = deliveries.lock().unwrap();
                    record.acknowledged.insert(i);
                    if let Some(status) = again {
                        record.redelivered += 1;
                        record.redelivered_acknowledged += usize::from(status == 200);
                    }
                }
            })
        })
        .collect();
    wait_for(
        || (next.load(Ordering::SeqCst) >= WEBHOOKS / 3 || workers.iter().any(std::thread::JoinHandle::is_finished)).then_some(()),
        || format!("the webhooks did not get a third of the way\n{}", cluster.logs()),
    );
    alive[1].store(false, Ordering::SeqCst);
    cluster.kill(1);
    let acknowledged_at_kill = deliveries.lock().unwrap().acknowledged.len();
    node_2_killed.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.join().unwrap();
    }
    let webhooks_took = webhooks_started.elapsed();
    let deliveries = std::mem::take(&mut *deliveries.lock().unwrap());
    assert_eq!(deliveries.acknowledged.len(), WEBHOOKS, "every webhook was acknowledged in the end");
    assert!(deliveries.resent > 0, "webhooks meant for the killed node were resent to a live one");
    assert!(acknowledged_at_kill < WEBHOOKS, "killed partway ({acknowledged_at_kill} acknowledged)");

    // Every acknowledged webhook is stored exactly once, as a live node tells.
    let conversations = conversation_ids(cluster.port(2), &cluster.admin, &channel);
    assert_eq!(conversations.len(), USERS, "one conversation per customer");
    let mut stored: HashMap<String, usize> = HashMap::new();
    for conversation in &conversations {
        for message in messages_of(cluster.port(2), &cluster.admin, *conversation) {
            if message["direction"] == "inbound" {
                *stored.entry(message["text"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
            }
        }
    }
    let twice: BTreeMap<&String, &usize> = stored.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let missing: Vec<usize> = (0..WEBHOOKS).filter(|i| !stored.contains_key(&webhook_text(*i))).collect();
    assert!(missing.is_empty(), "acknowledged but not stored: {missing:?}");
    assert_eq!(stored.len(), WEBHOOKS, "nothing else was stored: {stored:?}");
    println!(
        "{WEBHOOKS} webhooks over 3 nodes in {:.1} s: node 2 killed after {acknowledged_at_kill} were acknowledged, {} resent to a live node, \
         {} redelivered to another node ({} acknowledged), {} sent to every node at once (nodes acknowledging each: {:?}); each stored once",
        webhooks_took.as_secs_f64(),
        deliveries.resent,
        deliveries.redelivered,
        deliveries.redelivered_acknowledged,
        deliveries.at_once.len(),
        deliveries.at_once,
    );

    // 300 replies, 10 per conversation. Node 2, started again, sends its share: the first two
    // rounds are queued through every node (a node's outbox is woken by what it queues), the
    // rest through nodes 1 and 3 while node 2 is killed partway and started once more.
    cluster.start(1);
    for round in 0..2 {
        for (k, conversation) in conversations.iter().enumerate() {
            queue_reply(cluster.port((k + round) % 3), &cluster.admin, *conversation, round);
        }
    }
    // Once half the second round is accepted (or at once, if it is already), pushes wait until
    // the kill: it lands partway by construction, with sends in flight.
    line.hold_after(USERS * 3 / 2);
    let queueing = {
        let (live_ports, admin, conversations) = ([cluster.port(0), cluster.port(2)], cluster.admin.clone(), conversations.clone());
        std::thread::spawn(move || {
            for round in 2..ROUNDS {
                for (k, conversation) in conversations.iter().enumerate() {
                    queue_reply(live_ports[(k + round) % 2], &admin, *conversation, round);
                }
            }
        })
    };
    // Killed halfway through the second round: every node has sends in flight.
    wait_for(|| (line.accepted_count() >= USERS * 3 / 2).then_some(()), || format!("the replies did not go out\n{}", cluster.logs()));
    // The pushes the killed node may have had in flight: those being answered before the kill,
    // and any started until it was dead.
    let (started_before, in_flight_before) = line.started();
    // What node 2 holds when it dies: its claims, and when each would lapse unrenewed.
    let node_2 = format!("%@127.0.0.1:{}", cluster.port(1));
    cluster.kill(1);
    let killed = Instant::now();
    let dead_claims = claims_of(&cluster.url, &node_2);
    let in_flight_at_kill = in_flight_before + (line.started().0 - started_before);
    let accepted_at_kill = line.accepted_count();
    // A killed node's claims are taken over once their lease (6 s from its last renewal) runs
    // out: each is sent or claimed afresh by a live node within 10 s of the kill. Watched from
    // the kill on, beside what follows (node 2's restart), so that the time measured is the
    // takeover's, not the restart's on a loaded machine.
    let takeover = {
        let (url, claims) = (cluster.url.clone(), dead_claims.clone());
        std::thread::spawn(move || wait_for(|| taken_over(&url, &claims).then(|| killed.elapsed()), || format!("node 2's claims {claims:?} were not taken over")))
    };
    line.release();
    std::thread::sleep(Duration::from_secs(1));
    cluster.start(1);
    queueing.join().unwrap();
    assert!(accepted_at_kill < REPLIES, "killed partway ({accepted_at_kill} of {REPLIES} accepted)");

    assert!(!dead_claims.is_empty(), "node 2 had sends in flight when it was killed\n{}", cluster.logs());
    // (The watcher's panic, printed above, says what it waited for; the logs follow here.)
    let taken_over_after = takeover.join().unwrap_or_else(|_| panic!("watching node 2's claims {dead_claims:?} failed\n{}", cluster.logs()));
    assert!(taken_over_after <= Duration::from_secs(10), "node 2's {} claims taken over {taken_over_after:?} after the kill (at most 10 s)", dead_claims.len());
    let distinct = || line.accepted().into_iter().collect::<HashSet<String>>().len();
    wait_for(|| (distinct() == REPLIES).then_some(()), || format!("{} of {REPLIES} replies accepted after the kill\n{}", distinct(), cluster.logs()));
    let all_out_after = killed.elapsed();
    // None stuck: every reply shows `sent` (asked of node 2, started again).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        for conversation in &conversations {
            for message in messages_of(cluster.port(1), &cluster.admin, *conversation) {
                if message["direction"] == "outbound" {
                    *statuses.entry(message["status"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
                }
            }
        }
        if statuses.len() == 1 && statuses.get("sent") == Some(&REPLIES) {
            break;
        }
        assert!(Instant::now() < deadline, "the replies' statuses: {statuses:?}; all {REPLIES} should be sent\n{}", cluster.logs());
        std::thread::sleep(Duration::from_millis(200));
    }

    let accepted = line.accepted();
    assert_eq!(accepted.len(), REPLIES, "each reply accepted once: the retry key was the same on every attempt");
    let (attempts, conflicts) = (line.attempts(), line.conflicts());
    let repeated = attempts - accepted.len();
    assert!(repeated <= in_flight_at_kill, "only sends in flight at the kill may go twice: {repeated} pushes repeated, {in_flight_at_kill} were in flight");
    assert_eq!(conflicts, repeated, "every repeat was answered as one (its key accepted before), never accepted again");
    // Each conversation's replies, as accepted, in the order queued (whichever node sent them).
    for conversation in &conversations {
        let prefix = format!("{conversation}:");
        let seen: Vec<&String> = accepted.iter().filter(|text| text.starts_with(&prefix)).collect();
        let expected: Vec<String> = (0..ROUNDS).map(|round| reply_text(*conversation, round)).collect();
        assert_eq!(seen, expected.iter().collect::<Vec<_>>(), "conversation {conversation} in order");
    }
    println!(
        "{REPLIES} replies with a 100-300 ms provider: node 2 killed after {accepted_at_kill} were accepted ({in_flight_at_kill} pushes in flight on all nodes); \
         its {} claims taken over {:.1} s after the kill; all accepted {:.1} s after the kill, each once; {attempts} pushes, {repeated} repeated ({conflicts} answered 409: key accepted before)",
        dead_claims.len(),
        taken_over_after.as_secs_f64(),
        all_out_after.as_secs_f64()
    );
}

/// A server-sent event stream read off a raw connection (chunked or not).
struct EventStream {
    socket: TcpStream,
    reader: BufReader<TcpStream>,
    chunked: bool,
    buffer: Vec<u8>,
}

impl EventStream {
    fn open(port: u16, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
        socket.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        socket.write_all(format!("{head}\r\n").as_bytes()).unwrap();
        let mut reader = BufReader::new(socket.try_clone().unwrap());
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let (mut chunked, mut content_type, mut seen) = (false, String::new(), status.clone());
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            seen.push_str(&line);
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.trim() {
                    "transfer-encoding" => chunked = value.contains("chunked"),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
        }
        assert!(status.starts_with("HTTP/1.1 200") && content_type.starts_with("text/event-stream"), "{seen}");
        Self { socket, reader, chunked, buffer: Vec::new() }
    }

    /// The next event (its type and data) before `deadline`, skipping keep-alive comments;
    /// `None` when the deadline passes first.
    fn next(&mut self, deadline: Instant) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let (mut kind, mut data) = ("message".to_owned(), String::new());
                for line in String::from_utf8_lossy(&block).lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        kind = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.strip_prefix(' ').unwrap_or(value));
                    }
                }
                if !data.is_empty() {
                    let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    return Some((kind, data));
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.socket.set_read_timeout(Some(left)).unwrap();
            match self.read_some() {
                Ok(bytes) => self.buffer.extend_from_slice(&bytes),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return None,
                Err(e) => panic!("the event stream broke: {e}; unread: {:?}", String::from_utf8_lossy(&self.buffer)),
            }
        }
    }

    /// The next bytes of the body (one chunk when chunked).
    fn read_some(&mut self) -> std::io::Result<Vec<u8>> {
        let ended = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the stream ended");
        if !self.chunked {
            let mut bytes = vec![0; 8192];
            let read = self.reader.read(&mut bytes)?;
            if read == 0 {
                return Err(ended());
            }
            bytes.truncate(read);
            return Ok(bytes);
        }
        let mut size = String::new();
        if self.reader.read_line(&mut size)? == 0 {
            return Err(ended());
        }
        let hex = size.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(hex, 16).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("chunk size {size:?}: {e}")))?;
        if size == 0 {
            return Err(ended());
        }
        // The chunk and the line end after it.
        let mut bytes = vec![0; size + 2];
        self.reader.read_exact(&mut bytes)?;
        bytes.truncate(size);
        Ok(bytes)
    }
}

/// A page of the shop's website (only sent as `Origin`: nothing is fetched from it).
const SITE: &str = "https://www.tokobudi.co.id";

#[test]
fn a_reply_sent_through_node_3_reaches_a_website_chat_stream_on_node_1() {
    let _serial = one_at_a_time();
    let mut cluster = Cluster::new("webchat", 3, &[]);
    // Nodes 1 and 3 are enough to cross nodes; node 2 stays down.
    cluster.start(0);
    cluster.start(2);
    let (node_1, node_3) = (cluster.port(0), cluster.port(2));
    let settings = json!({"plugin": "webchat", "name": "Toko Budi", "settings": {"domain": "tokobudi.co.id"}});
    let created = request(node_1, "POST", "/api/v1/channels", Some(&cluster.admin), Some(&settings.to_string())).unwrap();
    assert_eq!(status_of(&created), 201, "{created}");
    let channel = json_of(&created)["id"].as_str().unwrap().to_owned();

    // The visitor's page talks to node 1: a session, a message, then the live stream.
    let session = request_with(node_1, "POST", &format!("/webchat/{channel}/session"), &[("origin", SITE)], "{}").unwrap();
    assert_eq!(status_of(&session), 200, "{session}");
    let bearer = format!("Bearer {}", json_of(&session)["token"].as_str().unwrap());
    let visitor = [("origin", SITE), ("authorization", bearer.as_str())];
    let message = json!({"client_id": "c-0000000001", "text": "Halo kak, ukuran XL masih ada?"}).to_string();
    let written = request_with(node_1, "POST", &format!("/webchat/{channel}/messages"), &visitor, &message).unwrap();
    assert_eq!(status_of(&written), 201, "{written}");
    let mut stream = EventStream::open(node_1, &format!("/webchat/{channel}/stream"), &visitor);
    let first = stream.next(Instant::now() + PATIENCE);
    let Some((kind, snapshot)) = first else { panic!("no snapshot on node 1\n{}", cluster.logs()) };
    assert_eq!(kind, "snapshot", "{snapshot}");
    assert_eq!(snapshot["messages"].as_array().map(Vec::len), Some(1), "the visitor's message: {snapshot}");

    // The agent answers through node 3.
    let conversations = conversation_ids(node_3, &cluster.admin, &channel);
    assert_eq!(conversations.len(), 1, "node 3 sees the visitor's conversation: {conversations:?}");
    let text = "Masih ada, kak. Dikirim hari ini.";
    let path = format!("/api/v1/conversations/{}/messages", conversations[0]);
    let queued = request(node_3, "POST", &path, Some(&cluster.admin), Some(&json!({"text": text}).to_string())).unwrap();
    let sent = Instant::now();
    assert_eq!(status_of(&queued), 202, "{queued}");
    let reply = json_of(&queued)["id"].as_i64();

    let deadline = sent + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let Some((kind, data)) = stream.next(deadline) else {
            panic!("no `message` event with the reply on node 1 in {PATIENCE:?}; seen: {seen:?}\n{}", cluster.logs());
        };
        if kind == "message" && data["text"] == text {
            assert_eq!((data["id"].as_i64(), data["from"].as_str()), (reply, Some("agent")), "{data}");
            break;
        }
        seen.push((kind, data));
    }
    println!("a reply queued through node 3 reached the visitor's stream on node 1 {} ms later", sent.elapsed().as_millis());
}

fn upload(port: u16, token: &str, component: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "POST /api/v1/plugins HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/wasm\r\nContent-Length: {}\r\n\r\n",
        component.len()
    )
    .unwrap();
    stream.write_all(component).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn a_plugin_uploaded_on_node_1_is_live_on_nodes_2_and_3_within_5_s_and_removed_through_node_2_everywhere() {
    let _serial = one_at_a_time();
    let mut cluster = Cluster::new("plugins", 3, &[("SWITCHBOARD_ALLOW_UNSIGNED_PLUGINS", "true")]);
    cluster.start_all();
    let (component, built_in, next) = telegram_next_version();
    for node in 0..3 {
        assert_eq!(plugin_version(cluster.port(node), &cluster.operator, "telegram").as_deref(), Some(built_in.as_str()), "node {} before the upload", node + 1);
    }

    let answer = approved_over_the_built_in(cluster.port(0), &cluster.operator, upload(cluster.port(0), &cluster.operator, &component));
    let uploaded = Instant::now();
    assert_eq!(json_of(&answer)["version"], next.as_str(), "{answer}");

    // Nodes 2 and 3, asked every 50 ms.
    let mut live_after: [Option<Duration>; 2] = [None, None];
    while live_after.iter().any(Option::is_none) {
        for (slot, node) in [1, 2].into_iter().enumerate() {
            if live_after[slot].is_none() && plugin_version(cluster.port(node), &cluster.operator, "telegram").as_deref() == Some(next.as_str()) {
                live_after[slot] = Some(uploaded.elapsed());
            }
        }
        if live_after.iter().any(Option::is_none) {
            assert!(uploaded.elapsed() < Duration::from_secs(5), "telegram {next} not live on every node 5 s after the upload: {live_after:?}\n{}", cluster.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let [on_2, on_3] = live_after.map(|after| after.unwrap());
    assert!(on_2.max(on_3) <= Duration::from_secs(5), "node 2 after {on_2:?}, node 3 after {on_3:?}");
    println!("telegram {next} uploaded to node 1: live on node 2 after {} ms, on node 3 after {} ms", on_2.as_millis(), on_3.as_millis());

    // Removed through node 2: every node serves the built-in again.
    let removed = request(cluster.port(1), "DELETE", "/api/v1/plugins/telegram", Some(&cluster.operator), None).unwrap();
    assert_eq!(status_of(&removed), 204, "{removed}");
    let removed_at = Instant::now();
    while (0..3).any(|node| plugin_version(cluster.port(node), &cluster.operator, "telegram").as_deref() != Some(built_in.as_str())) {
        assert!(removed_at.elapsed() < Duration::from_secs(5), "telegram {next} still served 5 s after its removal\n{}", cluster.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    let gone_after = removed_at.elapsed();

    // Node 3 down while it is installed again: it loads it when it starts.
    cluster.kill(2);
    approved_over_the_built_in(cluster.port(0), &cluster.operator, upload(cluster.port(0), &cluster.operator, &component));
    cluster.start(2);
    assert_eq!(plugin_version(cluster.port(2), &cluster.operator, "telegram").as_deref(), Some(next.as_str()), "installed while node 3 was down: loaded at its start");
    // Node 3 down while it is removed: its copy does not come back when it starts.
    cluster.kill(2);
    let removed = request(cluster.port(0), "DELETE", "/api/v1/plugins/telegram", Some(&cluster.operator), None).unwrap();
    assert_eq!(status_of(&removed), 204, "{removed}");
    cluster.start(2);
    assert_eq!(plugin_version(cluster.port(2), &cluster.operator, "telegram").as_deref(), Some(built_in.as_str()), "removed while node 3 was down: the built-in at its start");
    println!("removed through node 2: the built-in served again on every node after {} ms", gone_after.as_millis());
}

/// An upload or install of the next Telegram, unsigned over the built-in: it waits for the
/// operator (another signer), who approves it through the same node; the approval's answer.
fn approved_over_the_built_in(port: u16, operator: &str, answer: String) -> String {
    assert_eq!(status_of(&answer), 202, "waits for approval (unsigned over the built-in): {answer}");
    assert_eq!(json_of(&answer)["review"]["replaces_signer"], "built-in", "{answer}");
    let approved = request(port, "POST", "/api/v1/plugin-reviews/telegram/approve", Some(operator), Some("{}")).unwrap();
    assert!(matches!(status_of(&approved), 200 | 201), "live once approved: {approved}");
    approved
}

/// How long after `since` each of `nodes` (from 0) first passed `check`, asked every 50 ms;
/// past `bound`, a panic naming `what` with the nodes' logs.
fn on_every_node_within(cluster: &Cluster, nodes: &[usize], since: Instant, bound: Duration, what: &str, check: impl Fn(usize) -> bool) -> Vec<Duration> {
    let mut after: Vec<Option<Duration>> = vec![None; nodes.len()];
    loop {
        for (slot, &node) in nodes.iter().enumerate() {
            if after[slot].is_none() && check(node) {
                after[slot] = Some(since.elapsed());
            }
        }
        if after.iter().all(Option::is_some) {
            return after.into_iter().flatten().collect();
        }
        let seen: Vec<String> = nodes.iter().zip(&after).map(|(node, after)| format!("node {}: {after:?}", node + 1)).collect();
        assert!(since.elapsed() < bound, "{what}: not on every node {bound:?} after ({})\n{}", seen.join(", "), cluster.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plugin installed from an OCI registry through one node, as the upload above: the next
/// Telegram pushed to a real registry (`docker-registry` on loopback), installed on node 1 by
/// `POST /api/v1/plugins {"source": "oci://…:^0.1"}` (a range), live on nodes 2 and 3 within the
/// same 5 s. Where it came from is the same on every node: the record beside each node's copy
/// (`plugins/telegram.source`), the catalogue each node answers (`--catalogue` lists the
/// repository: installed there, as telegram at the new version), and the one
/// `plugin_components.source` in the database. Removed through node 3, it is gone everywhere,
/// its record and the catalogue's match with it.
#[test]
fn a_plugin_installed_from_a_registry_through_node_1_is_live_on_nodes_2_and_3_with_the_same_source_and_removed_through_node_3_everywhere() {
    let _serial = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let registry = runtime.block_on(OciRegistry::start());
    let (component, built_in, next) = telegram_next_version();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("telegram.wasm");
    std::fs::write(&file, &component).unwrap();
    runtime.block_on(registry.push("plugins/telegram", file.to_str().unwrap(), &next));
    let repository = format!("oci://{}/plugins/telegram", registry.authority);
    let version = semver::Version::parse(&next).unwrap();
    let range = format!("{repository}:^{}.{}", version.major, version.minor);
    let mut cluster = Cluster::new(
        "registry",
        3,
        &[
            ("SWITCHBOARD_ALLOW_UNSIGNED_PLUGINS", "true"),
            ("SWITCHBOARD_ALLOW_OUTBOUND", registry.authority.as_str()),
            ("SWITCHBOARD_CATALOGUE", repository.as_str()),
        ],
    );
    cluster.start_all();
    let record = |node: usize| cluster.dirs[node].path().join("plugins").join("telegram.source");
    for node in 0..3 {
        assert_eq!(plugin_version(cluster.port(node), &cluster.operator, "telegram").as_deref(), Some(built_in.as_str()), "node {} before the install", node + 1);
        let catalogue = get_json(cluster.port(node), &cluster.operator, "/api/v1/catalogue");
        assert_eq!((&catalogue[0]["source"], &catalogue[0]["plugin"], &catalogue[0]["versions"]), (&json!(repository), &Value::Null, &json!([next])), "node {}: {catalogue}", node + 1);
    }

    let answer = approved_over_the_built_in(cluster.port(0), &cluster.operator, install_from_registry(cluster.port(0), &cluster.operator, &range));
    let installed = Instant::now();
    assert_eq!(json_of(&answer)["version"], next.as_str(), "{answer}");
    let live = on_every_node_within(&cluster, &[1, 2], installed, Duration::from_secs(5), &format!("telegram {next} from {repository}"), |node| {
        plugin_version(cluster.port(node), &cluster.operator, "telegram").as_deref() == Some(next.as_str())
    });
    println!("telegram {next} installed from {range} on node 1: live on node 2 after {} ms, on node 3 after {} ms", live[0].as_millis(), live[1].as_millis());

    // Where it came from, the same everywhere.
    let entry = json!([{"source": repository, "plugin": "telegram", "installed": next, "versions": [next], "newest_compatible": null, "newest": next, "error": null}]);
    for node in 0..3 {
        let recorded = std::fs::read_to_string(record(node)).unwrap_or_else(|e| panic!("node {}: {}: {e}", node + 1, record(node).display()));
        assert_eq!(recorded.trim(), repository, "node {}", node + 1);
        assert_eq!(get_json(cluster.port(node), &cluster.operator, "/api/v1/catalogue"), entry, "node {}", node + 1);
    }
    let stored = read_database(&cluster.url, async |client| {
        let rows = client.query("SELECT version, source FROM plugin_components WHERE plugin = 'telegram'", &[]).await.unwrap();
        rows.iter().map(|row| (row.get::<_, String>(0), row.get::<_, Option<String>>(1))).collect::<Vec<_>>()
    });
    assert_eq!(stored, [(next.clone(), Some(repository.clone()))], "one version stored, with the repository it came from");

    // Removed through node 3: the built-in everywhere, no record left, the catalogue's match gone.
    let removed = request(cluster.port(2), "DELETE", "/api/v1/plugins/telegram", Some(&cluster.operator), None).unwrap();
    assert_eq!(status_of(&removed), 204, "{removed}");
    let removed_at = Instant::now();
    let gone = on_every_node_within(&cluster, &[0, 1, 2], removed_at, Duration::from_secs(5), &format!("the removal of telegram {next}"), |node| {
        plugin_version(cluster.port(node), &cluster.operator, "telegram").as_deref() == Some(built_in.as_str()) && !record(node).exists()
    });
    let entry = json!([{"source": repository, "plugin": null, "installed": null, "versions": [next], "newest_compatible": null, "newest": next, "error": null}]);
    for node in 0..3 {
        assert_eq!(get_json(cluster.port(node), &cluster.operator, "/api/v1/catalogue"), entry, "node {}", node + 1);
    }
    assert_eq!(count(&cluster.url, "SELECT count(*) FROM plugin_components WHERE plugin = 'telegram'"), 0);
    println!("removed through node 3: the built-in served again and the record gone on every node after {} ms", gone.iter().max().unwrap().as_millis());
}

#[test]
fn a_node_whose_postgres_goes_down_answers_503_meanwhile_and_recovers_by_itself_losing_nothing_acknowledged() {
    let _serial = one_at_a_time();
    let line = FakeLine::start();
    let allow = format!("127.0.0.1:{}", line.port);
    let mut cluster = Cluster::new("cut", 1, &[("SWITCHBOARD_ALLOW_OUTBOUND", &allow)]);
    cluster.start(0);
    let settings = json!({"plugin": "line", "name": "Toko Budi", "settings": {"channel_secret": LINE_SECRET, "channel_access_token": "t", "api_base_url": format!("http://{allow}")}});
    let created = request(cluster.port(0), "POST", "/api/v1/channels", Some(&cluster.admin), Some(&settings.to_string())).unwrap();
    assert_eq!(status_of(&created), 201, "{created}");
    let channel = json_of(&created)["id"].as_str().unwrap().to_owned();
    let since_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;

    // Webhooks under load from one sender while Postgres goes down and comes back.
    let (port, stop) = (cluster.port(0), Arc::new(AtomicBool::new(false)));
    let outcomes = Arc::new(Mutex::new(Vec::<(usize, u16)>::new()));
    let sender = {
        let (channel, stop, outcomes) = (channel.clone(), stop.clone(), outcomes.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let status = deliver_line(port, &channel, &webhook_body(i, since_ms));
                outcomes.lock().unwrap().push((i, status));
                i += 1;
            }
        })
    };
    let answered = |status: u16| outcomes.lock().unwrap().iter().filter(|(_, s)| *s == status).count();
    wait_for(|| (answered(200) >= 50).then_some(()), || format!("no load before the cut\n{}", cluster.logs()));
    cluster.postgres.stop();
    wait_for(|| (answered(503) >= 5).then_some(()), || format!("webhooks were not refused with 503 while Postgres was down\n{}", cluster.logs()));
    let readiness = request(port, "GET", "/readyz", None, None).unwrap();
    assert_eq!(status_of(&readiness), 503, "not ready while its database is down: {readiness}");
    let acknowledged_before = answered(200);
    cluster.postgres.start_again();
    // Recovered by itself: the same process takes webhooks again.
    wait_for(|| (answered(200) >= acknowledged_before + 50).then_some(()), || format!("the node did not recover\n{}", cluster.logs()));
    stop.store(true, Ordering::SeqCst);
    sender.join().unwrap();
    wait_for(|| (status_of(&request(port, "GET", "/readyz", None, None).unwrap()) == 200).then_some(()), || "not ready again".into());

    let outcomes = outcomes.lock().unwrap().clone();
    let unexpected: Vec<&(usize, u16)> = outcomes.iter().filter(|(_, s)| !matches!(s, 200 | 503)).collect();
    assert!(unexpected.is_empty(), "only 200 or 503 (the provider retries): {unexpected:?}");
    let mut stored: Vec<String> = Vec::new();
    for conversation in conversation_ids(port, &cluster.admin, &channel) {
        stored.extend(messages_of(port, &cluster.admin, conversation).iter().filter_map(|m| m["text"].as_str().map(str::to_owned)));
    }
    for (i, _) in outcomes.iter().filter(|(_, s)| *s == 200) {
        let text = webhook_text(*i);
        assert_eq!(stored.iter().filter(|t| **t == text).count(), 1, "acknowledged webhook {i} stored once");
    }
    println!("Postgres down mid-load: {} acknowledged, {} refused with 503, all acknowledged stored", answered_in(&outcomes, 200), answered_in(&outcomes, 503));
}

fn answered_in(outcomes: &[(usize, u16)], status: u16) -> usize {
    outcomes.iter().filter(|(_, s)| *s == status).count()
}

/// An event webhook receiver on loopback that holds every request until the test releases it
/// (so deliveries are in flight when a node is killed): what it accepted, as (`webhook-id`, body).
struct SlowReceiver {
    port: u16,
    accepted: Arc<Mutex<Vec<(String, Value)>>>,
    in_flight: Arc<AtomicUsize>,
    released: Arc<AtomicBool>,
}

impl SlowReceiver {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, in_flight, released) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (kept, busy, free) = (accepted.clone(), in_flight.clone(), released.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (kept, busy, free) = (kept.clone(), busy.clone(), free.clone());
                std::thread::spawn(move || {
                    let _ = Self::answer(stream, &kept, &busy, &free);
                });
            }
        });
        Self { port, accepted, in_flight, released }
    }

    fn answer(mut stream: TcpStream, kept: &Mutex<Vec<(String, Value)>>, busy: &AtomicUsize, released: &AtomicBool) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let (mut length, mut id) = (0usize, String::new());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "webhook-id" => id = value.trim().to_owned(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        busy.fetch_add(1, Ordering::SeqCst);
        while !released.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        busy.fetch_sub(1, Ordering::SeqCst);
        respond(&mut stream, "200 OK", &[], "ok")?;
        kept.lock().unwrap().push((id, serde_json::from_slice(&body).unwrap_or(Value::Null)));
        Ok(())
    }
}

#[test]
fn event_webhooks_from_two_nodes_survive_a_kill_9_of_the_one_sending_none_lost_each_conversation_in_order_duplicates_only_with_the_same_id() {
    let _serial = one_at_a_time();
    let receiver = SlowReceiver::start();
    let allow = format!("127.0.0.1:{}", receiver.port);
    let mut cluster = Cluster::new("eventhooks", 2, &[("SWITCHBOARD_ALLOW_OUTBOUND", &allow)]);
    cluster.start_all();
    let (node_1, node_2) = (cluster.port(0), cluster.port(1));
    let hook = json!({"url": format!("http://{allow}/hook"), "events": ["message.received"]}).to_string();
    let created = request(node_1, "POST", "/api/v1/webhook-endpoints", Some(&cluster.admin), Some(&hook)).unwrap();
    assert_eq!(status_of(&created), 201, "{created}");
    let settings = json!({"plugin": "webchat", "name": "Toko Budi", "settings": {"domain": "tokobudi.co.id"}});
    let channel = request(node_1, "POST", "/api/v1/channels", Some(&cluster.admin), Some(&settings.to_string())).unwrap();
    assert_eq!(status_of(&channel), 201, "{channel}");
    let channel = json_of(&channel)["id"].as_str().unwrap().to_owned();

    // Three visitors write eight messages each, through either node.
    let (visitors, each) = (3, 8);
    let mut bearers = Vec::new();
    for _ in 0..visitors {
        let session = request_with(node_1, "POST", &format!("/webchat/{channel}/session"), &[("origin", SITE)], "{}").unwrap();
        assert_eq!(status_of(&session), 200, "{session}");
        bearers.push(format!("Bearer {}", json_of(&session)["token"].as_str().unwrap()));
    }
    for n in 0..each {
        for (v, bearer) in bearers.iter().enumerate() {
            let port = if (n + v) % 2 == 0 { node_1 } else { node_2 };
            let message = json!({"client_id": format!("c-{v:04}-{n:04}"), "text": format!("visitor {v} message {n}")}).to_string();
            let written = request_with(port, "POST", &format!("/webchat/{channel}/messages"), &[("origin", SITE), ("authorization", bearer.as_str())], &message).unwrap();
            assert_eq!(status_of(&written), 201, "{written}");
        }
    }

    // The node holding a delivery the receiver holds unanswered dies; then the receiver answers.
    let holder = wait_for(
        || {
            let claimed: Option<String> = read_database(&cluster.url, async |client| {
                let sql = "SELECT claimed_by FROM webhook_deliveries WHERE state = 'pending' AND claimed_by IS NOT NULL LIMIT 1";
                client.query_opt(sql, &[]).await.unwrap().map(|row| row.get(0))
            });
            let node = claimed.and_then(|name| [node_1, node_2].iter().position(|port| name.ends_with(&format!(":{port}"))));
            node.filter(|_| receiver.in_flight.load(Ordering::SeqCst) > 0)
        },
        || format!("no node held a delivery in flight\n{}", cluster.logs()),
    );
    cluster.kill(holder);
    receiver.released.store(true, Ordering::SeqCst);
    let killed = Instant::now();

    // Node 1 sends the rest, node 2's claims once their lease lapsed: every message arrives.
    let texts = |accepted: &[(String, Value)]| -> HashSet<String> {
        accepted.iter().filter_map(|(_, e)| e["data"]["message"]["text"].as_str().map(str::to_owned)).collect()
    };
    wait_for(
        || (texts(&receiver.accepted.lock().unwrap()).len() == visitors * each).then_some(()),
        || format!("only {} of {} events arrived\n{}", texts(&receiver.accepted.lock().unwrap()).len(), visitors * each, cluster.logs()),
    );
    println!("every event arrived {} ms after node {} was killed", killed.elapsed().as_millis(), holder + 1);
    let accepted = receiver.accepted.lock().unwrap().clone();
    // A duplicate (a send in flight at the kill, sent again) carries the same webhook-id.
    let mut id_of_text: HashMap<String, String> = HashMap::new();
    for (id, event) in &accepted {
        let text = event["data"]["message"]["text"].as_str().unwrap().to_owned();
        let first = id_of_text.entry(text.clone()).or_insert_with(|| id.clone());
        assert_eq!(first, id, "{text} arrived twice with different webhook-ids");
    }
    println!("{} deliveries accepted for {} events", accepted.len(), visitors * each);
    // Each visitor's messages arrived in the order they were written (first arrivals).
    for v in 0..visitors {
        let prefix = format!("visitor {v} ");
        let mut order: Vec<usize> = Vec::new();
        for (_, event) in &accepted {
            let text = event["data"]["message"]["text"].as_str().unwrap();
            if let Some(n) = text.strip_prefix(&prefix).and_then(|rest| rest.strip_prefix("message ")).and_then(|n| n.parse().ok())
                && !order.contains(&n)
            {
                order.push(n);
            }
        }
        assert_eq!(order, (0..each).collect::<Vec<_>>(), "visitor {v}'s messages in order");
    }
}
