//! The binary as an operator runs it in production: readiness while plugins load, SIGTERM
//! under load (every request answered or refused cleanly, exit 0), and a backup taken while
//! the server writes, restored into a working host with the same data.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

mod support;

use support::{BIN, PATIENCE, Server, cli, own_compile_cache, complete, json_of, request, request_with, status_of, token, wait_for};

#[test]
fn readiness_waits_for_plugins_and_sigterm_under_load_loses_no_request() {
    let data = tempfile::tempdir().unwrap();
    let admin = token("admin", data.path());
    // The data dir's own compile cache, empty: the plugins load for seconds.
    let cache = own_compile_cache(data.path());
    let mut server = Server::start(data.path(), &[("SWITCHBOARD_SHUTDOWN_TIMEOUT", "20"), ("SWITCHBOARD_COMPILE_CACHE", &cache)]);
    let seen = server.wait_ready();
    assert_eq!(seen.first(), Some(&503), "not ready while the plugins load (a fresh data dir compiles them all): {seen:?}");
    let ready = request(server.port, "GET", "/readyz", None, None).unwrap();
    assert_eq!(json_of(&ready)["ready"], true, "{ready}");

    let (answered, refused, broken) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (answered, refused, broken, stop, admin, port) =
                (answered.clone(), refused.clone(), broken.clone(), stop.clone(), admin.clone(), server.port);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match request(port, "GET", "/api/v1/channels", Some(&admin), None) {
                        Ok(response) if complete(&response) && status_of(&response) == 200 => answered.fetch_add(1, Ordering::Relaxed),
                        // Nothing read: the connection was refused or closed before a request was taken.
                        Ok(response) if response.is_empty() => refused.fetch_add(1, Ordering::Relaxed),
                        Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                        Ok(response) => {
                            broken.lock().unwrap().push(response);
                            0
                        }
                    };
                }
            })
        })
        .collect();
    // SIGTERM once the load is under way (counted, not timed).
    wait_for(|| (answered.load(Ordering::Relaxed) > 10).then_some(()), || format!("{} answered before SIGTERM\n{}", answered.load(Ordering::Relaxed), server.log.lock().unwrap()));
    let before = answered.load(Ordering::Relaxed);
    server.terminate();
    let code = server.exit_within(PATIENCE);
    stop.store(true, Ordering::Relaxed);
    clients.into_iter().for_each(|c| c.join().unwrap());

    assert_eq!(code, Some(0), "exit 0 within the timeout\n{}", server.log.lock().unwrap());
    assert!(before > 10, "the load ran: {before} answered before SIGTERM");
    let broken = broken.lock().unwrap();
    assert!(broken.is_empty(), "{} requests cut off mid-answer, e.g. {:?}", broken.len(), broken.first());
    assert!(server.log.lock().unwrap().contains("SIGTERM received"), "{}", server.log.lock().unwrap());
}

#[test]
fn a_backup_taken_under_write_load_restores_to_a_working_host_with_the_same_data() {
    let data = tempfile::tempdir().unwrap();
    let operator = token("operator", data.path());
    let server = Server::start(data.path(), &[]);
    server.wait_ready();
    let app = r#"{"settings":{"app_id":"1517394850012345","app_secret":"9f3c2b1a0d8e7f6a5b4c3d2e1f0a9b8c"}}"#;
    let response = request(server.port, "PUT", "/api/v1/plugins/messenger/app", Some(&operator), Some(app)).unwrap();
    assert_eq!(status_of(&response), 200, "{response}");

    // Workspaces created one after another while the backup runs.
    let created = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (created, stop, operator, port) = (created.clone(), stop.clone(), operator.clone(), server.port);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let body = format!(r#"{{"name":"Toko {}"}}"#, created.load(Ordering::Relaxed));
                let response = request(port, "POST", "/api/v1/workspaces", Some(&operator), Some(&body)).unwrap();
                assert_eq!(status_of(&response), 201, "{response}");
                created.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    wait_for(|| (created.load(Ordering::Relaxed) > 0).then_some(()), || "no workspace was created".into());
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("switchboard-backup.db");
    let before = created.load(Ordering::Relaxed);
    let output = Command::new(BIN).arg("backup").arg(&file).arg("--data-dir").arg(data.path()).output().unwrap();
    let after = created.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(before > 0, "writes ran before the backup");
    let key = backups.path().join("switchboard-backup.db.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o077, 0, "the key is readable by its owner only");
    }
    drop(server);

    let restored = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = cli(&["restore", file.to_str().unwrap()], restored.path());
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = cli(&["restore", file.to_str().unwrap()], restored.path());
    assert!(!ok && stderr.contains("--force"), "an existing database is not overwritten silently: {stderr}");

    let server = Server::start(restored.path(), &[]);
    server.wait_ready();
    let workspaces = json_of(&request(server.port, "GET", "/api/v1/workspaces", Some(&operator), None).unwrap());
    let count = workspaces.as_array().map(Vec::len).unwrap_or_default();
    // The first workspace exists from the start; each created one is in the backup if it
    // was created before the backup began, and may be if it was created during it, as may the
    // one whose request was in flight when the backup ended (stored, its answer not yet counted).
    assert!((1 + before..=2 + after).contains(&count), "{count} workspaces; {before} were created before the backup, {after} by its end");
    let app = request(server.port, "GET", "/api/v1/plugins/messenger/app", Some(&operator), None).unwrap();
    assert_eq!(status_of(&app), 200, "the sealed settings open with the restored key: {app}");
    assert_eq!(json_of(&app)["settings"]["app_id"], "1517394850012345", "{app}");
    // The restored secret still verifies Meta's signatures on the app's callback.
    let delivery = r#"{"object":"page","entry":[]}"#;
    let signature = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"9f3c2b1a0d8e7f6a5b4c3d2e1f0a9b8c").unwrap();
        mac.update(delivery.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        stream,
        "POST /webhooks/apps/messenger HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-Hub-Signature-256: sha256={signature}\r\nContent-Length: {}\r\n\r\n{delivery}",
        delivery.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert_eq!(status_of(&answer), 200, "{answer}");
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/switchboard.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/switchboard serve"), "the unit starts the server");
    // Verified with this build's binary where the unit expects the installed one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/switchboard", BIN)).unwrap();
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        test_deps();
    }
    let output = Command::new("systemd-analyze").arg("verify").arg(&path).output().expect("systemd-analyze (Debian's systemd package)");
    let problems = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && problems.trim().is_empty(), "{problems}");
}

