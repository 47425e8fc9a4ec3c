//! The `switchboard` binary as an operator runs it: `token create` prints one token on stdout,
//! `serve` starts with the first-party plugins and accepts that token; plugins pushed to and
//! installed from a registry that asks for credentials.

use std::process::Command;
use std::time::Duration;

mod support;

use support::oci_registry::{OciRegistry, PASSWORD, USER};
use support::{BIN, Server, install_from_registry, own_compile_cache, json_of, plugin_version, request, status_of, telegram_next_version, token, wait_for};

#[test]
fn token_create_prints_one_token_and_refuses_unknown_roles() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(BIN).args(["token", "create", "--role", "agent", "--data-dir"]).arg(data.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "only the token on stdout: {stdout:?}");
    assert!(stdout.trim().starts_with("sb_"));

    let output = Command::new(BIN).args(["token", "create", "--role", "boss", "--data-dir"]).arg(data.path()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("boss") && stderr.contains("admin"), "names the bad value and the good ones: {stderr}");
}

#[test]
fn token_create_checks_the_role_against_the_workspace() {
    let data = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(&["token", "create", "--role", "operator"], data.path());
    assert!(ok, "{stderr}");
    assert!(stdout.trim().starts_with("sb_") && stdout.lines().count() == 1, "{stdout:?}");

    let (ok, stdout, stderr) = run(&["token", "create", "--role", "operator", "--workspace", "1"], data.path());
    assert!(!ok && stdout.is_empty(), "an operator token has no workspace: {stdout}");
    assert!(stderr.contains("leave out --workspace"), "{stderr}");

    let (ok, stdout, stderr) = run(&["token", "create", "--role", "admin", "--workspace", "7"], data.path());
    assert!(!ok && stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("there is no workspace 7"), "{stderr}");

    let (ok, stdout, stderr) = run(&["token", "create", "--role", "admin", "--workspace", "1"], data.path());
    assert!(ok && stdout.trim().starts_with("sb_"), "the first workspace exists from the start: {stderr}");
}

#[test]
fn serve_loads_telegram_and_accepts_a_created_token() {
    let data = tempfile::tempdir().unwrap();
    let token = Command::new(BIN).args(["token", "create", "--role", "admin", "--data-dir"]).arg(data.path()).output().unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();

    let server = Server::start(data.path(), &[]);
    // HTTP is served while plugins load: ready once they are, Telegram's among them.
    server.wait_ready();
    let loaded = |log: &str| log.contains("serving") && log.lines().any(|line| line.contains("plugin loaded") && line.contains("telegram"));
    wait_for(|| loaded(server.log.lock().unwrap().as_str()).then_some(()), || format!("no Telegram load in the log:\n{}", server.log.lock().unwrap()));

    let body = http_get(server.port, "/api/v1/plugins", &token);
    assert!(body.contains("\"id\":\"telegram\""), "{body}");
    // Compiled into the cache it was given (`SWITCHBOARD_COMPILE_CACHE`, the tests' shared one),
    // not the data dir's.
    assert!(!switchboard::data_dir::cache_dir(data.path()).exists(), "the data dir's cache was used");
    assert!(support::shared_compile_cache().read_dir().unwrap().any(|e| e.unwrap().path().extension().is_some_and(|x| x == "cwasm")));
}

