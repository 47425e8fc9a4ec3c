//! `switchboard plugin dev [DIR] --host URL`: the author's loop. Builds the crate for
//! `wasm32-wasip2`, installs the component into a running dev host through its API, and does it
//! again on every change of the crate's files, printing compile errors and the host's refusals
//! as they come.
//!
//! The token is an operator's (installing is the operator's right); a first install or an
//! upgrade that reaches new hosts waits for approval on a host, and on a *dev* host the same
//! operator approves it at once, saying what it approved. With `--key` the component is signed
//! first, for a host that trusts that key; otherwise the dev host runs with
//! `--allow-unsigned-plugins`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use serde_json::Value;
use tokio::sync::mpsc;

/// How long the crate must be quiet after a change before it is rebuilt (an editor saves
/// several files, a formatter rewrites them).
const QUIET: Duration = Duration::from_millis(300);

pub struct DevOptions {
    pub dir: PathBuf,
    /// The dev host's base URL, e.g. `http://127.0.0.1:8080`.
    pub host: String,
    /// An operator API token.
    pub token: String,
    /// A signing key from `plugin keygen`.
    pub key: Option<PathBuf>,
    /// Build and install once, then exit (1 when either failed).
    pub once: bool,
}

/// Runs the loop (forever, unless `once`).
pub async fn run(options: DevOptions) -> Result<(), String> {
    if !options.dir.join("Cargo.toml").is_file() {
        return Err(format!("{} has no Cargo.toml: run `plugin dev` in a plugin crate (`switchboard plugin new` makes one)", options.dir.display()));
    }
    let key = match &options.key {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the key {}: {e}", path.display()))?;
            Some(crate::signing::parse_signing_key(&text)?)
        }
    };
    let client = reqwest::Client::new();
    if options.once {
        return round(&options, key.as_ref(), &client).await;
    }
    let (changes, mut changed) = mpsc::unbounded_channel::<()>();
    let target = options.dir.join("target");
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
            && event.paths.iter().any(|p| !p.starts_with(&target) && !p.components().any(|c| c.as_os_str() == ".git"))
        {
            let _ = changes.send(());
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", options.dir.display()))?;
    watcher.watch(&options.dir, RecursiveMode::Recursive).map_err(|e| format!("cannot watch {}: {e}", options.dir.display()))?;
    loop {
        let _ = round(&options, key.as_ref(), &client).await;
        println!("watching {} for changes (Ctrl-C stops)", options.dir.display());
        if changed.recv().await.is_none() {
            return Ok(());
        }
        // Wait for quiet: every change within QUIET of the last one joins this round.
        while tokio::time::timeout(QUIET, changed.recv()).await.is_ok_and(|c| c.is_some()) {}
    }
}

/// One build and install; what happened is printed, and answered for `--once`.
async fn round(options: &DevOptions, key: Option<&ed25519_dalek::SigningKey>, client: &reqwest::Client) -> Result<(), String> {
    println!("building {}", options.dir.display());
    let component = match build(&options.dir).await {
        Ok(component) => component,
        Err(errors) => {
            println!("build failed:\n{errors}");
            return Err("the build failed".into());
        }
    };
    let mut bytes = std::fs::read(&component).map_err(|e| format!("cannot read {}: {e}", component.display()))?;
    if let Some(key) = key {
        bytes = crate::signing::sign(&bytes, key).map_err(|e| format!("cannot sign {}: {e}", component.display()))?;
    }
    match install(client, options, bytes).await {
        Ok(line) => {
            println!("{line}");
            Ok(())
        }
        Err(refusal) => {
            println!("refused: {refusal}");
            Err(refusal)
        }
    }
}

/// `cargo build --release --target wasm32-wasip2`; the component, or cargo's errors.
async fn build(dir: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = tokio::process::Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--message-format=json-render-diagnostics", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .output()
        .await
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim_end().to_owned());
    }
    let manifest = dir.join("Cargo.toml").canonicalize().map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["manifest_path"].as_str().is_some_and(|p| Path::new(p) == manifest))
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| "the crate built no .wasm: is it a `crate-type = [\"cdylib\"]` library?".into())
}

/// Uploads to the dev host (forced: the loop may go back a version) and approves what waits.
async fn install(client: &reqwest::Client, options: &DevOptions, bytes: Vec<u8>) -> Result<String, String> {
    let base = options.host.trim_end_matches('/');
    let unreachable = |e: reqwest::Error| format!("the host at {base} cannot be reached: {e}");
    let response = client
        .post(format!("{base}/api/v1/plugins?force=true"))
        .bearer_auth(&options.token)
        .header("content-type", "application/wasm")
        .body(bytes)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    match status {
        200 | 201 => Ok(format!("installed {} {} on {base}", answer["id"].as_str().unwrap_or("?"), answer["version"].as_str().unwrap_or("?"))),
        202 => {
            let id = answer["review"]["id"].as_str().unwrap_or_default().to_owned();
            let asks = &answer["review"];
            let approved = client
                .post(format!("{base}/api/v1/plugin-reviews/{id}/approve?force=true"))
                .bearer_auth(&options.token)
                .send()
                .await
                .map_err(unreachable)?;
            let approved_status = approved.status().as_u16();
            let approved: Value = approved.json().await.unwrap_or(Value::Null);
            if !(200..300).contains(&approved_status) {
                return Err(error_message(approved_status, &approved));
            }
            Ok(format!(
                "installed {} {} on {base} (approved as its operator: outbound hosts {}, host imports {})",
                approved["id"].as_str().unwrap_or(&id),
                approved["version"].as_str().unwrap_or("?"),
                asks["new_outbound_hosts"],
                asks["new_host_imports"],
            ))
        }
        _ => Err(error_message(status, &answer)),
    }
}

/// The host's JSON error, in its words.
fn error_message(status: u16, answer: &Value) -> String {
    match answer["message"].as_str() {
        Some(message) => format!("{message} (HTTP {status})"),
        None => format!("HTTP {status}"),
    }
}
