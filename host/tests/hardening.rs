//! What attacks and faults found, closed: ids that are paths touch no file, bad input is a 4xx
//! in the JSON error shape on every route, restore refuses a data dir a server holds, the pages
//! cannot be framed, and half-sent requests do not hold the server.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{PATIENCE, Server, cli, json_of, request, status_of, token};

/// Ids as an attacker writes them: climbing out (`..`, encoded separators), absolute paths,
/// NUL and other control characters, and too long for any id.
fn hostile_ids(outside: &Path) -> Vec<String> {
    let absolute = outside.join("outside").display().to_string().replace('/', "%2F");
    vec![
        "..".into(),
        "..%2Fsentinel".into(),
        "..%2F..%2Foutside".into(),
        "..%2Fplugins%2Fsentinel".into(),
        "%2E%2E%2Fsentinel".into(),
        "..%5Csentinel".into(),
        absolute,
        "a%00b".into(),
        "sentinel%00".into(),
        "a%0Ab".into(),
        "a".repeat(300),
        // The longest a request line carries to the router (hyper refuses a URI of 64 KiB or more
        // itself, 414 with no body: see `a_uri_of_64_kib_is_refused_before_any_route`).
        "a".repeat((64 << 10) - 300),
    ]
}

/// Files an id-as-path would reach: in the data dir beside `pending/` and `plugins/`, inside
/// `plugins/`, and outside the data dir.
fn plant_sentinels(root: &Path, data: &Path) -> Vec<std::path::PathBuf> {
    std::fs::create_dir_all(data.join("plugins")).unwrap();
    let files = vec![
        data.join("sentinel.wasm"),
        data.join("sentinel.review.json"),
        data.join("plugins/sentinel.review.json"),
        root.join("outside.wasm"),
        root.join("outside.review.json"),
    ];
    for file in &files {
        std::fs::write(file, b"not yours").unwrap();
    }
    files
}

fn assert_client_error(response: &str, what: &str) {
    let status = status_of(response);
    assert!((400..500).contains(&status), "{what}: a client error, not {status}: {}", &response[..response.len().min(600)]);
    let body = json_of(response);
    assert!(body["error"].is_string() && body["message"].is_string(), "{what}: the JSON error shape: {}", &response[..response.len().min(600)]);
}