#[test]
fn config_check_merges_flag_over_env_over_file_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:9000\"\nplugin_timeout_ms = 5000\nmail_max_mb = 20\nallow_outbound = [\"smtp.internal:587\"]\n").unwrap();
    let check = |args: &[&str], envs: &[(&str, &str)]| {
        let output = Command::new(BIN).args(["config", "check", "--config"]).arg(&config).args(args).envs(envs.iter().copied()).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, out, err) = check(&["--plugin-timeout-ms", "7000"], &[("SWITCHBOARD_PLUGIN_TIMEOUT_MS", "6000"), ("SWITCHBOARD_MAIL_MAX_MB", "30")]);
    assert_eq!(code, Some(0), "{err}");
    let settings: toml::Table = toml::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(settings["plugin_timeout_ms"].as_integer(), Some(7000), "the flag beats the variable and the file");
    assert_eq!(settings["mail_max_mb"].as_integer(), Some(30), "the variable beats the file");
    assert_eq!(settings["listen"].as_str(), Some("127.0.0.1:9000"), "the file beats the default");
    assert_eq!(settings["plugin_memory_mb"].as_integer(), Some(64), "the default");
    assert_eq!(settings["allow_outbound"].as_array().unwrap()[0].as_str(), Some("smtp.internal:587"));

    std::fs::write(&config, "listen = \"127.0.0.1:9000\"\nplugin_timout_ms = 5000\n").unwrap();
    let (code, _, err) = check(&[], &[]);
    assert_eq!(code, Some(1), "a typo in a key fails the check");
    assert!(err.contains("plugin_timout_ms"), "names the unknown key: {err}");
    std::fs::write(&config, "listen = \"localhost\"\n").unwrap();
    let (code, _, err) = check(&[], &[]);
    assert!(code == Some(1) && err.contains("listen") && err.contains("port"), "{err}");
    // `serve` refuses the same file with the same reason, before binding anything.
    let output = Command::new(BIN).args(["serve", "--config"]).arg(&config).output().unwrap();
    assert!(!output.status.success() && String::from_utf8_lossy(&output.stderr).contains("is not an address with a port"));
}

#[test]
fn json_logs_carry_the_request_id_which_the_answer_echoes() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[("SWITCHBOARD_LOG_FORMAT", "json"), ("RUST_LOG", "info,tower_http=debug")]);
    server.wait_ready();
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(stream, "GET /api/v1/channels HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: req-7f3a9c\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-request-id: req-7f3a9c"), "the id is echoed: {answer}");
    let generated = request(server.port, "GET", "/healthz", None, None).unwrap();
    let id = generated.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("x-request-id:").map(|v| v.trim().to_owned()));
    assert!(id.as_deref().is_some_and(|id| id.len() == 36), "a new UUID without one: {generated}");

    let deadline = Instant::now() + PATIENCE;
    loop {
        let log = server.log.lock().unwrap().clone();
        let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        assert!(!lines.is_empty() && lines.len() == log.lines().count(), "every line is JSON:\n{log}");
        let of_request = lines.iter().find(|l| l["span"]["request_id"] == "req-7f3a9c");
        if let Some(line) = of_request {
            assert_eq!(line["span"]["route"], "/api/v1/channels", "{line}");
            assert_eq!(line["status"].to_string().trim_matches('"'), "401", "{line}");
            break;
        }
        assert!(Instant::now() < deadline, "no log line of the request:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Peak resident memory of a process since its counter was last reset, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches("kB").trim().parse().unwrap();
    kib * 1024
}

/// A real component padded with a custom section to `size` bytes (custom sections may stand
/// anywhere in a component and change nothing it does).
fn padded_component(size: usize) -> Vec<u8> {
    let (_, telegram) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(package, _)| package.contains("telegram")).unwrap();
    let mut bytes = telegram.to_vec();
    let name = b"padding";
    let payload = size - bytes.len() - 16;
    let mut section_size = (name.len() + 1 + payload) as u64;
    bytes.push(0); // custom section
    loop {
        let byte = (section_size & 0x7f) as u8;
        section_size >>= 7;
        bytes.push(if section_size == 0 { byte } else { byte | 0x80 });
        if section_size == 0 {
            break;
        }
    }
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.resize(bytes.len() + payload, 0x5a);
    bytes
}

