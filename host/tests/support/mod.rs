//! What the binary's tests share: a running `switchboard serve`, the CLI, and raw HTTP on loopback.
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod postgres;
/// The OCI registry the end-to-end tests start (`tests/src/oci_registry.rs`), one file for both.
#[path = "../../../tests/src/oci_registry.rs"]
pub mod oci_registry;
/// The compile cache every server starts with unless a test gives its own
/// (`SWITCHBOARD_COMPILE_CACHE`; a server with a fresh data dir would otherwise compile the nine
/// plugins again): the end-to-end suite's. Tests of a cold start or of the cache itself give the
/// data dir's ([`own_compile_cache`], the default outside the tests).
#[path = "../../../tests/src/compile_cache.rs"]
pub mod compile_cache;
pub use compile_cache::shared_compile_cache;

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// How long a test waits for something that must happen but comes later on a loaded machine (a
/// server start compiling every plugin, a delivery, a log line, a node taking over): generous on
/// purpose, since a wait ends as soon as its condition holds and only a failing test waits this
/// long. Not for product promises measured in time (those keep their own bound).
pub const PATIENCE: Duration = Duration::from_secs(240);

/// Polls `check` every 20 ms until it gives a value; after [`PATIENCE`], panics with what
/// `failure` says (what was awaited, and what was seen).
pub fn wait_for<T>(mut check: impl FnMut() -> Option<T>, failure: impl FnOnce() -> String) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("waited {PATIENCE:?}: {}", failure());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `SWITCHBOARD_COMPILE_CACHE` at `data`'s own cache, for a test of a cold start or of the cache.
pub fn own_compile_cache(data: &Path) -> String {
    switchboard::data_dir::cache_dir(data).to_str().expect("a UTF-8 temp path").to_owned()
}

pub use postgres::ports::free_port;

pub fn cli(args: &[&str], data_dir: &Path) -> (bool, String, String) {
    let output = Command::new(BIN).args(args).arg("--data-dir").arg(data_dir).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

pub fn token(role: &str, data_dir: &Path) -> String {
    let (ok, stdout, stderr) = cli(&["token", "create", "--role", role], data_dir);
    assert!(ok, "{stderr}");
    stdout.trim().to_owned()
}

/// A running `switchboard serve`; its log (stderr) is collected.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(data_dir: &Path, envs: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "info")
            .env("SWITCHBOARD_COMPILE_CACHE", shared_compile_cache())
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let collected = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let mut log = collected.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self { child, port, log }
    }

    /// The `/readyz` statuses seen until it says 200 (connection errors are not answers).
    pub fn wait_ready(&self) -> Vec<u16> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(response) = request(self.port, "GET", "/readyz", None, None) {
                let status = status_of(&response);
                seen.push(status);
                if status == 200 {
                    return seen;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("not ready in time: {seen:?}\n{}", self.log.lock().unwrap());
    }

    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// The exit code, waiting at most `limit`.
    pub fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection; the whole raw response, or the I/O error.
pub fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// [`request`] with a JSON `body` always sent and extra `headers` (a webhook's signature).
pub fn request_with(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

pub fn status_of(response: &str) -> u16 {
    response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A complete response: a status line, and a body as long as `content-length` says.
pub fn complete(response: &str) -> bool {
    let Some((head, body)) = response.split_once("\r\n\r\n") else { return false };
    let length = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().ok()));
    head.starts_with("HTTP/1.1 ") && length.flatten().is_none_or(|n| n == body.len())
}

pub fn json_of(response: &str) -> serde_json::Value {
    serde_json::from_str(response.split_once("\r\n\r\n").map_or("", |(_, b)| b)).unwrap_or(serde_json::Value::Null)
}

/// The built-in Telegram component as the next patch version: the version string its manifest
/// reports (the crate's, stored once in the component's data) raised in place, same length, so
/// nothing else in the component changes. The component, the built-in version, the new one.
pub fn telegram_next_version() -> (Vec<u8>, String, String) {
    let (_, telegram) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(package, _)| *package == "switchboard-telegram").expect("telegram is built in");
    // The plugins share the workspace's version with this crate.
    let current = env!("CARGO_PKG_VERSION");
    let mut next = semver::Version::parse(current).unwrap();
    next.patch += 1;
    let next = next.to_string();
    assert_eq!(next.len(), current.len(), "the version is replaced in place");
    let found: Vec<usize> = telegram.windows(current.len()).enumerate().filter(|(_, w)| *w == current.as_bytes()).map(|(at, _)| at).collect();
    assert_eq!(found.len(), 1, "the version string `{current}` stands once in the component (at {found:?})");
    let mut bytes = telegram.to_vec();
    bytes[found[0]..found[0] + next.len()].copy_from_slice(next.as_bytes());
    (bytes, current.to_owned(), next)
}

/// The version of plugin `id` the server on `port` serves, if any.
pub fn plugin_version(port: u16, token: &str, id: &str) -> Option<String> {
    let plugins = json_of(&request(port, "GET", "/api/v1/plugins", Some(token), None).ok()?);
    plugins.as_array()?.iter().find(|p| p["id"] == id).and_then(|p| p["version"].as_str()).map(str::to_owned)
}

/// `POST /api/v1/plugins {"source": source}` (a plugin from an OCI registry) as `token`: the
/// whole response, waited for up to [`PATIENCE`] (the pull and the compile happen in the request).
pub fn install_from_registry(port: u16, token: &str, source: &str) -> String {
    let body = serde_json::json!({ "source": source }).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "POST /api/v1/plugins HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