#[test]
fn ids_that_are_paths_reach_no_file_and_every_path_parameter_refuses_bad_input_as_a_4xx() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let sentinels = plant_sentinels(root.path(), &data);
    let operator = token("operator", &data);
    let server = Server::start(&data, &[]);
    server.wait_ready();

    // The routes whose ids name files: every hostile id is refused and nothing is touched.
    for id in hostile_ids(root.path()) {
        for (method, path) in [
            ("DELETE", format!("/api/v1/plugin-reviews/{id}")),
            ("POST", format!("/api/v1/plugin-reviews/{id}/approve")),
            ("DELETE", format!("/api/v1/plugins/{id}")),
            ("POST", format!("/webhooks/apps/{id}")),
            ("POST", format!("/webhooks/{id}")),
        ] {
            let response = request(server.port, method, &path, Some(&operator), Some("{}")).unwrap();
            assert_client_error(&response, &format!("{method} {}", &path[..path.len().min(120)]));
        }
    }
    for file in &sentinels {
        assert_eq!(std::fs::read(file).ok().as_deref(), Some(&b"not yours"[..]), "{} untouched", file.display());
    }

    // Every path parameter of every documented route, every method, as the operator.
    let document = json_of(&request(server.port, "GET", "/api/v1/openapi.json", None, None).unwrap());
    let mut probed = 0;
    for (template, operations) in document["paths"].as_object().unwrap() {
        if !template.contains('{') {
            continue;
        }
        for method in operations.as_object().unwrap().keys().filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str())) {
            let parameters = template.matches('{').count();
            for (target, id) in (0..parameters).flat_map(|target| hostile_ids(root.path()).into_iter().map(move |id| (target, id))) {
                // The hostile id in one parameter, a plain `1` in the others.
                let mut path = format!("/api/v1{template}");
                let mut index = 0;
                while let Some(start) = path.find('{') {
                    let end = path[start..].find('}').unwrap() + start;
                    path.replace_range(start..=end, if index == target { &id } else { "1" });
                    index += 1;
                }
                let response = request(server.port, &method.to_uppercase(), &path, Some(&operator), Some("{}")).unwrap();
                assert_client_error(&response, &format!("{method} {template} (parameter {target}) with {}", &id[..id.len().min(40)]));
                probed += 1;
            }
        }
    }
    assert!(probed > 300, "every parameterised route was probed ({probed})");
    for file in &sentinels {
        assert_eq!(std::fs::read(file).ok().as_deref(), Some(&b"not yours"[..]), "{} untouched", file.display());
    }

    // Text holding a NUL is bad input, not a storage failure; an unknown app route is 404.
    let response = request(server.port, "POST", "/api/v1/workspaces", Some(&operator), Some(r#"{"name":"Toko\u0000Budi"}"#)).unwrap();
    assert_eq!(status_of(&response), 422, "{response}");
    assert_eq!(json_of(&response)["error"], "invalid_request");
    let response = request(server.port, "POST", "/webhooks/apps/no-such-plugin", None, Some("{}")).unwrap();
    assert_eq!(status_of(&response), 404, "as the README says: {response}");
    let response = request(server.port, "GET", "/api/v1/conversations?q=a%00b", Some(&operator), None).unwrap();
    assert_client_error(&response, "a NUL in the query");
    // And the host still serves.
    assert_eq!(status_of(&request(server.port, "GET", "/readyz", None, None).unwrap()), 200);
}

#[test]
fn restore_refuses_a_data_dir_a_running_server_holds_and_a_broken_backup_replaces_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let operator = token("operator", &data);
    let backup = root.path().join("first.db");
    let (ok, _, stderr) = cli(&["backup", backup.to_str().unwrap()], &data);
    assert!(ok, "{stderr}");

    let mut server = Server::start(&data, &[]);
    server.wait_ready();
    let response = request(server.port, "POST", "/api/v1/workspaces", Some(&operator), Some(r#"{"name":"Made after the backup"}"#)).unwrap();
    assert_eq!(status_of(&response), 201, "{response}");
    let (ok, _, stderr) = cli(&["restore", backup.to_str().unwrap(), "--force"], &data);
    assert!(!ok, "a restore under a running server is refused");
    let pid = server.child.id().to_string();
    assert!(stderr.contains("is running") && stderr.contains(&pid), "names the server's process {pid}: {stderr}");
    assert!(!data.join("switchboard.db.before-restore").exists(), "nothing was moved aside");
    let response = request(server.port, "GET", "/api/v1/workspaces", Some(&operator), None).unwrap();
    assert!(response.contains("Made after the backup"), "the server's data is whole: {response}");
    server.terminate();
    assert_eq!(server.exit_within(PATIENCE), Some(0));

    // A backup that does not open replaces nothing.
    let broken = root.path().join("broken.db");
    std::fs::write(&broken, b"this is not a database").unwrap();
    std::fs::copy(root.path().join("first.db.key"), root.path().join("broken.db.key")).unwrap();
    let (ok, _, stderr) = cli(&["restore", broken.to_str().unwrap(), "--force"], &data);
    assert!(!ok && stderr.contains("nothing was replaced"), "{stderr}");
    let server = Server::start(&data, &[]);
    server.wait_ready();
    let response = request(server.port, "GET", "/api/v1/workspaces", Some(&operator), None).unwrap();
    assert!(response.contains("Made after the backup"), "the data dir is as it was: {response}");
    drop(server);

    // Stopped: the restore goes through, and the server starts on the restored data.
    let (ok, _, stderr) = cli(&["restore", backup.to_str().unwrap(), "--force"], &data);
    assert!(ok, "{stderr}");
    let server = Server::start(&data, &[]);
    server.wait_ready();
    let response = request(server.port, "GET", "/api/v1/workspaces", Some(&operator), None).unwrap();
    assert_eq!(status_of(&response), 200, "{response}");
    assert!(!response.contains("Made after the backup"), "the backup's data: {response}");
}

#[test]
fn pages_cannot_be_framed_or_sniffed_and_run_only_their_own_script() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    server.wait_ready();
    for path in ["/", "/admin/js/main.js", "/admin/js/pages/inbox.js", "/admin/i18n/id.json", "/admin/app.css", "/api/v1/docs"] {
        let response = request(server.port, "GET", path, None, None).unwrap();
        assert_eq!(status_of(&response), 200, "{path}");
        let head = response.split_once("\r\n\r\n").unwrap().0.to_ascii_lowercase();
        assert!(head.contains("x-frame-options: deny"), "{path}: {head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{path}: {head}");
        let policy = head.lines().find_map(|l| l.strip_prefix("content-security-policy: ")).unwrap_or_else(|| panic!("{path}: no CSP: {head}"));
        assert!(policy.contains("frame-ancestors 'none'"), "{path}: {policy}");
        if path != "/api/v1/docs" {
            assert!(policy.contains("script-src 'self';") && !policy.contains("unsafe-inline"), "{path}: {policy}");
        }
    }
}

#[test]
fn five_hundred_half_sent_requests_do_not_hold_the_server_and_are_closed_after_the_header_timeout() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    server.wait_ready();
    let opened = Instant::now();
    let mut lorises = Vec::new();
    for _ in 0..500 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream.write_all(b"POST /webhooks/ch_slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
        lorises.push(stream);
    }
    // A webhook meanwhile is answered (a channel that does not exist: 404, from the route).
    let started = Instant::now();
    let response = request(server.port, "POST", "/webhooks/ch_missing", None, Some("{}")).unwrap();
    assert_eq!(status_of(&response), 404, "{response}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered beside 500 half-sent requests in {:?}", started.elapsed());

    // Each half-sent request is closed once the header timeout (10 s) passes, not held.
    let deadline = Instant::now() + PATIENCE;
    for mut stream in lorises {
        stream.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)))).unwrap();
        let outcome = stream.read_to_end(&mut Vec::new());
        let held = matches!(&outcome, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
        assert!(!held, "a half-sent request was still held {PATIENCE:?} after it was sent");
    }
    assert!(opened.elapsed() >= Duration::from_secs(9), "closed by the header timeout, not before it ({:?})", opened.elapsed());
}