#[test]
fn four_concurrent_large_uploads_stay_within_twice_the_file_in_memory() {
    four_concurrent_large_uploads(CompileCache::Writable);
}

/// A full disk (CI once ran out of space here) leaves the compile cache unwritable: the server
/// still compiles in a child (through pipes), and the memory promise holds on that path too.
#[test]
fn four_concurrent_large_uploads_stay_within_twice_the_file_in_memory_when_the_compile_cache_cannot_be_written() {
    four_concurrent_large_uploads(CompileCache::Unwritable);
}

#[derive(PartialEq)]
enum CompileCache {
    Writable,
    /// A file where the cache's folder would be: every write into it fails.
    Unwritable,
}

fn four_concurrent_large_uploads(cache: CompileCache) {
    const SIZE: usize = 48 << 20;
    let data = tempfile::tempdir().unwrap();
    if cache == CompileCache::Unwritable {
        std::fs::write(data.path().join("cache"), "not a folder").unwrap();
    }
    let operator = token("operator", data.path());
    let (secret, public) = switchboard::signing::generate();
    let key = switchboard::signing::parse_signing_key(&secret).unwrap();
    // The data dir's own compile cache: what a start compiles, and into what, is part of the test.
    let own_cache = own_compile_cache(data.path());
    let server = Server::start(data.path(), &[("SWITCHBOARD_TRUSTED_KEYS", &public), ("SWITCHBOARD_COMPILE_CACHE", &own_cache)]);
    server.wait_ready();
    let component = Arc::new(switchboard::signing::sign(&padded_component(SIZE), &key).unwrap());
    if cache == CompileCache::Unwritable {
        // Once each: not first by a child into a cache that takes nothing, then again through
        // pipes, and both again when loading (what a full disk cost a start before).
        let log = server.log.lock().unwrap().clone();
        let (loaded, piped) = (log.matches("plugin loaded").count(), log.matches("through pipes").count());
        assert!(loaded >= 9 && piped == loaded, "{loaded} plugins loaded, {piped} compiled through pipes:\n{log}");
    }
    let pid = server.child.id();
    // Forget the peak of start-up (compiling every plugin): count from here.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = peak_rss(pid);

    let uploads: Vec<_> = (0..4)
        .map(|_| {
            let (component, operator, port) = (component.clone(), operator.clone(), server.port);
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                write!(
                    stream,
                    "POST /api/v1/plugins HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {operator}\r\nContent-Type: application/wasm\r\nContent-Length: {}\r\n\r\n",
                    component.len()
                )
                .unwrap();
                for chunk in component.chunks(1 << 20) {
                    stream.write_all(chunk).unwrap();
                }
                let mut answer = String::new();
                stream.read_to_string(&mut answer).unwrap();
                answer
            })
        })
        .collect();
    for upload in uploads {
        let answer = upload.join().unwrap();
        // Signed by a key over the built-in: validated (compiled) as any upload, then it waits
        // for the operator's approval (another signer than the live version's).
        assert_eq!(status_of(&answer), 202, "{answer}");
        assert_eq!(json_of(&answer)["review"]["id"], "telegram", "{answer}");
    }
    let grown = peak_rss(pid).saturating_sub(before);
    println!("peak memory grew by {:.1} MiB for four concurrent {} MiB uploads ({:.2}x one file)", grown as f64 / 1048576.0, SIZE >> 20, grown as f64 / component.len() as f64);
    // What was resident at the end, and how the uploads were compiled: what a failure needs.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let resident: Vec<&str> = status.lines().filter(|l| l.starts_with("Vm") || l.starts_with("Rss")).collect();
    let compiling: Vec<String> = server.log.lock().unwrap().lines().filter(|l| l.contains("compil")).map(str::to_owned).collect();
    assert!(
        grown <= 2 * component.len() as u64,
        "peak memory grew by {} MiB for four {} MiB uploads at once\n{}\n{}",
        grown >> 20,
        SIZE >> 20,
        resident.join("\n"),
        compiling.join("\n")
    );
    if cache == CompileCache::Unwritable {
        assert!(compiling.iter().any(|l| l.contains("compiled by the compiler process through pipes")), "the uploads were compiled in a child, through pipes:\n{}", compiling.join("\n"));
    }
    let waiting = switchboard::data_dir::pending_dir(data.path()).join("telegram.wasm");
    assert_eq!(std::fs::metadata(&waiting).unwrap().len(), component.len() as u64, "the upload waits for approval, whole");
    let leftovers = std::fs::read_dir(data.path().join("uploads")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "nothing is left in the uploads folder");
}

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Installs what the tests need beyond Rust (idempotent; see `.ci/test-deps`).
fn test_deps() {
    let status = Command::new("bash").arg(workspace().join(".ci/test-deps")).status().unwrap();
    assert!(status.success(), ".ci/test-deps failed");
}

