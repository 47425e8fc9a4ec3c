//! The second-language example plugin (`plugins-js/telegram-js`, JavaScript), built from source
//! by the tests that use it: `npm ci` of its pinned componentize-js on first use, then
//! `build.sh` into `target/js-plugins/`, again whenever a source file is newer than the build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins-js/telegram-js")
}

fn newest_source(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    for path in [dir.join("package-lock.json"), dir.join("build.sh")].into_iter().chain(std::fs::read_dir(dir.join("src")).unwrap().map(|e| e.unwrap().path())) {
        if let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) {
            newest = newest.max(modified);
        }
    }
    newest
}

/// The component, built when missing or older than its sources (one build per test process).
pub fn telegram_js() -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/js-plugins/telegram-js.wasm");
    let dir = plugin_dir();
    let fresh = std::fs::metadata(&out).and_then(|m| m.modified()).is_ok_and(|built| built >= newest_source(&dir));
    if !fresh {
        let output = Command::new("bash").arg(dir.join("build.sh")).arg(&out).output().expect("bash runs");
        assert!(
            output.status.success(),
            "building plugins-js/telegram-js failed (Node.js 18+ and npm needed):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    out
}
