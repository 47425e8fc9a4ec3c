//! Plugins from an OCI registry: a real registry (Debian's `docker-registry`) on loopback, the
//! echo test plugin pushed by `plugin push`'s code as a wasm artifact in three versions, and a
//! host installing by version and by range, an upgrade asking for a new host waiting for the
//! operator's consent; then every way a registry can fail or lie, each a clear 4xx/502 with
//! nothing installed, and an artifact pushed by a generic client (no signature) installing only
//! where unsigned plugins are allowed. The catalogue (`--catalogue`): each repository's versions,
//! the plugin installed from it and its newest compatible version, an upgrade through the API,
//! a registry that is down named in its entry only, and `plugin outdated` before and after.
//!
//! Where `switchboard` must run as a process of its own, the same registry (`oci_registry`,
//! shared through `#[path]`) serves the host's tests: one asking for credentials, which reach
//! the CLI and the server through their environment (`DOCKER_CONFIG`), in `host/tests/cli.rs`;
//! three nodes over Postgres installing from a registry in `host/tests/scale_out.rs`.

use axum::body::Body;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::Digest;
use switchboard_e2e::oci_registry::OciRegistry;
use switchboard_e2e::{HostOptions, TestHost, serve_fake};

const ECHO_V1: &str = env!("ECHO_V1_WASM");
const ECHO_V2: &str = env!("ECHO_V2_WASM");
const ECHO_V2_1: &str = env!("ECHO_V2_1_WASM");
const ECHO_V3: &str = env!("ECHO_V3_WASM");

/// Pushes a component file as its own version, as `switchboard plugin push` does.
async fn push(registry: &OciRegistry, repository: &str, file: &str, version: &str) {
    registry.push(repository, file, version).await;
}

fn from(reference: String) -> Value {
    json!({"source": reference})
}