/// The OpenAPI document is linted with openapi-spec-validator, then schemathesis fuzzes a live
/// host from it (bounded: 60 s, fixed seed so a failure replays; `SWITCHBOARD_FUZZ_SEED` picks
/// another): every answer must have a documented status (5xx only the documented plugin and
/// storage faults 502 and 503, never 500), the documented content type, and match its schema.
#[test]
fn the_openapi_document_validates_and_a_fuzz_of_the_live_api_finds_no_undocumented_answer() {
    test_deps();
    let bin = workspace().join("target/test-tools/venv/bin");
    let data = tempfile::tempdir().unwrap();
    let operator = token("operator", data.path());
    let server = Server::start(data.path(), &[]);
    server.wait_ready();

    let document = request(server.port, "GET", "/api/v1/openapi.json", None, None).unwrap();
    assert_eq!(status_of(&document), 200);
    let spec: serde_json::Value = json_of(&document);
    assert_eq!(spec["openapi"], "3.1.0");
    let file = data.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let lint = Command::new(bin.join("openapi-spec-validator")).arg(&file).output().unwrap();
    assert!(lint.status.success(), "{}{}", String::from_utf8_lossy(&lint.stdout), String::from_utf8_lossy(&lint.stderr));
    // Every route of the README's table is in the document.
    for (method, path) in [("get", "/api/v1/me"), ("get", "/api/v1/conversations/{id}"), ("post", "/api/v1/plugins"), ("delete", "/api/v1/plugins/{id}")] {
        assert!(spec["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    // The event webhooks a receiver gets, each with its headers and an example body.
    for event in ["message.received", "conversation.resolved", "channel.disconnected", "webhook.ping"] {
        let body = &spec["webhooks"][event]["post"]["requestBody"]["content"]["application/json"];
        assert!(body["example"]["type"] == event && body["schema"]["$ref"].is_string(), "the `{event}` webhook is documented: {body}");
    }
    let docs = request(server.port, "GET", "/api/v1/docs", None, None).unwrap();
    assert!(status_of(&docs) == 200 && docs.contains("openapi.json") && !docs.contains("https://"), "the docs page is served, without a CDN");

    let seed = std::env::var("SWITCHBOARD_FUZZ_SEED").unwrap_or_else(|_| "20261122".into());
    let output = Command::new(bin.join("st"))
        .args(["run", &format!("http://127.0.0.1:{}/api/v1/openapi.json", server.port)])
        .args(["-H", &format!("Authorization: Bearer {operator}"), "-H", "X-Workspace: 1"])
        .args(["--checks", "status_code_conformance,response_schema_conformance,content_type_conformance"])
        // A component upload cannot be generated from a schema; its refusals are tested in lifecycle.
        .args(["--exclude-operation-id", "plugins_install"])
        // A stream that stays open until the client leaves; tested in live_inbox.
        .args(["--exclude-operation-id", "events_stream"])
        // One worker: hypothesis describes lambdas with `ast`, whose recursion counter CPython 3.11
        // shares between threads; two workers made it raise "AST constructor recursion depth
        // mismatch" as a runtime error of the fuzzer itself (a failed CI run, every answer conforming).
        .args(["--max-time", "60", "--request-timeout", "20", "--workers", "1", "--seed", &seed])
        .env("NO_COLOR", "1")
        // Its cache (.schemathesis/) goes with the test's data, not into the checkout.
        .current_dir(data.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the fuzzer found answers the document does not allow (seed {seed}):\n{report}{}", String::from_utf8_lossy(&output.stderr));
    let summary = report.lines().find(|l| l.contains("generated,")).unwrap_or_default();
    println!("schemathesis: {summary}");
    let generated: u64 = summary.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    // That it ran, not how fast: its 60 s make a few hundred cases on a loaded two-core machine
    // and thousands on a quiet one. A hundred means it read the document and called the API.
    assert!(generated >= 100, "the fuzzer ran: {summary}");
    assert!(!server.log.lock().unwrap().contains("panicked"), "{}", server.log.lock().unwrap());
}

#[test]
fn a_component_dropped_in_the_plugins_folder_is_loaded_once_not_again_and_again() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[("SWITCHBOARD_ALLOW_UNSIGNED_PLUGINS", "true")]);
    server.wait_ready();
    let (_, telegram) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(n, _)| n.contains("telegram")).unwrap();
    let staging = data.path().join("telegram.wasm.part");
    std::fs::write(&staging, telegram).unwrap();
    std::fs::rename(&staging, data.path().join("plugins/telegram.wasm")).unwrap();
    let loads = || server.log.lock().unwrap().matches("plugin live from the plugins folder").count();
    wait_for(|| (loads() > 0).then_some(()), || format!("the file was not loaded:\n{}", server.log.lock().unwrap()));
    // Loading reads the file; a read is no change, so nothing more happens.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(loads(), 1, "{}", server.log.lock().unwrap());
}

#[test]
fn secrets_rotate_offline_refuses_beside_a_running_server_and_rotates_when_it_is_stopped() {
    let data = tempfile::tempdir().unwrap();
    let operator = token("operator", data.path());
    let server = Server::start(data.path(), &[]);
    server.wait_ready();
    let app = r#"{"settings":{"app_id":"1517394850012345","app_secret":"9f3c2b1a0d8e7f6a5b4c3d2e1f0a9b8c"}}"#;
    assert_eq!(status_of(&request(server.port, "PUT", "/api/v1/plugins/messenger/app", Some(&operator), Some(app)).unwrap()), 200);
    let (ok, _, stderr) = cli(&["secrets", "rotate"], data.path());
    assert!(!ok && stderr.contains("server is running") && stderr.contains("/api/v1/secrets/rotate"), "{stderr}");
    drop(server);

    let before = std::fs::read(data.path().join("secret.key")).unwrap();
    let (ok, stdout, stderr) = cli(&["secrets", "rotate"], data.path());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("sealed again"), "{stdout}");
    assert_ne!(std::fs::read(data.path().join("secret.key")).unwrap(), before);
    let server = Server::start(data.path(), &[]);
    server.wait_ready();
    let shown = request(server.port, "GET", "/api/v1/plugins/messenger/app", Some(&operator), None).unwrap();
    assert_eq!(json_of(&shown)["settings"]["app_id"], "1517394850012345", "{shown}");
}

