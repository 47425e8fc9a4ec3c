//! A third-party author's path with the binary: `plugin new` writes a crate that builds and
//! passes its own tests (the test kit running it in this binary), `plugin check` passes it with
//! its fixtures, and `plugin dev` installs it into a running host, again after each edit, while
//! a compile error is printed and leaves the running version serving.
//!
//! The generated crate builds in `target/scaffold` (kept between runs, so only the first run
//! compiles the SDK), with this workspace's `Cargo.lock` for the same dependency versions.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{BIN, Server, json_of, request, token};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn scaffold_target() -> PathBuf {
    workspace().join("target/scaffold")
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.env("CARGO_TARGET_DIR", scaffold_target()).env("SWITCHBOARD_BIN", BIN);
    command
}

/// The plugins the host lists: id → version.
fn listed(port: u16, token: &str) -> Vec<(String, String)> {
    let plugins = json_of(&request(port, "GET", "/api/v1/plugins", Some(token), None).unwrap());
    plugins.as_array().unwrap().iter().map(|p| (p["id"].as_str().unwrap().to_owned(), p["version"].as_str().unwrap().to_owned())).collect()
}

/// The command of docs/writing-a-plugin.md that begins with `opening` (a line of one of its
/// shell blocks), as a command of this binary, with the component it names (`….wasm`) replaced
/// by `component`: so the guide's commands are run as an author would copy them.
fn guide_command(opening: &str, component: &Path) -> Command {
    let guide = std::fs::read_to_string(workspace().join("docs/writing-a-plugin.md")).unwrap();
    let line = guide.lines().find(|line| line.starts_with(opening)).unwrap_or_else(|| panic!("docs/writing-a-plugin.md has no command `{opening}…`"));
    // The command ends where a comment or a here-string begins.
    let words: Vec<&str> = line.split_whitespace().take_while(|word| !word.starts_with('#') && !word.starts_with("<<<")).collect();
    assert_eq!(words[0], "switchboard", "{line}");
    let mut command = Command::new(BIN);
    for &word in &words[1..] {
        if word.ends_with(".wasm") {
            command.arg(component);
        } else {
            command.arg(word);
        }
    }
    command
}

/// Lines `plugin dev` prints, as they come.
struct DevLoop {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl DevLoop {
    /// Waits for a line containing `wanted`; every line read is kept for the failure message.
    fn wait_for(&mut self, wanted: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(300);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(wanted) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("`plugin dev` never printed {wanted:?}; it printed:\n{}", self.seen.join("\n"));
    }
}

impl Drop for DevLoop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_new_plugin_builds_passes_its_tests_and_the_check_and_the_dev_loop_installs_each_edit() {
    let scratch = tempfile::tempdir().unwrap();
    let crate_dir = scratch.path().join("demo-chat");
    let created = Command::new(BIN).args(["plugin", "new", "demo-chat", "--dir"]).arg(&crate_dir).output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).contains("plugin id `demo-chat`"));
    let again = Command::new(BIN).args(["plugin", "new", "demo-chat", "--dir"]).arg(&crate_dir).output().unwrap();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"), "never writes over an author's files");
    std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();

    // As generated: its tests pass (they build the component and run it in this binary).
    let tested = cargo().arg("test").current_dir(&crate_dir).output().unwrap();
    let report = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.status.success(), "{report}\n{}", String::from_utf8_lossy(&tested.stderr));
    assert!(report.contains("test result: ok. 4 passed"), "{report}");

    // The conformance check passes it, its fixtures included: the guide's command as written
    // (its component's path put in), run in the crate.
    let component = scaffold_target().join("wasm32-wasip2/release/demo_chat.wasm");
    let checked = guide_command("switchboard plugin check ", &component).current_dir(&crate_dir).output().unwrap();
    let check_report = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{check_report}");
    assert!(check_report.contains("fixtures: 3 of 3 as expected"), "{check_report}");

    // The guide's `plugin call` of the generated fixture, as written: the message it carries.
    let called = guide_command("switchboard plugin call acme_chat.wasm handle-webhook ", &component).current_dir(&crate_dir).output().unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&called.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&called.stderr)));
    assert!(called.status.success(), "{answer}");
    assert_eq!(answer["ok"]["events"][0]["Message"]["text"], "Halo, is my order on its way?", "{answer}");

    // The dev loop against a running host.
    let data = scratch.path().join("data");
    let operator = token("operator", &data);
    let server = Server::start(&data, &[("SWITCHBOARD_ALLOW_UNSIGNED_PLUGINS", "true")]);
    server.wait_ready();
    let mut child = Command::new(BIN)
        .args(["plugin", "dev"])
        .arg(&crate_dir)
        .args(["--host", &format!("http://127.0.0.1:{}", server.port)])
        .env("SWITCHBOARD_TOKEN", &operator)
        .env("CARGO_TARGET_DIR", scaffold_target())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (send, lines) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(|line| drop(send.send(line))));
    let mut dev = DevLoop { child, lines, seen: Vec::new() };
    let installed = dev.wait_for("installed demo-chat 0.1.0");
    assert!(installed.contains("approved as its operator"), "a first install waits for approval, which the dev loop gives: {installed}");
    assert!(listed(server.port, &operator).contains(&("demo-chat".into(), "0.1.0".into())));
    dev.wait_for("watching");

    // An edit: a new version is built and replaces the running one.
    let manifest = crate_dir.join("Cargo.toml");
    std::fs::write(&manifest, std::fs::read_to_string(&manifest).unwrap().replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1)).unwrap();
    dev.wait_for("installed demo-chat 0.2.0");
    assert!(listed(server.port, &operator).contains(&("demo-chat".into(), "0.2.0".into())));
    dev.wait_for("watching");

    // A compile error is printed; the running version keeps serving.
    let lib = crate_dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, source.replacen("struct Plugin;", "struct Plugin", 1)).unwrap();
    dev.wait_for("build failed");
    dev.wait_for("error");
    dev.wait_for("watching");
    assert!(listed(server.port, &operator).contains(&("demo-chat".into(), "0.2.0".into())));

    // Fixed: installed again.
    std::fs::write(&lib, source).unwrap();
    dev.wait_for("installed demo-chat 0.2.0");
}