/// The version of `id` the host serves now, if any.
async fn serving(host: &TestHost, id: &str) -> Option<String> {
    let (_, plugins) = host.get("/api/v1/plugins", &host.operator).await;
    plugins.as_array().unwrap().iter().find(|p| p["id"] == id).map(|p| p["version"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_installs_from_a_registry_by_version_and_by_range_and_an_upgrade_asking_for_a_new_host_waits_for_consent() {
    let registry = OciRegistry::start().await;
    for (file, version) in [(ECHO_V1, "1.0.0"), (ECHO_V2, "2.0.0"), (ECHO_V3, "3.0.0")] {
        push(&registry, "plugins/echo", file, version).await;
    }
    // What a generic client sees: the tags, and a wasm artifact (config type, one wasm layer).
    let tags: Value = reqwest::get(format!("http://{}/v2/plugins/echo/tags/list", registry.authority)).await.unwrap().json().await.unwrap();
    let mut tags: Vec<&str> = tags["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    tags.sort();
    assert_eq!(tags, ["1.0.0", "2.0.0", "3.0.0"], "each version is a tag");
    let manifest: Value = reqwest::Client::new()
        .get(format!("http://{}/v2/plugins/echo/manifests/1.0.0", registry.authority))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.wasm.config.v0+json");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    let digest = format!("sha256:{:x}", sha2::Sha256::digest(std::fs::read(ECHO_V1).unwrap()));
    assert_eq!(manifest["layers"][0]["digest"], digest.as_str(), "the layer is the component file as built");

    let host = TestHost::start(HostOptions { allow_outbound: vec![registry.authority.clone()], ..Default::default() }).await;
    let echo = |reference: &str| from(format!("oci://{}/plugins/echo:{reference}", registry.authority));

    // A new plugin waits for the operator, as an upload does; approved, it is live.
    let (status, answer) = host.post("/api/v1/plugins", &host.operator, echo("1.0.0")).await;
    assert_eq!((status, answer["status"].as_str(), answer["review"]["version"].as_str()), (202, Some("pending_approval"), Some("1.0.0")), "{answer}");
    assert_eq!(serving(&host, "echo").await, None);
    let (status, answer) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(serving(&host, "echo").await.as_deref(), Some("1.0.0"));

    // A range takes the newest version in it; an upgrade asking nothing new is live at once.
    let (status, answer) = host.post("/api/v1/plugins", &host.operator, echo("^2")).await;
    assert_eq!((status, answer["version"].as_str()), (200, Some("2.0.0")), "{answer}");
    assert_eq!(serving(&host, "echo").await.as_deref(), Some("2.0.0"));

    // The newest (3.0.0) asks for a new outbound host: it waits for consent, 2.0.0 serves on.
    let (status, answer) = host.post("/api/v1/plugins", &host.operator, echo(">=2")).await;
    assert_eq!((status, answer["review"]["version"].as_str()), (202, Some("3.0.0")), "{answer}");
    assert_eq!(answer["review"]["new_outbound_hosts"], json!(["api.echo.example"]), "{answer}");
    assert_eq!(serving(&host, "echo").await.as_deref(), Some("2.0.0"));
    let (status, answer) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(serving(&host, "echo").await.as_deref(), Some("3.0.0"));

    // The audit log says where it came from.
    let (_, audit) = host.get("/api/v1/audit", &host.operator).await;
    assert!(audit.to_string().contains(&format!("echo 2.0.0 from oci://{}/plugins/echo:2.0.0", registry.authority)), "{audit}");
    // Only the operator installs plugins.
    let (status, _) = host.post("/api/v1/plugins", &host.admin, echo("1.0.0")).await;
    assert_eq!(status, 403);
}

/// A registry that lies, on loopback: `tampered` serves other bytes than its manifest's
/// digest, `huge` streams 70 MiB for a layer it declares as 1 KiB, `moved` redirects the layer
/// to `inside` (an address the operator did not allow).
async fn lying_registry(component: Vec<u8>, inside: String) -> String {
    let digest = format!("sha256:{:x}", sha2::Sha256::digest(&component));
    let manifest = move |size: usize| {
        json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": format!("sha256:{:x}", sha2::Sha256::digest(b"{}")), "size": 2},
            "layers": [{"mediaType": "application/wasm", "digest": digest, "size": size}]})
        .to_string()
    };
    let size = component.len();
    let app = axum::Router::new().route(
        "/v2/{*rest}",
        axum::routing::get(move |Path(rest): Path<String>| {
            let (component, manifest, inside) = (component.clone(), manifest.clone(), inside.clone());
            async move {
                let manifest_of = |size| ([("content-type", "application/vnd.oci.image.manifest.v1+json")], manifest(size)).into_response();
                match rest.split('/').collect::<Vec<_>>().as_slice() {
                    ["lies", "tampered", "manifests", _] | ["lies", "moved", "manifests", _] => manifest_of(size),
                    ["lies", "huge", "manifests", _] => manifest_of(1024),
                    ["lies", "tampered", "blobs", _] => {
                        let mut bytes = component;
                        bytes[size / 2] ^= 0xff;
                        bytes.into_response()
                    }
                    ["lies", "huge", "blobs", _] => {
                        let chunks = futures_util::stream::iter((0..70).map(|_| Ok::<_, std::io::Error>(vec![0u8; 1 << 20])));
                        Response::new(Body::from_stream(chunks))
                    }
                    ["lies", "moved", "blobs", _] => (StatusCode::TEMPORARY_REDIRECT, [("location", format!("http://{inside}/blob"))]).into_response(),
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }
        }),
    );
    serve_fake(app).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_is_down_lies_or_holds_no_component_installs_nothing_and_says_why_and_an_unsigned_artifact_needs_a_host_that_allows_it() {
    let registry = OciRegistry::start().await;
    push(&registry, "plugins/echo", ECHO_V1, "1.0.0").await;
    let component = std::fs::read(ECHO_V1).unwrap();
    // A container image, not a component; and the echo component pushed straight through the
    // registry's API as any OCI client would (wasm types, no Switchboard signature).
    registry.put_artifact("images/web", "1.0.0", "application/vnd.oci.image.config.v1+json", b"{}", "application/vnd.oci.image.layer.v1.tar+gzip", b"not a wasm file").await;
    registry.put_artifact("generic/echo", "1.0.0", "application/vnd.wasm.config.v0+json", b"{}", "application/wasm", &component).await;
    let inside = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let liar = lying_registry(component, inside.local_addr().unwrap().to_string()).await;
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let host = TestHost::start(HostOptions { allow_outbound: vec![registry.authority.clone(), liar.clone(), down.clone()], ..Default::default() }).await;

    let cases = [
        (format!("oci://{}/plugins/echo:7.0.0", registry.authority), 422, "unknown_version", "7.0.0"),
        (format!("oci://{}/plugins/echo:^9", registry.authority), 422, "unknown_version", "no version matches"),
        (format!("oci://{}/plugins/missing:1.0.0", registry.authority), 422, "unknown_version", "not in the registry"),
        (format!("oci://{}/images/web:1.0.0", registry.authority), 422, "not_a_component", "application/vnd.oci.image.config.v1+json"),
        (format!("oci://{liar}/lies/tampered:1.0.0"), 502, "registry_digest_mismatch", "does not match its digest"),
        (format!("oci://{liar}/lies/huge:1.0.0"), 413, "payload_too_large", "larger than 64 MiB"),
        (format!("oci://{liar}/lies/moved:1.0.0"), 422, "registry_refused", "loopback"),
        (format!("oci://{down}/plugins/echo:1.0.0"), 502, "registry_unreachable", "cannot be reached"),
        ("oci://10.0.0.1/plugins/echo:1.0.0".to_owned(), 422, "registry_refused", "private"),
        ("docker.io/echo".to_owned(), 422, "invalid_fields", "not an OCI reference"),
    ];
    for (reference, status, code, says) in cases {
        let (got, answer) = host.post("/api/v1/plugins", &host.operator, from(reference.clone())).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(code)), "{reference}: {answer}");
        assert!(answer.to_string().contains(says), "{reference}: the answer says {says:?}: {answer}");
    }
    let (status, answer) = host.post("/api/v1/plugins", &host.operator, json!({})).await;
    assert_eq!((status, answer["fields"]["source"].is_string()), (422, true), "{answer}");
    // Nothing half-installed: no plugin, no review, no staged file left.
    assert_eq!(serving(&host, "echo").await, None);
    let (_, reviews) = host.get("/api/v1/plugin-reviews", &host.operator).await;
    assert_eq!(reviews, json!([]));
    let staged = std::fs::read_dir(switchboard::data_dir::uploads_dir(host.data_path())).map(|d| d.count()).unwrap_or(0);
    assert_eq!(staged, 0, "staged downloads are removed");

    // The generic client's artifact installs here (unsigned plugins allowed) ...
    let generic = from(format!("oci://{}/generic/echo:1.0.0", registry.authority));
    let (status, answer) = host.post("/api/v1/plugins", &host.operator, generic.clone()).await;
    assert_eq!((status, answer["review"]["id"].as_str()), (202, Some("echo")), "{answer}");
    // ... and is refused by a host that runs signed plugins only.
    let strict = TestHost::start(HostOptions { allow_outbound: vec![registry.authority.clone()], require_signed_plugins: true, ..Default::default() }).await;
    let (status, answer) = strict.post("/api/v1/plugins", &strict.operator, generic).await;
    assert_eq!((status, answer["error"].as_str()), (422, Some("untrusted_plugin")), "{answer}");
}

/// The command line: `plugin push` tags a file with its own version (refusing any other tag),
/// and `plugin install oci://…` puts the newest version a range allows, byte for byte, into the
/// plugins folder; a downgrade needs `--force` and a version the registry lacks is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_pushes_a_plugin_and_installs_it_from_the_registry_by_range() {
    use switchboard::plugins::offline;
    let registry = OciRegistry::start().await;
    let repository = format!("oci://{}/cli/echo", registry.authority);
    for file in [ECHO_V1, ECHO_V2] {
        let out = offline::push(std::path::Path::new(file), &repository).await.unwrap();
        assert!(out.starts_with("pushed echo "), "{out}");
    }
    let refused = offline::push(std::path::Path::new(ECHO_V1), &format!("{repository}:9.9.9")).await.unwrap_err().to_string();
    assert!(refused.contains("the tag must be the plugin's version, 1.0.0"), "{refused}");

    let data = tempfile::tempdir().unwrap();
    let out = offline::install_from(data.path(), &format!("{repository}:^2"), false).await.unwrap();
    assert!(out.contains("installed echo 2.0.0 from oci://") && out.contains(":2.0.0 (sha256:"), "{out}");
    let placed = switchboard::data_dir::plugins_dir(data.path()).join("echo.wasm");
    assert_eq!(std::fs::read(&placed).unwrap(), std::fs::read(ECHO_V2).unwrap(), "the very bytes pushed");
    // Where it came from is recorded beside it (what the catalogue and `plugin outdated` match).
    let record = switchboard::data_dir::plugins_dir(data.path()).join("echo.source");
    assert_eq!(std::fs::read_to_string(&record).unwrap().trim(), repository);
    let found = offline::outdated(data.path(), &[]).await.unwrap();
    assert!(found.report.contains("all up to date: echo 2.0.0") && found.unreadable.is_empty(), "{}", found.report);

    let downgrade = offline::install_from(data.path(), &format!("{repository}:1.0.0"), false).await.unwrap_err().to_string();
    assert!(downgrade.contains("install with force to downgrade"), "{downgrade}");
    let missing = offline::install_from(data.path(), &format!("{repository}:^7"), false).await.unwrap_err().to_string();
    assert!(missing.contains("no version matches ^7"), "{missing}");
    assert_eq!(std::fs::read(&placed).unwrap(), std::fs::read(ECHO_V2).unwrap(), "nothing changed by the refusals");
    let out = offline::install_from(data.path(), &format!("{repository}:1.0.0"), true).await.unwrap();
    assert!(out.contains("installed echo 1.0.0"), "{out}");
    // A file installed over it records nothing: it no longer came from the registry.
    offline::install(data.path(), std::path::Path::new(ECHO_V2), false).await.unwrap();
    assert!(!record.exists(), "the record of the registry went with the registry's copy");
    let found = offline::outdated(data.path(), &[]).await.unwrap();
    assert!(found.report.starts_with("nothing to check"), "{}", found.report);
    offline::install_from(data.path(), &format!("{repository}:2.0.0"), true).await.unwrap();
    assert!(record.exists());
    offline::remove(data.path(), "echo").await.unwrap();
    assert!(!record.exists(), "removing the plugin removes its record");
}

/// `GET /api/v1/catalogue` as the operator reads it.
async fn catalogue(host: &TestHost) -> Vec<Value> {
    let (status, entries) = host.get("/api/v1/catalogue", &host.operator).await;
    assert_eq!(status, 200, "{entries}");
    entries.as_array().unwrap().clone()
}

/// The catalogue lists each `--catalogue` repository: its versions newest first, the plugin
/// installed from it (matched by the repository it recorded), the newest version of the
/// installed major and the newest of all. A registry that is down is named in its own entry
/// only. An install and an upgrade through the API, the upgrade asking for a new host waiting
/// for consent. `plugin outdated` names the plugin before the upgrade and none after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_lists_versions_and_the_newest_compatible_one_an_upgrade_moves_it_and_plugin_outdated_agrees() {
    use switchboard::plugins::offline;
    let registry = OciRegistry::start().await;
    for (file, version) in [(ECHO_V1, "1.0.0"), (ECHO_V2, "2.0.0")] {
        push(&registry, "plugins/echo", file, version).await;
    }
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let echo = format!("oci://{}/plugins/echo", registry.authority);
    let gone = format!("oci://{down}/plugins/echo");
    let host = TestHost::start(HostOptions {
        allow_outbound: vec![registry.authority.clone(), down.clone()],
        catalogue: vec![echo.clone(), gone.clone()],
        ..Default::default()
    })
    .await;

    // Nothing installed yet: the versions, and the registry that is down in its own entry.
    let entries = catalogue(&host).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(
        entries[0],
        json!({"source": echo, "plugin": null, "installed": null, "versions": ["2.0.0", "1.0.0"], "newest_compatible": null, "newest": "2.0.0", "error": null})
    );
    assert_eq!((entries[1]["source"].as_str(), &entries[1]["versions"], &entries[1]["newest"]), (Some(gone.as_str()), &json!([]), &Value::Null));
    assert!(entries[1]["error"].as_str().is_some_and(|e| e.contains("cannot be reached")), "{}", entries[1]);
    let (status, _) = host.get("/api/v1/catalogue", &host.admin).await;
    assert_eq!(status, 403, "the operator's only");

    // Installed from the catalogue (a new plugin: consent first), it is matched to its repository.
    let (status, answer) = host.post("/api/v1/plugins", &host.operator, from(format!("{echo}:2.0.0"))).await;
    assert_eq!((status, answer["review"]["source"].as_str()), (202, Some(echo.as_str())), "{answer}");
    assert_eq!(catalogue(&host).await[0]["plugin"], Value::Null, "not installed while it waits");
    let (status, answer) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 201, "{answer}");
    let record = switchboard::data_dir::plugins_dir(host.data_path()).join("echo.source");
    assert_eq!(std::fs::read_to_string(&record).unwrap().trim(), echo, "the repository is recorded beside the plugin");
    let entry = catalogue(&host).await[0].clone();
    assert_eq!((&entry["plugin"], &entry["installed"], &entry["newest_compatible"], &entry["newest"]), (&json!("echo"), &json!("2.0.0"), &Value::Null, &json!("2.0.0")), "{entry}");

    // Newer versions: one of the same major (asking for a new host), one of a new major.
    push(&registry, "plugins/echo", ECHO_V2_1, "2.1.0").await;
    push(&registry, "plugins/echo", ECHO_V3, "3.0.0").await;
    let entry = catalogue(&host).await[0].clone();
    assert_eq!(entry["versions"], json!(["3.0.0", "2.1.0", "2.0.0", "1.0.0"]), "{entry}");
    assert_eq!((&entry["installed"], &entry["newest_compatible"], &entry["newest"]), (&json!("2.0.0"), &json!("2.1.0"), &json!("3.0.0")), "{entry}");

    // The command line on the host's data dir: the plugin, installed, newest compatible, newest,
    // source; the new major noted; the registry that is down named apart.
    let found = offline::outdated(host.data_path(), &[gone.clone()]).await.unwrap();
    let line = found.report.lines().find(|l| l.ends_with(echo.as_str())).unwrap_or_else(|| panic!("no line for echo:\n{}", found.report));
    assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["echo", "2.0.0", "2.1.0", "3.0.0", echo.as_str()], "{}", found.report);
    assert!(found.report.contains("3.0.0 is a new major version"), "{}", found.report);
    assert_eq!(found.unreadable.len(), 1, "{:?}", found.unreadable);
    assert!(found.unreadable[0].starts_with(&gone) && found.unreadable[0].contains("cannot be reached"), "{:?}", found.unreadable);
    assert!(!found.nothing_read);

    // The upgrade the page offers: the newest compatible version, which asks for a new host.
    let newest_compatible = entry["newest_compatible"].as_str().unwrap();
    let (status, answer) = host.post("/api/v1/plugins", &host.operator, from(format!("{echo}:{newest_compatible}"))).await;
    assert_eq!((status, answer["review"]["version"].as_str()), (202, Some("2.1.0")), "{answer}");
    assert_eq!(answer["review"]["new_outbound_hosts"], json!(["api.echo.example"]), "{answer}");
    assert_eq!(catalogue(&host).await[0]["installed"], "2.0.0", "2.0.0 serves until the operator consents");
    let (status, answer) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(serving(&host, "echo").await.as_deref(), Some("2.1.0"));
    let entry = catalogue(&host).await[0].clone();
    assert_eq!((&entry["installed"], &entry["newest_compatible"], &entry["newest"]), (&json!("2.1.0"), &Value::Null, &json!("3.0.0")), "{entry}");

    // Nothing outdated now; only the new major is noted.
    let found = offline::outdated(host.data_path(), &[]).await.unwrap();
    assert!(found.report.contains("all up to date: echo 2.1.0") && !found.report.contains("newest compatible"), "{}", found.report);
    assert!(found.report.contains("echo 2.1.0: 3.0.0 is a new major version"), "{}", found.report);
    assert!(found.unreadable.is_empty() && !found.nothing_read, "{:?}", found.unreadable);
    // A data dir whose only repository cannot be read: nothing could be read at all.
    let empty = tempfile::tempdir().unwrap();
    let found = offline::outdated(empty.path(), &[gone.clone()]).await.unwrap();
    assert!(found.nothing_read && found.unreadable.len() == 1, "{:?}", found.unreadable);

    // Removed, it is no longer installed from the repository; its record goes with it.
    let (status, _) = host.call(reqwest::Method::DELETE, "/api/v1/plugins/echo", Some(&host.operator), None).await;
    assert_eq!(status, 204);
    assert!(!record.exists(), "the record is removed with the plugin");
    let entry = catalogue(&host).await[0].clone();
    assert_eq!((&entry["plugin"], &entry["installed"], &entry["newest"]), (&Value::Null, &Value::Null, &json!("3.0.0")), "{entry}");
}
