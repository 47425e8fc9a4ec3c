//! Real-browser tests: `tests/browser/*.mjs` drive Debian's Chromium with `playwright-core`
//! from npm (never a downloaded browser). The first test that needs them installs what is missing, so the
//! README's test command works on a fresh machine: `apt-get install chromium` (as root) and
//! `npm ci` in `tests/browser`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

pub const CHROMIUM: &str = "/usr/bin/chromium";

static SETUP: Mutex<bool> = Mutex::new(false);
/// A scenario's whole run, browser start included, on a busy machine.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(600);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Where tests save screenshots (test artifacts).
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_or_panic(command: &mut Command, what: &str) {
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
        run_or_panic(Command::new("apt-get").arg("update").arg("-qq"), "apt-get update (for chromium)");
        run_or_panic(
            Command::new("apt-get").args(["install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "chromium"]).env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install chromium",
        );
    }
    // Every dependency of package.json (a checkout that gained one since its last `npm ci`).
    if ["playwright-core", "axe-core"].iter().any(|package| !browser_dir().join("node_modules").join(package).exists()) {
        run_or_panic(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(browser_dir()), "npm ci in tests/browser");
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
    let output = tokio::time::timeout(SCENARIO_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{script} ran past {SCENARIO_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot run node {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{script} failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// Runs `tests/browser/<script>` with `input` (plus `chromium`) as its argument; returns the
/// JSON object it printed last. Panics with its output when it printed none or failed.
pub async fn run(script: &str, input: &Value) -> Value {
    ensure_ready();
    let mut input = input.clone();
    input["chromium"] = CHROMIUM.into();
    let child = tokio::process::Command::new("node")
        .arg(script)
        .arg(input.to_string())
        .current_dir(browser_dir())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SCENARIO_TIMEOUT, child)
        .await
        .unwrap_or_else(|_| panic!("{script} ran past {SCENARIO_TIMEOUT:?}"))
        .expect("the browser tests need Node.js (`node` on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let result = stdout.lines().rev().find_map(|line| serde_json::from_str::<Value>(line.trim()).ok().filter(Value::is_object));
    match result {
        Some(result) if output.status.success() => result,
        _ => panic!("{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}", output.status),
    }
}
