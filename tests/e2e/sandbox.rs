//! The sandbox, proven with a hostile plugin: a channel that loops forever is stopped at its
//! deadline, one that eats memory traps at the cap, one that calls an undeclared host (or a
//! declared name that points inside) is denied — and the host keeps serving through all of it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::runtime::Limits;
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::{HostOptions, TestHost};

const HOSTILE: &str = env!("HOSTILE_WASM");

async fn host_with(plugins: &[&str], allow_outbound: Vec<String>) -> TestHost {
    TestHost::start(HostOptions {
        allow_outbound,
        limits: Limits { call_timeout: Duration::from_millis(1500), memory_bytes: 32 << 20 },
        extra_plugins: plugins.iter().map(PathBuf::from).collect(),
        ..Default::default()
    })
    .await
}

async fn connect(host: &TestHost, settings: Value) -> String {
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "hostile", "name": "hostile", "settings": settings})).await;
    assert_eq!(status, 201, "{channel}");
    channel["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_stopped_at_the_deadline_and_the_host_keeps_serving() {
    let host = host_with(&[HOSTILE], vec![]).await;
    let channel = connect(&host, json!({"mode": "loop"})).await;

    let webhook = {
        let (http, base, channel) = (host.http.clone(), host.base.clone(), channel.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let response = http.post(format!("{base}/webhooks/{channel}")).body("{}").send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap(), started.elapsed())
        })
    };
    // While the plugin spins, the host still answers.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let (status, _) = host.get("/api/v1/plugins", &host.agent).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "the API answered in {:?} while a plugin looped", started.elapsed());

    let (status, body, elapsed) = webhook.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("time limit"), "{body}");
    assert!(elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_secs(5), "stopped after {elapsed:?}");
    let (status, _) = host.get("/healthz", &host.agent).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_traps_at_the_cap() {
    let host = host_with(&[HOSTILE], vec![]).await;
    let channel = connect(&host, json!({"mode": "memory"})).await;
    let (status, body) = host.webhook(&channel, &[], "{}").await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("memory limit"), "{body}");
    // The next call gets a fresh instance and the host is fine.
    let (status, _) = host.get("/api/v1/channels", &host.agent).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_undeclared_hosts_are_denied_unless_the_operator_allows_them() {
    let target = FakeTelegram::start("1:x").await;
    let target_url = format!("{}/bot1:x/getMe", target.base_url);

    let strict = host_with(&[HOSTILE], vec![]).await;
    let channel = connect(&strict, json!({"mode": "egress", "target_url": target_url})).await;
    let (status, body) = strict.webhook(&channel, &[], "{}").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("denied"), "an undeclared host is denied: {body}");
    assert!(target.received().is_empty(), "the request never left the host");

    // `localhost` is declared by the plugin, but it resolves to loopback: still denied.
    let declared_inside = format!("http://localhost:{}/bot1:x/getMe", target.authority.rsplit_once(':').unwrap().1);
    let channel = connect(&strict, json!({"mode": "egress", "target_url": declared_inside})).await;
    let (status, body) = strict.webhook(&channel, &[], "{}").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("denied"), "a declared name resolving to loopback is denied: {body}");
    assert!(target.received().is_empty());

    let permissive = host_with(&[HOSTILE], vec![target.authority.clone()]).await;
    let channel = connect(&permissive, json!({"mode": "egress", "target_url": target_url})).await;
    let (status, body) = permissive.webhook(&channel, &[], "{}").await;
    assert_eq!(status, 200);
    assert_eq!(body, "reached 200", "the operator's --allow-outbound lets it through");
    assert_eq!(target.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_component_is_refused_and_the_host_still_starts() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x0d\0\x01\0garbage").unwrap();
    let host = host_with(&[broken.to_str().unwrap()], vec![]).await;
    let (status, plugins) = host.get("/api/v1/plugins", &host.agent).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = plugins.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"telegram"), "{ids:?}");
    // The first-party plugins and nothing else: the broken file added none.
    assert_eq!(ids.len(), switchboard::plugins::FIRST_PARTY_PLUGINS.len(), "{ids:?}");
}