/// A fake LINE Messaging API on a thread per connection: the bot's info, and pushes answered
/// after 20 ms; the texts pushed, per user, in the order answered. Once `hold_after` pushes are
/// answered, the next ones wait unanswered until [`FakeLinePushes::release`].
struct FakeLinePushes {
    port: u16,
    pushes: Arc<(Mutex<Pushes>, Condvar)>,
}

struct Pushes {
    /// (user, text) of each push, in the order answered.
    texts: Vec<(String, String)>,
    hold_after: Option<usize>,
}

impl FakeLinePushes {
    fn start(hold_after: usize) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let pushes = Arc::new((Mutex::new(Pushes { texts: Vec::new(), hold_after: Some(hold_after) }), Condvar::new()));
        let record = pushes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let record = record.clone();
                std::thread::spawn(move || {
                    let _ = answer_line(stream, &record);
                });
            }
        });
        Self { port, pushes }
    }

    fn texts(&self) -> Vec<(String, String)> {
        self.pushes.0.lock().unwrap().texts.clone()
    }

    /// The held pushes are answered (to whoever still listens), and every one after them.
    fn release(&self) {
        self.pushes.0.lock().unwrap().hold_after = None;
        self.pushes.1.notify_all();
    }
}

fn answer_line(mut stream: TcpStream, pushes: &(Mutex<Pushes>, Condvar)) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let answer = if request_line.starts_with("GET /v2/bot/info") {
        r#"{"userId":"Ubot","basicId":"@toko","displayName":"Toko Budi","chatMode":"chat","markAsReadMode":"manual"}"#.to_owned()
    } else if request_line.starts_with("POST /v2/bot/message/push") {
        std::thread::sleep(Duration::from_millis(20));
        let push: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let (state, released) = pushes;
        let mut state = state.lock().unwrap();
        while state.hold_after.is_some_and(|count| state.texts.len() >= count) {
            state = released.wait(state).unwrap();
        }
        state.texts.push((push["to"].as_str().unwrap_or_default().to_owned(), push["messages"][0]["text"].as_str().unwrap_or_default().to_owned()));
        format!(r#"{{"sentMessages":[{{"id":"{}","quoteToken":"q"}}]}}"#, state.texts.len())
    } else {
        r#"{"message":"Not found"}"#.to_owned()
    };
    write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}", answer.len())
}

/// The channel secret of the LINE channels the kill tests connect.
const LINE_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A ready server on `data` that may reach `allow` (`host:port`).
fn ready_server_allowing(data: &Path, allow: &str) -> Server {
    let server = Server::start(data, &[("SWITCHBOARD_ALLOW_OUTBOUND", allow)]);
    server.wait_ready();
    server
}

/// A server on `data` allowed to reach a fake LINE API on `port`, with a LINE channel
/// connected to it by `admin`; the server, what it is allowed to reach, the channel's id.
fn server_with_line_channel(data: &Path, admin: &str, port: u16) -> (Server, String, String) {
    let allow = format!("127.0.0.1:{port}");
    let server = ready_server_allowing(data, &allow);
    let settings = serde_json::json!({"plugin": "line", "name": "Toko Budi", "settings": {"channel_secret": LINE_SECRET, "channel_access_token": "t", "api_base_url": format!("http://{allow}")}});
    let created = request(server.port, "POST", "/api/v1/channels", Some(admin), Some(&settings.to_string())).unwrap();
    assert_eq!(status_of(&created), 201, "{created}");
    let channel = json_of(&created)["id"].as_str().unwrap().to_owned();
    (server, allow, channel)
}