#[test]
fn a_body_that_stops_arriving_is_answered_408_after_the_pause_and_one_that_keeps_coming_slowly_is_read_whole() {
    let data = tempfile::tempdir().unwrap();
    let operator = token("operator", data.path());
    let server = Server::start(data.path(), &[]);
    server.wait_ready();
    let workspaces = || json_of(&request(server.port, "GET", "/api/v1/workspaces", Some(&operator), None).unwrap());
    let before = workspaces();
    // The head and 9 of the 100 bytes it declares, then nothing.
    let sent = Instant::now();
    let response = new_workspace_sent_by(server.port, &operator, 100, |stream| stream.write_all(br#"{"name":""#).unwrap());
    assert_eq!(status_of(&response), 408, "{response}");
    let body = json_of(&response);
    assert_eq!(body["error"], "timeout", "{response}");
    assert!(body["message"].as_str().unwrap().contains("nothing came for 20 s"), "says why: {body}");
    assert!(sent.elapsed() >= Duration::from_secs(19), "given up after the pause, not before ({:?})", sent.elapsed());
    assert_eq!(workspaces(), before, "nothing made of half a body");

    // A body that keeps coming, a byte a second for longer than the pause, is read whole.
    let body = r#"{"name":"Pelan tapi pasti"}"#;
    let sent = Instant::now();
    let response = new_workspace_sent_by(server.port, &operator, body.len(), |stream| {
        // The sender's pace is the scenario: 27 bytes, a second apart.
        for byte in body.as_bytes() {
            std::thread::sleep(Duration::from_secs(1));
            stream.write_all(&[*byte]).unwrap();
        }
    });
    assert!(sent.elapsed() > Duration::from_secs(20), "sent over longer than the pause");
    assert_eq!(status_of(&response), 201, "{response}");
    assert_eq!(json_of(&response)["name"], "Pelan tapi pasti", "{response}");
}

/// `POST /api/v1/workspaces` over a raw connection: its head declaring `length` bytes, then
/// what `send` writes of the body; the answer, read until the server closes (bounded by PATIENCE).
fn new_workspace_sent_by(port: u16, operator: &str, length: usize, send: impl FnOnce(&mut TcpStream)) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!("POST /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {operator}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    send(&mut stream);
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("answered and closed, not held");
    response
}

#[test]
fn a_uri_of_64_kib_is_refused_before_any_route() {
    let data = tempfile::tempdir().unwrap();
    let operator = token("operator", data.path());
    let server = Server::start(data.path(), &[]);
    server.wait_ready();
    for path in [format!("/api/v1/plugins/{}", "a".repeat(64 << 10)), format!("/webhooks/{}", "a".repeat(64 << 10))] {
        let response = request(server.port, "DELETE", &path, Some(&operator), None).unwrap();
        // hyper's own answer (it keeps URIs under 64 KiB): a 4xx, never a 5xx or a reset.
        assert_eq!(status_of(&response), 414, "{}", &response[..response.len().min(300)]);
    }
    assert_eq!(status_of(&request(server.port, "GET", "/readyz", None, None).unwrap()), 200);
}
