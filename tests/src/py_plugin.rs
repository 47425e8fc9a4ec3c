//! The third-language example plugin (`plugins-py/telegram-py`, Python), built from source by the
//! tests that use it: `build.sh` with the componentize-py of the tests' venv
//! (`target/test-tools/venv`, which `.ci/test-deps` makes; `$SWITCHBOARD_TEST_COMPONENTIZE_PY`
//! overrides it) into `target/py-plugins/`, again whenever a source file is newer than the build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

fn plugin_dir() -> PathBuf {
    workspace().join("plugins-py/telegram-py")
}

fn newest_source(dir: &Path) -> SystemTime {
    let wit = workspace().join("wit/v0.1.4");
    let mut newest = SystemTime::UNIX_EPOCH;
    for path in [dir.join("app.py"), dir.join("build.sh"), wit.join("channel.wit"), wit.join("guest.wit")] {
        if let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) {
            newest = newest.max(modified);
        }
    }
    newest
}

/// componentize-py: `$SWITCHBOARD_TEST_COMPONENTIZE_PY`, else the tests' venv's, installed by
/// `.ci/test-deps` when missing. Panics, saying so, when it cannot be installed.
pub fn componentize_py() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    if let Some(path) = std::env::var_os("SWITCHBOARD_TEST_COMPONENTIZE_PY") {
        return PathBuf::from(path);
    }
    let tool = workspace().join("target/test-tools/venv/bin/componentize-py");
    // `.ready` is written once every package imports (the tool's file exists before pip is
    // done); a venv made before componentize-py was added has `.ready` but not the tool.
    let ready = workspace().join("target/test-tools/venv/.ready");
    if !(ready.exists() && tool.exists()) {
        let _once = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
        if !(ready.exists() && tool.exists()) {
            let status = Command::new("bash").arg(workspace().join(".ci/test-deps")).status();
            assert!(
                status.is_ok_and(|s| s.success()) && tool.exists(),
                "componentize-py could not be installed into target/test-tools/venv (.ci/test-deps failed): \
                 the Python example plugin's tests need it (python3 with venv and pip, and PyPI)"
            );
        }
    }
    tool
}

/// The component, built when missing or older than its sources (one build per test process).
pub fn telegram_py() -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let componentize_py = componentize_py();
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let out = workspace().join("target/py-plugins/telegram_py.wasm");
    let dir = plugin_dir();
    let fresh = std::fs::metadata(&out).and_then(|m| m.modified()).is_ok_and(|built| built >= newest_source(&dir));
    if !fresh {
        let output = Command::new("bash")
            .arg(dir.join("build.sh"))
            .arg(&out)
            .env("COMPONENTIZE_PY", &componentize_py)
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "building plugins-py/telegram-py failed (componentize-py 0.25.1 at {}):\n{}\n{}",
            componentize_py.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    out
}
