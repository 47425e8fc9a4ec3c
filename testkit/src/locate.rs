//! Finding the `switchboard` binary and the component, building it, and scratch files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::Error;

const BINARY: &str = "switchboard";

/// The `switchboard` binary the calls run in: `SWITCHBOARD_BIN`, else one in the Cargo target
/// folder the running test lives in (Switchboard's own workspace), else the first on `PATH`.
pub fn switchboard_binary() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os("SWITCHBOARD_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() { Ok(path) } else { Err(Error(format!("SWITCHBOARD_BIN={} is not a file", path.display()))) };
    }
    let beside = std::env::current_exe().ok().and_then(|exe| exe.ancestors().skip(1).take(3).map(|dir| dir.join(BINARY)).find(|p| p.is_file()));
    if let Some(found) = beside {
        return Ok(found);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(BINARY)).find(|p| p.is_file()));
    on_path.ok_or_else(|| {
        Error("the `switchboard` binary was not found: install it (`cargo install --path host` in Switchboard's repository) or set SWITCHBOARD_BIN".into())
    })
}

/// Where Switchboard's own build puts a first-party plugin's component (`host/build.rs`
/// builds every crate under `plugins/` into `<target>/wasm-plugins`), for the workspace's tests.
pub fn workspace_component(crate_name: &str) -> PathBuf {
    let file = format!("wasm-plugins/wasm32-wasip2/plugin/{}.wasm", crate_name.replace('-', "_"));
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors().map(|dir| dir.join(&file)).find(|p| p.is_file()).unwrap_or_else(|| PathBuf::from(&file))
}

/// Components built by this test process, by crate folder: one build each.
static BUILT: Mutex<Option<HashMap<PathBuf, PathBuf>>> = Mutex::new(None);

/// Builds the crate for `wasm32-wasip2` (release) and answers the component's path.
pub(crate) fn build_component(crate_dir: &Path) -> Result<PathBuf, Error> {
    let manifest = crate_dir.join("Cargo.toml");
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(component) = built.get_or_insert_with(HashMap::new).get(crate_dir) {
        return Ok(component.clone());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--message-format=json-render-diagnostics", "--manifest-path"])
        .arg(&manifest)
        .output()
        .map_err(|e| Error(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed") { "\n(run `rustup target add wasm32-wasip2`)" } else { "" };
        return Err(Error(format!("building {} for wasm32-wasip2 failed:\n{stderr}{hint}", crate_dir.display())));
    }
    let canonical = manifest.canonicalize().unwrap_or(manifest.clone());
    let component = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["manifest_path"].as_str().is_some_and(|p| Path::new(p) == canonical))
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| Error(format!("{} built no .wasm: is it a `crate-type = [\"cdylib\"]` library?", crate_dir.display())))?;
    built.get_or_insert_with(HashMap::new).insert(crate_dir.to_path_buf(), component.clone());
    Ok(component)
}

/// Compiled components kept between calls (keyed by the component's hash and the engine).
pub(crate) fn compile_cache_dir() -> PathBuf {
    std::env::temp_dir().join("switchboard-testkit-cache")
}

/// A file that is removed when dropped.
pub(crate) struct ScratchFile(PathBuf);

impl ScratchFile {
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `contents` to a fresh file of this process.
pub(crate) fn scratch_file(prefix: &str, contents: &str) -> Result<ScratchFile, Error> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!("switchboard-testkit-{prefix}-{}-{}.json", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, contents).map_err(|e| Error(format!("cannot write {}: {e}", path.display())))?;
    Ok(ScratchFile(path))
}