/// A cold start compiles every plugin in a child process, which also asks the plugin its
/// load-time answers: under the server's own call limit (the answers are kept with it, so a
/// server with another limit asks again), never falling back to compiling in-process. An
/// unsigned file in the plugins folder (this host runs signed ones only) is not among them:
/// asking its answers would run its code before its load refuses it.
#[test]
fn a_cold_start_asks_load_answers_in_children_under_the_servers_call_limit() {
    let data = tempfile::tempdir().unwrap();
    let (_, telegram) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(package, _)| package.contains("telegram")).unwrap();
    // The built-in's bytes and a custom section of its own: a component no cache holds, unsigned.
    let unsigned = [telegram.to_vec(), vec![0, 6, 1, b'x', b'c', b'o', b'p', b'y']].concat();
    std::fs::create_dir_all(data.path().join("plugins")).unwrap();
    std::fs::write(data.path().join("plugins/telegram-copy.wasm"), unsigned).unwrap();
    let cache = own_compile_cache(data.path());
    let server = Server::start(data.path(), &[("SWITCHBOARD_PLUGIN_TIMEOUT_MS", "4321"), ("SWITCHBOARD_COMPILE_CACHE", &cache)]);
    server.wait_ready();
    let cache = switchboard::data_dir::cache_dir(data.path());
    let kept: Vec<serde_json::Value> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".answers.json"))
        .map(|path| serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
        .collect();
    assert_eq!(kept.len(), switchboard::plugins::FIRST_PARTY_PLUGINS.len(), "one answers file per first-party plugin in {}", cache.display());
    for file in &kept {
        assert_eq!(file["call_timeout_ms"], 4321, "asked under the server's limit: {}", file["answers"]["manifest"]["id"]);
        assert_eq!(file["format"], 1);
    }
    let log = server.log.lock().unwrap().clone();
    assert!(!log.contains("compiling in-process"), "every child compiled and loaded its plugin:\n{log}");
    assert!(log.contains("telegram-copy.wasm") && log.contains("not signed"), "the unsigned file was refused at its load:\n{log}");
}

/// A plain HTTP/1.1 GET with a bearer token; returns the whole response.
fn http_get(port: u16, path: &str, token: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn run(args: &[&str], data_dir: &std::path::Path) -> (bool, String, String) {
    let output = Command::new(BIN).args(args).arg("--data-dir").arg(data_dir).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn plugin_commands_inspect_install_list_and_remove() {
    let data = tempfile::tempdir().unwrap();
    let (_, telegram) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(name, _)| name.contains("telegram")).unwrap();
    let file = data.path().join("telegram-copy.wasm");
    std::fs::write(&file, telegram).unwrap();

    let output = Command::new(BIN).args(["plugin", "inspect"]).arg(&file).output().unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for expected in ["id:             telegram", "wit version:    0.1.4", "api.telegram.org", "bot_token", "required, secret"] {
        assert!(shown.contains(expected), "inspect shows {expected:?}: {shown}");
    }

    let (ok, out, err) = run(&["plugin", "install", file.to_str().unwrap()], data.path());
    assert!(ok, "{err}");
    assert!(out.contains("installed telegram 0.1.0"), "{out}");
    assert!(data.path().join("plugins/telegram.wasm").exists());
    let (ok, out, _) = run(&["plugin", "list"], data.path());
    assert!(ok);
    assert!(out.contains("built-in") && out.contains("plugins/telegram.wasm"), "{out}");

    let garbage = data.path().join("garbage.wasm");
    std::fs::write(&garbage, b"not wasm").unwrap();
    let (ok, _, err) = run(&["plugin", "install", garbage.to_str().unwrap()], data.path());
    assert!(!ok);
    assert!(err.contains("not a WebAssembly component"), "{err}");

    let (ok, out, err) = run(&["plugin", "remove", "telegram"], data.path());
    assert!(ok, "{err}");
    assert!(out.contains("built-in telegram serves again"), "{out}");
    let (ok, _, err) = run(&["plugin", "remove", "telegram"], data.path());
    assert!(!ok);
    assert!(err.contains("built into Switchboard"), "{err}");
}

#[test]
fn keygen_and_sign_make_a_component_the_configured_key_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("acme.key");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard")).args(["plugin", "keygen", "--out"]).arg(&key).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let public = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o077, 0, "the private key is the owner's only");
    }
    let again = Command::new(env!("CARGO_BIN_EXE_switchboard")).args(["plugin", "keygen", "--out"]).arg(&key).output().unwrap();
    assert!(!again.status.success(), "an existing key is never overwritten");

    let (_, telegram) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(n, _)| n.contains("telegram")).unwrap();
    let file = dir.path().join("plugin.wasm");
    std::fs::write(&file, telegram).unwrap();
    let signed = dir.path().join("signed.wasm");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard")).args(["plugin", "sign"]).arg(&file).arg("--key").arg(&key).arg("--out").arg(&signed).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let trusted = [switchboard::signing::parse_public_key(&public).unwrap()];
    assert_eq!(switchboard::signing::verify(&std::fs::read(&signed).unwrap(), &trusted), switchboard::signing::Verdict::Trusted(public.clone()));
    assert_eq!(switchboard::signing::verify(&std::fs::read(&file).unwrap(), &trusted), switchboard::signing::Verdict::Unsigned, "--out leaves the input as it was");

    let check = Command::new(env!("CARGO_BIN_EXE_switchboard")).args(["config", "check", "--trusted-key", &public]).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let check = Command::new(env!("CARGO_BIN_EXE_switchboard")).args(["config", "check", "--trusted-key", "bm90IGEga2V5"]).output().unwrap();
    assert!(!check.status.success() && String::from_utf8_lossy(&check.stderr).contains("trusted_keys"), "a bad key is named");
}