/// `body` posted to the channel's webhook, signed as LINE signs it; the raw response.
fn deliver_line(port: u16, channel: &str, body: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(LINE_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    request_with(port, "POST", &format!("/webhooks/{channel}"), &[("x-line-signature", &signature)], body).unwrap()
}

#[test]
fn a_kill_9_during_concurrent_delivery_loses_no_reply_and_keeps_each_conversations_order() {
    // The provider answers 30 pushes, then holds the rest until the kill: it lands partway by
    // construction, however the speed of queueing (a commit each) and sending compare.
    let line = FakeLinePushes::start(30);
    let data = tempfile::tempdir().unwrap();
    let admin = token("admin", data.path());
    let (mut server, allow, channel) = server_with_line_channel(data.path(), &admin, line.port);
    // Ten customers write (signed as LINE signs), without reply tokens: every answer is a push.
    for user in 0..10 {
        let body = serde_json::json!({"destination": "Ubot", "events": [{"type": "message", "timestamp": 1_763_600_000_000u64 + user,
            "webhookEventId": format!("01KILL{user:04}"), "source": {"type": "user", "userId": format!("U{user:032}")},
            "message": {"id": format!("7{user:08}"), "type": "text", "text": "Halo"}}]})
        .to_string();
        let response = deliver_line(server.port, &channel, &body);
        assert_eq!(status_of(&response), 200, "{response}");
    }
    let listed = json_of(&request(server.port, "GET", &format!("/api/v1/conversations?channel={channel}"), Some(&admin), None).unwrap());
    let conversations: Vec<i64> = listed.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(conversations.len(), 10);
    for round in 0..15 {
        for conversation in &conversations {
            let body = serde_json::json!({"text": format!("{conversation}:{round:02}")}).to_string();
            let queued = request(server.port, "POST", &format!("/api/v1/conversations/{conversation}/messages"), Some(&admin), Some(&body)).unwrap();
            assert_eq!(status_of(&queued), 202, "{queued}");
        }
    }
    // Partway through the deliveries: kill -9, while the pushes after the first 30 wait.
    wait_for(|| (line.texts().len() >= 30).then_some(()), || format!("deliveries did not start\n{}", server.log.lock().unwrap()));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let at_kill = line.texts().len();
    // Those waiting are taken now, as by a provider that got them before the sender died.
    line.release();
    assert!(at_kill < 150, "killed partway ({at_kill} of 150 sent)");
    // Started again on the same data: the rest goes out.
    let server = ready_server_allowing(data.path(), &allow);
    let distinct = || line.texts().into_iter().map(|(_, text)| text).collect::<std::collections::BTreeSet<String>>().len();
    wait_for(|| (distinct() == 150).then_some(()), || format!("{} of 150 replies after the restart\n{}", distinct(), server.log.lock().unwrap()));
    // Nothing was taken before the restarted server had loaded LINE (a send taken then failed as
    // "plugin not loaded" and waited a 30-s retry).
    let log = server.log.lock().unwrap().clone();
    assert!(!log.contains("is not loaded"), "a send was tried before the plugins were in:\n{log}");
    let texts = line.texts();
    let twice = texts.len() - 150;
    assert!(twice <= 64, "only sends in flight at the kill may go twice: {twice}");
    // Each conversation's replies, first arrivals, in the order queued.
    for conversation in &conversations {
        let mut seen = Vec::new();
        for (_, text) in &texts {
            if text.starts_with(&format!("{conversation}:")) && !seen.contains(text) {
                seen.push(text.clone());
            }
        }
        let expected: Vec<String> = (0..15).map(|round| format!("{conversation}:{round:02}")).collect();
        assert_eq!(seen, expected, "conversation {conversation} in order");
    }
    println!("kill -9 after {at_kill} of 150 sends: all 150 delivered after the restart, {twice} sent twice");
}


/// A fake LINE data API on a thread per connection: the bot's info, and one message's content
/// (with the channel token only). The first download sends half the bytes, then stalls (the
/// host is killed meanwhile); later ones send everything.
struct FakeLineContent {
    port: u16,
    downloads: Arc<AtomicUsize>,
}

impl FakeLineContent {
    fn start(content: Vec<u8>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let downloads = Arc::new(AtomicUsize::new(0));
        let (counted, content) = (downloads.clone(), Arc::new(content));
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (counted, content) = (counted.clone(), content.clone());
                std::thread::spawn(move || {
                    let _ = answer_line_content(stream, &counted, &content);
                });
            }
        });
        Self { port, downloads }
    }
}

fn answer_line_content(mut stream: TcpStream, downloads: &AtomicUsize, content: &[u8]) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorized = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        authorized |= line.to_ascii_lowercase().starts_with("authorization: bearer t\r");
    }
    if request_line.starts_with("GET /v2/bot/message/9001/content ") && authorized {
        let nth = downloads.fetch_add(1, Ordering::SeqCst);
        write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", content.len())?;
        if nth == 0 {
            stream.write_all(&content[..content.len() / 2])?;
            stream.flush()?;
            std::thread::sleep(Duration::from_secs(60));
            return Ok(());
        }
        return stream.write_all(content);
    }
    let answer = if request_line.starts_with("GET /v2/bot/info") {
        r#"{"userId":"Ubot","basicId":"@toko","displayName":"Toko Budi","chatMode":"chat","markAsReadMode":"manual"}"#
    } else {
        r#"{"message":"Not found"}"#
    };
    write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}", answer.len())
}

