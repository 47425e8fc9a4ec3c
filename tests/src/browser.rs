//! Browser scenarios: `tests/browser/*.mjs` drive the system's headless Chromium with
//! playwright-core and print one JSON object, which the Rust tests assert on.
//!
//! Needs Node.js, Chromium (Debian: `apt-get install chromium chromium-driver`, which
//! `.ci/run` does) and `tests/browser/node_modules` (installed here from the lockfile with
//! `npm ci` when missing). `SWITCHBOARD_CHROMIUM` overrides where Chromium is.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// A scenario's whole run, browser start included, on a busy machine.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// The Chromium binary the scenarios launch.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("SWITCHBOARD_CHROMIUM").map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    assert!(
        path.exists(),
        "the browser tests need Chromium at {}: `apt-get install -y chromium chromium-driver` (Debian; .ci/run does it) \
         or set SWITCHBOARD_CHROMIUM",
        path.display()
    );
    path
}

/// `npm ci` in `tests/browser` unless playwright-core is there already (once per test binary).
fn ensure_node_modules() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    let dir = browser_dir();
    if *installed || dir.join("node_modules/playwright-core/package.json").exists() {
        *installed = true;
        return;
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .expect("the browser tests need Node.js and npm");
    assert!(status.success(), "`npm ci` in {} failed", dir.display());
    *installed = true;
}

/// Runs `tests/browser/<script>` with `input` (plus `chromium`) as its argument; returns the
/// JSON object it printed last. Panics with its output when it printed none or failed.
pub async fn run(script: &str, input: &Value) -> Value {
    ensure_node_modules();
    let mut input = input.clone();
    input["chromium"] = chromium().display().to_string().into();
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