/// A registry that asks for credentials (basic auth, as a private `docker-registry` with an
/// htpasswd file). Switchboard takes them from the docker config file only, as `docker login`
/// writes it (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; no flags), read at
/// every request to the registry: `plugin push` and `plugin install oci://…` are refused without
/// credentials and with a wrong password, naming the registry and why, nothing pushed or
/// installed; after `docker login` both work. A server whose process reads that file answers
/// `POST /api/v1/plugins {"source"}` with 422 `registry_unauthorized` and the reason while
/// credentials are missing or wrong, installing nothing, then installs (the file rewritten
/// while it runs); no password in its log.
#[test]
fn a_registry_asking_for_credentials_gets_them_from_the_docker_config_file_for_push_install_and_the_api() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let registry = runtime.block_on(OciRegistry::start_with_credentials());
    let authority = registry.authority.clone();
    let (component, built_in, next) = telegram_next_version();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("telegram.wasm");
    std::fs::write(&file, &component).unwrap();
    let repository = format!("oci://{authority}/private/telegram");
    let version = semver::Version::parse(&next).unwrap();
    let range = format!("{repository}:^{}.{}", version.major, version.minor);
    // What `DOCKER_CONFIG` names: no config.json (no credentials at all) until a login.
    let docker = tempfile::tempdir().unwrap();
    let logout = || {
        let _ = std::fs::remove_file(docker.path().join("config.json"));
    };
    let wrong_password = "not-the-password";
    let missing = format!("{authority} asks for credentials");
    let refused = format!("{authority} refused access to private/telegram (401 Unauthorized) with the credentials of `{USER}`");
    let outcome = |output: std::process::Output| {
        (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
    };

    // `plugin push`: refused without credentials and with a wrong password; pushed after a login.
    let push = || outcome(Command::new(BIN).args(["plugin", "push"]).arg(&file).arg(&repository).env("DOCKER_CONFIG", docker.path()).output().unwrap());
    let (ok, _, err) = push();
    assert!(!ok && err.contains(&missing) && err.contains("docker config file"), "{err}");
    registry.docker_login(docker.path(), USER, wrong_password);
    let (ok, _, err) = push();
    assert!(!ok && err.contains(&refused), "{err}");
    assert_eq!(runtime.block_on(registry.tags("private/telegram")), Vec::<String>::new(), "nothing pushed");
    registry.docker_login(docker.path(), USER, PASSWORD);
    let (ok, out, err) = push();
    assert!(ok, "{err}");
    assert!(out.starts_with(&format!("pushed telegram {next} to {repository}:{next} (sha256:")), "{out}");
    assert_eq!(runtime.block_on(registry.tags("private/telegram")), [next.clone()]);

    // `plugin install oci://…` (a range: the tags list needs the credentials too), the same way.
    let data = tempfile::tempdir().unwrap();
    let install = || {
        outcome(Command::new(BIN).args(["plugin", "install", range.as_str(), "--data-dir"]).arg(data.path()).env("DOCKER_CONFIG", docker.path()).output().unwrap())
    };
    let placed = data.path().join("plugins").join("telegram.wasm");
    logout();
    let (ok, _, err) = install();
    assert!(!ok && err.contains(&missing), "{err}");
    registry.docker_login(docker.path(), USER, wrong_password);
    let (ok, _, err) = install();
    assert!(!ok && err.contains(&refused), "{err}");
    assert!(!placed.exists(), "nothing installed");
    registry.docker_login(docker.path(), USER, PASSWORD);
    let (ok, out, err) = install();
    assert!(ok, "{err}");
    assert!(out.contains(&format!("installed telegram {next} from {repository}:{next} (sha256:")), "{out}");
    assert_eq!(std::fs::read(&placed).unwrap(), component, "the very bytes pushed");
    assert_eq!(std::fs::read_to_string(data.path().join("plugins").join("telegram.source")).unwrap().trim(), repository);

    // The API, on a server whose process reads the same file.
    let data = tempfile::tempdir().unwrap();
    let operator = token("operator", data.path());
    logout();
    let envs = [
        ("DOCKER_CONFIG", docker.path().to_str().unwrap()),
        ("SWITCHBOARD_ALLOW_OUTBOUND", authority.as_str()),
        ("SWITCHBOARD_ALLOW_UNSIGNED_PLUGINS", "true"),
    ];
    let server = Server::start(data.path(), &envs);
    server.wait_ready();
    let record = data.path().join("plugins").join("telegram.source");
    for (password, says) in [(None, &missing), (Some(wrong_password), &refused)] {
        match password {
            Some(password) => registry.docker_login(docker.path(), USER, password),
            None => logout(),
        }
        let answer = install_from_registry(server.port, &operator, &range);
        let refusal = json_of(&answer);
        assert_eq!((status_of(&answer), refusal["error"].as_str()), (422, Some("registry_unauthorized")), "{answer}");
        assert!(refusal["message"].as_str().is_some_and(|message| message.contains(says.as_str())), "{answer}");
    }
    assert_eq!(plugin_version(server.port, &operator, "telegram").as_deref(), Some(built_in.as_str()), "nothing installed");
    let reviews = request(server.port, "GET", "/api/v1/plugin-reviews", Some(&operator), None).unwrap();
    assert_eq!(json_of(&reviews), serde_json::json!([]), "nothing waits for approval: {reviews}");
    assert!(!record.exists());
    registry.docker_login(docker.path(), USER, PASSWORD);
    let answer = install_from_registry(server.port, &operator, &range);
    // Unsigned over the built-in (another signer): the operator approves it, though it asks nothing new.
    assert_eq!(status_of(&answer), 202, "{answer}");
    assert_eq!(json_of(&answer)["review"]["replaces_signer"], "built-in", "{answer}");
    let answer = request(server.port, "POST", "/api/v1/plugin-reviews/telegram/approve", Some(&operator), Some("{}")).unwrap();
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_eq!(json_of(&answer)["version"], next.as_str(), "{answer}");
    assert_eq!(plugin_version(server.port, &operator, "telegram").as_deref(), Some(next.as_str()));
    assert_eq!(std::fs::read_to_string(&record).unwrap().trim(), repository);
    let log = server.log.lock().unwrap().clone();
    assert!(!log.contains(PASSWORD) && !log.contains(wrong_password), "a password in the log:\n{log}");
}

/// `cargo build --workspace` (a Rust developer's habit, and what an editor's `cargo check` does)
/// compiles every member for the host: the wasm-only test plugins are empty crates there. The
/// host and the e2e crate are built by this suite itself; the rest is checked here, in a folder
/// of its own (kept between runs). A check, not a build: what fails natively fails to compile
/// (wit-bindgen's imports are stubs off wasm, so nothing is left for the linker to refuse), and
/// the native code generation doubled the work for nothing more (cold: 65 s built, 39 s checked).
#[test]
fn every_workspace_member_compiles_natively() {
    let workspace = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["check", "--release", "--workspace", "--exclude", "switchboard", "--exclude", "switchboard-e2e"])
        .env("CARGO_TARGET_DIR", workspace.join("target/native-members"))
        .current_dir(workspace)
        .output()
        .unwrap();
    assert!(output.status.success(), "a workspace member does not build natively:\n{}", String::from_utf8_lossy(&output.stderr));
}
