//! The sandbox, proven with hostile plugins: a plugin that loops forever is stopped at its
//! deadline, one that eats memory traps at the cap, one that calls an undeclared host is
//! denied — and the host keeps serving through all of it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::runtime::Limits;
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::{HostOptions, TestHost};

const LOOP: &str = env!("HOSTILE_LOOP_WASM");
const MEMORY: &str = env!("HOSTILE_MEMORY_WASM");
const EGRESS: &str = env!("HOSTILE_EGRESS_WASM");

async fn host_with(plugins: &[&str], allow_outbound: Vec<String>) -> TestHost {
    TestHost::start(HostOptions {
        allow_outbound,
        limits: Limits { call_timeout: Duration::from_millis(1500), memory_bytes: 32 << 20 },
        extra_plugins: plugins.iter().map(PathBuf::from).collect(),
        ..Default::default()
    })
    .await
}

async fn connect(host: &TestHost, plugin: &str, settings: Value) -> String {
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": plugin, "name": plugin, "settings": settings})).await;
    assert_eq!(status, 201, "{channel}");
    channel["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_stopped_at_the_deadline_and_the_host_keeps_serving() {
    let host = host_with(&[LOOP], vec![]).await;
    let channel = connect(&host, "hostile-loop", json!({})).await;

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
    let host = host_with(&[MEMORY], vec![]).await;
    let channel = connect(&host, "hostile-memory", json!({})).await;
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

    let strict = host_with(&[EGRESS], vec![]).await;
    let channel = connect(&strict, "hostile-egress", json!({"target_url": target_url})).await;
    let (status, body) = strict.webhook(&channel, &[], "{}").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("denied"), "an undeclared host is denied: {body}");
    assert!(target.received().is_empty(), "the request never left the host");

    let permissive = host_with(&[EGRESS], vec![target.authority.clone()]).await;
    let channel = connect(&permissive, "hostile-egress", json!({"target_url": target_url})).await;
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