#[test]
fn a_kill_9_during_a_download_loses_no_file_the_fetch_resumes_after_the_restart() {
    use sha2::Digest;
    let mut content = b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec();
    content.extend((0..3_000_000u32).map(|i| (i % 253) as u8));
    let expected = hex::encode(sha2::Sha256::digest(&content));
    let line = FakeLineContent::start(content);
    let data = tempfile::tempdir().unwrap();
    let admin = token("admin", data.path());
    let (mut server, allow, channel) = server_with_line_channel(data.path(), &admin, line.port);
    let body = serde_json::json!({"destination": "Ubot", "events": [{"type": "message", "timestamp": 1_763_600_000_000u64,
        "webhookEventId": "01KILLMEDIA", "source": {"type": "user", "userId": format!("U{:032}", 7)},
        "message": {"id": "9001", "type": "image", "contentProvider": {"type": "line"}}}]})
    .to_string();
    let response = deliver_line(server.port, &channel, &body);
    assert_eq!(status_of(&response), 200, "{response}");
    // Halfway through the download (the fake stalls there for a minute): kill -9.
    wait_for(|| (line.downloads.load(Ordering::SeqCst) > 0).then_some(()), || format!("the download did not start\n{}", server.log.lock().unwrap()));
    std::thread::sleep(Duration::from_millis(300));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let file_of = |port: u16| {
        let listed = json_of(&request(port, "GET", &format!("/api/v1/conversations?channel={channel}"), Some(&admin), None).unwrap());
        let conversation = listed[0]["id"].as_i64().expect("the message was stored before the kill");
        let messages = json_of(&request(port, "GET", &format!("/api/v1/conversations/{conversation}/messages"), Some(&admin), None).unwrap());
        messages[0]["content"]["attachments"][0]["file"].clone()
    };
    // Started again on the same data: the download runs again, whole.
    let server = ready_server_allowing(data.path(), &allow);
    let deadline = Instant::now() + PATIENCE;
    let file = loop {
        let file = file_of(server.port);
        if file["state"] == "stored" {
            break file;
        }
        assert!(file["state"] == "pending", "{file}");
        assert!(Instant::now() < deadline, "not stored after the restart: {file}\n{}", server.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(file["sha256"], expected.as_str(), "{file}");
    assert_eq!(file["mime_type"], "image/jpeg");
    let kept = std::fs::read(data.path().join("media").join(&expected[..2]).join(&expected)).unwrap();
    assert_eq!(hex::encode(sha2::Sha256::digest(&kept)), expected, "the bytes on disk are whole");
    assert!(line.downloads.load(Ordering::SeqCst) >= 2);
    assert_eq!(std::fs::read_dir(data.path().join("media/incoming")).unwrap().count(), 0, "the half download was cleared");
}

#[test]
fn plugin_check_and_plugin_call_answer_on_the_command_line_with_exit_codes_that_say_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, telegram) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(p, _)| *p == "switchboard-telegram").unwrap();
    let component = dir.path().join("telegram.wasm");
    std::fs::write(&component, telegram).unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(BIN).args(args).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let file = component.to_str().unwrap();
    let (code, stdout, stderr) = run(&["plugin", "check", file]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.ends_with("PASS (7 checks)\n"), "{stdout}");
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not wasm").unwrap();
    let (code, stdout, _) = run(&["plugin", "check", junk.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  loads:"), "{stdout}");

    let (code, stdout, stderr) = run(&["plugin", "call", file, "manifest"]);
    assert_eq!(code, Some(0), "{stderr}");
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["ok"]["id"], "telegram", "{answer}");
    let input = dir.path().join("update.json");
    std::fs::write(&input, r#"{"headers": {"x-telegram-bot-api-secret-token": "wrong"}, "body": {"update_id": 1}}"#).unwrap();
    let (code, stdout, _) = run(&["plugin", "call", file, "handle-webhook", "--input", input.to_str().unwrap(), "--setting", "webhook_secret=right"]);
    assert_eq!(code, Some(0), "a refusal is an answer");
    assert!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["refused"]["Unauthorized"].is_string(), "{stdout}");
    let (code, _, stderr) = run(&["plugin", "call", file, "handle-webhook", "--setting", "nonsense"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--setting `nonsense`: write KEY=VALUE"), "{stderr}");
}

fn resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap().trim().trim_end_matches("kB").trim().parse().unwrap();
    kib * 1024
}

#[test]
fn a_cold_start_compiles_in_child_processes_and_holds_no_more_memory_than_a_warm_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cache = own_compile_cache(&data);
    let started = |label: &str| {
        let server = Server::start(&data, &[("SWITCHBOARD_COMPILE_CACHE", &cache)]);
        server.wait_ready();
        // Settled: the pool's warm slots and the allocator as they stay.
        std::thread::sleep(Duration::from_millis(500));
        let rss = resident(server.child.id());
        eprintln!("{label} start: {} MiB resident", rss >> 20);
        rss
    };
    let cold = started("cold");
    let entries = std::fs::read_dir(data.join("cache")).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "cwasm")).count();
    assert!(entries >= 9, "every first-party plugin is in the compile cache: {entries}");
    let warm = started("warm");
    // Compiling in-process left a cold start about twice a warm one (131 vs 62 MiB). Now both
    // measure 64-78 MiB either way round (the pool's warm slots and the allocator vary run to
    // run), so the bound is that noise, well below what compiling in-process added.
    assert!(cold <= warm + (20 << 20), "cold {} MiB against warm {} MiB", cold >> 20, warm >> 20);
}

