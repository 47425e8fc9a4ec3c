//! Real mail software for the email tests, not fakes of our own: an aiosmtpd SMTP server
//! (PyPI) with AUTH that stores what it receives in a Maildir, and Python's `smtplib` as the
//! client that delivers to the host's listener. `.ci/test-deps` installs them into a venv
//! under `target/test-tools` (the scripts are in `tests/mail/`); the first email test runs it
//! when the venv is missing, so `cargo test` alone works on a fresh machine.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The Python with aiosmtpd: `$SWITCHBOARD_TEST_PYTHON`, else the venv `.ci/test-deps` makes
/// (made now if it is missing).
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("SWITCHBOARD_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = workspace().join("target/test-tools/venv");
    let python = venv.join("bin/python");
    // `.ready` is written once aiosmtpd imports: the interpreter alone exists while pip still
    // installs, and another test must not start the server then.
    let ready = venv.join(".ready");
    if !ready.exists() {
        let _once = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
        if !ready.exists() {
            let status = std::process::Command::new("bash").arg(workspace().join(".ci/test-deps")).status();
            assert!(status.is_ok_and(|s| s.success()), ".ci/test-deps could not install aiosmtpd for the email tests");
        }
    }
    assert!(
        python.exists(),
        "{} is missing: the email tests need Python with aiosmtpd; run .ci/test-deps once (or .ci/run)",
        python.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    workspace().join("tests/mail").join(name)
}

/// aiosmtpd with AUTH on 127.0.0.1, saving to a Maildir.
pub struct MailServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl MailServer {
    /// Starts on a free port, taking `username` / `password`. The port is one no outgoing
    /// connection is given meanwhile, so a restart finds it free (see `ports::free_port`).
    pub async fn start(username: &str, password: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = Self::spawn(dir, crate::postgres::ports::free_port()).await;
        server.set_login(username, password);
        server
    }

    async fn spawn(dir: tempfile::TempDir, port: u16) -> Self {
        if !dir.path().join("credentials.json").exists() {
            std::fs::write(dir.path().join("credentials.json"), r#"{"username":"","password":""}"#).unwrap();
        }
        let mut child = Command::new(python())
            .arg(script("smtp_server.py"))
            .arg("--maildir")
            .arg(dir.path().join("maildir"))
            .arg("--credentials")
            .arg(dir.path().join("credentials.json"))
            .args(["--port", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the aiosmtpd test server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(crate::PATIENCE, lines.next_line())
            .await
            .expect("aiosmtpd did not start in time")
            .unwrap()
            .expect("aiosmtpd exited before listening (is aiosmtpd installed? run .ci/test-deps)");
        let port = line.strip_prefix("PORT ").and_then(|p| p.trim().parse().ok()).unwrap_or_else(|| panic!("unexpected: {line}"));
        Self { port, dir, child }
    }

    /// Changes the login the server takes from now on.
    pub fn set_login(&self, username: &str, password: &str) {
        let credentials = serde_json::json!({"username": username, "password": password});
        std::fs::write(self.dir.path().join("credentials.json"), credentials.to_string()).unwrap();
    }

    /// Stops the server (connections are refused until `restart`).
    pub async fn stop(mut self) -> StoppedMailServer {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
        StoppedMailServer { port: self.port, dir: self.dir }
    }

    /// The messages received so far, oldest first, as stored (with X-MailFrom / X-RcptTo).
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let new = self.dir.path().join("maildir/new");
        let mut files: Vec<_> = std::fs::read_dir(new).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        files.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
        files.iter().map(|path| std::fs::read(path).unwrap()).collect()
    }

    /// Waits until `count` messages are stored; returns them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count || tokio::time::Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub struct StoppedMailServer {
    port: u16,
    dir: tempfile::TempDir,
}

impl StoppedMailServer {
    /// Starts the server again on the same port with the same Maildir and login.
    pub async fn restart(self) -> MailServer {
        MailServer::spawn(self.dir, self.port).await
    }
}

/// Delivers `message` with Python's smtplib to `addr`; the JSON outcome of `smtp_send.py`:
/// `{"sent": bool, "refused": {rcpt: [code, text]}}` or `{"sent": false, "code", "message"}`.
pub async fn smtp_send(addr: std::net::SocketAddr, from: &str, to: &[&str], message: &[u8]) -> Value {
    let mut child = Command::new(python())
        .arg(script("smtp_send.py"))
        .args([addr.ip().to_string(), addr.port().to_string(), from.to_owned()])
        .args(to)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("running smtplib");
    child.stdin.take().unwrap().write_all(message).await.unwrap();
    let output = tokio::time::timeout(crate::PATIENCE, child.wait_with_output()).await.expect("smtplib timed out").unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| panic!("smtp_send.py printed: {text}"))
}
