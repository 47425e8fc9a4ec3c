//! Real-browser tests: Debian's Chromium driven by `playwright-core` from npm (never a
//! downloaded browser). The first test that needs them installs what is missing, so the
//! README's test command works on a fresh machine: `apt-get install chromium` (as root) and
//! `npm ci` in `tests/browser`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub const CHROMIUM: &str = "/usr/bin/chromium";

static SETUP: Mutex<bool> = Mutex::new(false);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Where tests save screenshots (test artifacts).
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Installs Chromium and playwright-core when missing (once per test run).
pub fn ensure_ready() {
    let mut ready = SETUP.lock().unwrap_or_else(|p| p.into_inner());
    if *ready {
        return;
    }
    if !Path::new(CHROMIUM).exists() {
        run(Command::new("apt-get").arg("update").arg("-qq"), "apt-get update (for chromium)");
        run(
            Command::new("apt-get").args(["install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "chromium"]).env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install chromium",
        );
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(browser_dir()), "npm ci in tests/browser");
    }
    *ready = true;
}

/// Runs `tests/browser/<script>` with node; panics with its output unless it succeeds.
/// Returns what it printed.
pub async fn run_script(script: &str, env: &[(&str, String)]) -> String {
    ensure_ready();
    let mut command = tokio::process::Command::new("node");
    command.arg(script).current_dir(browser_dir()).env("CHROMIUM", CHROMIUM).env("SCREENSHOTS", screenshot_dir());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("{script} ran for more than 2 minutes"))
        .unwrap_or_else(|e| panic!("cannot run node {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{script} failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}