/// A tmpfs mounted on a folder for a test, unmounted when dropped: a disk that can be filled
/// and freed. Mounting needs root (CI runs as root); `None` elsewhere.
struct SmallDisk {
    folder: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(folder: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(folder).unwrap();
        let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(folder).output().ok()?;
        mounted.status.success().then(|| Self { folder: folder.to_path_buf() })
    }

    /// Writes a filler file until the disk is full; its path.
    fn fill(&self) -> std::path::PathBuf {
        let filler = self.folder.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 << 10];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.folder).status();
    }
}

/// A LINE text webhook of customer `user`, message `n`: every one distinct.
fn line_text_webhook(user: u64, n: u64) -> String {
    serde_json::json!({"destination": "Ubot", "events": [{"type": "message", "timestamp": 1_763_600_000_000u64 + n,
        "webhookEventId": format!("01DISK{user:02}{n:06}"), "source": {"type": "user", "userId": format!("U{user:032}")},
        "message": {"id": format!("8{user:02}{n:06}"), "type": "text", "text": format!("pesan {n}")}}]})
    .to_string()
}

#[test]
fn a_full_disk_answers_webhooks_503_loses_nothing_acknowledged_and_serves_again_once_space_is_freed() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let Some(disk) = SmallDisk::mount(&data, "256m") else {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    let line = FakeLinePushes::start(usize::MAX);
    let admin = token("admin", &data);
    let (server, _, channel) = server_with_line_channel(&data, &admin, line.port);
    let mut acknowledged = Vec::new();
    let mut n = 0;
    let deliver = |n: u64| {
        let response = deliver_line(server.port, &channel, &line_text_webhook(1, n));
        (status_of(&response), response)
    };
    for _ in 0..20 {
        n += 1;
        let (status, response) = deliver(n);
        assert_eq!(status, 200, "{response}");
        acknowledged.push(n);
    }

    let filler = disk.fill();
    // Full: webhooks are refused with 503 (the provider sends them again), as many as it takes
    // for the database to meet the full disk (a write may still fit in pages it holds).
    let mut refused = 0;
    while refused < 5 {
        n += 1;
        assert!(n < 5_000, "the full disk was never noticed");
        let (status, response) = deliver(n);
        match status {
            200 => acknowledged.push(n),
            503 => {
                assert_eq!(json_of(&response)["error"], "storage_unavailable", "{response}");
                refused += 1;
            }
            other => panic!("a full disk answered {other}: {response}"),
        }
    }
    let readiness = request(server.port, "GET", "/readyz", None, None).unwrap();
    assert!(matches!(status_of(&readiness), 200 | 503), "{readiness}");

    // Freed: the same server takes webhooks again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    wait_for(
        || {
            n += 1;
            let (status, _) = deliver(n);
            (status == 200).then(|| acknowledged.push(n))
        },
        || format!("no webhook taken after space was freed\n{}", server.log.lock().unwrap()),
    );
    for _ in 0..10 {
        n += 1;
        let (status, response) = deliver(n);
        assert_eq!(status, 200, "{response}");
        acknowledged.push(n);
    }
    wait_for(|| (status_of(&request(server.port, "GET", "/readyz", None, None).unwrap()) == 200).then_some(()), || "not ready again".into());

    // Every acknowledged webhook is stored, once.
    let listed = json_of(&request(server.port, "GET", &format!("/api/v1/conversations?channel={channel}"), Some(&admin), None).unwrap());
    let conversation = listed[0]["id"].as_i64().expect("the customer's conversation");
    let mut stored = Vec::new();
    let mut before = String::new();
    loop {
        let page = json_of(&request(server.port, "GET", &format!("/api/v1/conversations/{conversation}/messages?limit=200{before}"), Some(&admin), None).unwrap());
        let messages = page.as_array().cloned().unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        let oldest = messages.iter().filter_map(|m| m["id"].as_i64()).min().unwrap();
        stored.extend(messages.iter().filter_map(|m| m["text"].as_str().or(m["content"]["text"].as_str()).map(str::to_owned)));
        if messages.len() < 200 {
            break;
        }
        before = format!("&before={oldest}");
    }
    for n in &acknowledged {
        let text = format!("pesan {n}");
        assert_eq!(stored.iter().filter(|t| **t == text).count(), 1, "acknowledged webhook {n} stored once (stored: {})", stored.len());
    }
    println!("disk full: {} acknowledged, {refused} refused with 503, all acknowledged stored", acknowledged.len());
}
