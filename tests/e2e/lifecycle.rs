//! Plugin lifecycle: components dropped into, replaced in and removed from the plugins folder
//! while traffic flows; installs over the API with the reasons for refusals.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_e2e::{HostOptions, PATIENCE, TestHost};

use crate::telegram::{connect as connect_telegram, host_and_fake, registered_secret, text_update};

const ECHO_V1: &str = env!("ECHO_V1_WASM");
const ECHO_V2: &str = env!("ECHO_V2_WASM");

async fn echo_host() -> TestHost {
    TestHost::start(HostOptions { extra_plugins: vec![ECHO_V1.into()], ..Default::default() }).await
}

fn echo_file(host: &TestHost) -> std::path::PathBuf {
    host.data_path().join("plugins").join(Path::new(ECHO_V1).file_name().unwrap())
}

async fn connect_echo(host: &TestHost) -> String {
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo"})).await;
    assert_eq!(status, 201, "{channel}");
    channel["id"].as_str().unwrap().to_owned()
}

async fn plugin_version(host: &TestHost, id: &str) -> Option<String> {
    let (_, plugins) = host.get("/api/v1/plugins", &host.agent).await;
    plugins.as_array()?.iter().find(|p| p["id"] == id).map(|p| p["version"].as_str().unwrap().to_owned())
}

async fn stored_message_count(host: &TestHost) -> usize {
    let (_, conversations) = host.get("/api/v1/conversations", &host.agent).await;
    let mut count = 0;
    for conversation in conversations.as_array().unwrap() {
        let mut before = String::new();
        loop {
            let path = format!("/api/v1/conversations/{}/messages?limit=1000{before}", conversation["id"]);
            let (_, page) = host.get(&path, &host.agent).await;
            let page = page.as_array().unwrap();
            count += page.len();
            match page.first() {
                Some(oldest) if page.len() == 1000 => before = format!("&before={}", oldest["id"]),
                _ => break,
            }
        }
    }
    count
}

/// Echo webhooks sent one after another until `stop`; every (status, body), as they come.
struct EchoLoad {
    answers: Arc<Mutex<Vec<(u16, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

fn echo_load(host: &TestHost, channel: &str, stop: Arc<AtomicBool>) -> EchoLoad {
    let (http, url) = (host.http.clone(), format!("{}/webhooks/{channel}", host.base));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let kept = answers.clone();
    let task = tokio::spawn(async move {
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) {
            let body = json!({"id": format!("m{sent}"), "text": "ping"}).to_string();
            sent += 1;
            let response = http.post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
            let answer = (response.status().as_u16(), response.text().await.unwrap());
            kept.lock().unwrap().push(answer);
        }
    });
    EchoLoad { answers, task }
}

impl EchoLoad {
    fn count(&self) -> usize {
        self.answers.lock().unwrap().len()
    }

    /// Waits until `count` answers came (traffic is counted, not timed).
    async fn until_answered(&self, host: &TestHost, count: usize) {
        until_count(host, || self.count(), count).await;
    }

    async fn finish(self) -> Vec<(u16, String)> {
        self.task.await.unwrap();
        let answers = std::mem::take(&mut *self.answers.lock().unwrap());
        answers
    }
}

/// Waits until `count()` reaches `wanted`.
async fn until_count(host: &TestHost, count: impl Fn() -> usize, wanted: usize) {
    host.eventually(PATIENCE, || async { (count() >= wanted).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("the load had {} of {wanted} answers", count()));
}

/// Plugin loads the host refused so far (`/metrics`).
async fn refused_loads(host: &TestHost) -> f64 {
    let metrics = host.http.get(format!("{}/metrics", host.base)).send().await.unwrap().text().await.unwrap();
    crate::api::series(&metrics, "switchboard_plugin_loads_total", &[("outcome", "refused")]).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_dropped_into_the_folder_goes_live_while_webhooks_flow() {
    let (host, fake) = host_and_fake().await;
    let channel = connect_telegram(&host, &fake).await;
    let (id, secret) = (channel["id"].as_str().unwrap().to_owned(), registered_secret(&fake));
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let load = {
        let (http, url, stop, answered) = (host.http.clone(), format!("{}/webhooks/{id}", host.base), stop.clone(), answered.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let update = text_update(statuses.len() as i64 + 1, 4242, "halo");
                let response = http.post(&url).header("x-telegram-bot-api-secret-token", &secret).body(update).send().await.unwrap();
                statuses.push(response.status().as_u16());
                answered.fetch_add(1, Ordering::SeqCst);
            }
            statuses
        })
    };
    // Webhooks flow before the drop and after the plugin is live (counted, not timed).
    let count = || answered.load(Ordering::SeqCst);
    until_count(&host, count, 3).await;
    std::fs::copy(ECHO_V1, host.data_path().join("plugins/echo.wasm")).unwrap();
    let live = host.eventually(PATIENCE, || async { plugin_version(&host, "echo").await }).await;
    until_count(&host, count, count() + 3).await;
    stop.store(true, Ordering::Relaxed);
    let statuses = load.await.unwrap();

    assert_eq!(live.as_deref(), Some("1.0.0"), "the dropped plugin is live without a restart");
    assert!(statuses.len() > 5, "traffic flowed during the load: {}", statuses.len());
    assert!(statuses.iter().all(|s| *s == 200), "no webhook failed: {statuses:?}");
    assert_eq!(stored_message_count(&host).await, statuses.len(), "every webhook was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_under_load_switches_to_v2_without_a_failed_request_and_a_broken_v3_is_refused() {
    let host = echo_host().await;
    let channel = connect_echo(&host).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = echo_load(&host, &channel, stop.clone());
    load.until_answered(&host, 3).await;

    // Replace the file the slow way, in two halves with a pause: the half-written file must not go live.
    let v2 = std::fs::read(ECHO_V2).unwrap();
    let file = echo_file(&host);
    std::fs::write(&file, &v2[..v2.len() / 2]).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    {
        use std::io::Write;
        let mut handle = std::fs::OpenOptions::new().append(true).open(&file).unwrap();
        handle.write_all(&v2[v2.len() / 2..]).unwrap();
    }
    let upgraded = host.eventually(PATIENCE, || async { plugin_version(&host, "echo").await.filter(|v| v == "2.0.0") }).await;
    assert!(upgraded.is_some(), "v2 went live");

    let refused_before = refused_loads(&host).await;
    std::fs::write(&file, b"\0asm\x0d\0\x01\0this is not a component").unwrap();
    // The watcher tried it and refused it; v2 answers on after that.
    host.eventually(PATIENCE, || async { (refused_loads(&host).await > refused_before).then_some(()) }).await.expect("the broken v3 was refused");
    load.until_answered(&host, load.count() + 4).await;
    stop.store(true, Ordering::Relaxed);
    let answers = load.finish().await;

    assert_eq!(plugin_version(&host, "echo").await.as_deref(), Some("2.0.0"), "the broken v3 was refused; v2 keeps serving");
    let failed: Vec<_> = answers.iter().filter(|(status, _)| *status != 200).collect();
    assert!(failed.is_empty(), "no request failed during the swaps: {failed:?}");
    let first_v2 = answers.iter().position(|(_, body)| body == "v2").expect("v2 answered");
    assert!(first_v2 > 0 && answers[..first_v2].iter().all(|(_, b)| b == "v1"), "v1 answered before the swap");
    assert!(answers[first_v2..].iter().all(|(_, b)| b == "v2"), "once v2 answered, only v2 answered");
    assert!(answers.len() - first_v2 > 3, "v2 kept serving through the broken v3");
    assert_eq!(stored_message_count(&host).await, answers.len(), "every webhook was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_plugin_leaves_its_channels_unavailable_until_it_returns() {
    let host = echo_host().await;
    let channel = connect_echo(&host).await;
    let file = echo_file(&host);
    let saved = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();

    let unavailable = host
        .eventually(PATIENCE, || async {
            let (_, shown) = host.get(&format!("/api/v1/channels/{channel}"), &host.agent).await;
            (shown["status"] == "plugin_unavailable").then_some(shown)
        })
        .await;
    assert!(unavailable.is_some(), "the channel is kept and shown as unavailable");
    let (status, body) = host.webhook(&channel, &[], json!({"id": "x", "text": "t"}).to_string()).await;
    assert_eq!(status, 503, "{body}");

    std::fs::write(&file, saved).unwrap();
    let back = host
        .eventually(PATIENCE, || async {
            let (_, shown) = host.get(&format!("/api/v1/channels/{channel}"), &host.agent).await;
            (shown["status"] == "active").then_some(())
        })
        .await;
    assert!(back.is_some(), "the channel works again when the plugin returns");
    let (status, body) = host.webhook(&channel, &[], json!({"id": "y", "text": "t"}).to_string()).await;
    assert_eq!((status, body.as_str()), (200, "v1"));
}

/// A component that exports the contract at a version this host does not serve.
fn future_contract_component() -> Vec<u8> {
    wat::parse_str(r#"(component (instance $i) (export "switchboard:channel/channel@0.2.0" (instance $i)))"#).unwrap()
}

async fn upload(host: &TestHost, token: &str, bytes: Vec<u8>, query: &str) -> (u16, Value) {
    let response = host
        .http
        .post(format!("{}/api/v1/plugins{query}", host.base))
        .bearer_auth(token)
        .header("content-type", "application/wasm")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_install_over_the_api_and_refusals_say_why() {
    let host = TestHost::start(HostOptions::default()).await;
    let v1 = std::fs::read(ECHO_V1).unwrap();
    let v2 = std::fs::read(ECHO_V2).unwrap();

    let (status, body) = upload(&host, &host.agent, v2.clone(), "").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = upload(&host, &host.admin, v2.clone(), "").await;
    assert_eq!(status, 403, "plugins are the operator's, not a workspace admin's: {body}");
    let (status, body) = upload(&host, &host.operator, v2.clone(), "").await;
    assert_eq!((status, body["status"].as_str()), (202, Some("pending_approval")), "a new plugin waits for the operator: {body}");
    assert_eq!(plugin_version(&host, "echo").await, None, "not live before approval");
    let (status, body) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], "echo");
    assert_eq!(body["version"], "2.0.0");
    assert!(host.data_path().join("plugins/echo.wasm").exists(), "kept in the plugins folder for restarts");
    assert_eq!(plugin_version(&host, "echo").await.as_deref(), Some("2.0.0"));
    connect_echo(&host).await;

    let (status, body) = upload(&host, &host.operator, v1.clone(), "").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("2.0.0") && body["message"].as_str().unwrap().contains("force"), "{body}");
    let (status, body) = upload(&host, &host.operator, v1.clone(), "?force=true").await;
    assert_eq!(status, 200, "a forced downgrade replaces the plugin: {body}");
    assert_eq!(body["version"], "1.0.0");

    let (status, body) = upload(&host, &host.operator, b"MZ\x90\0 not wasm".to_vec(), "").await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_plugin")), "{body}");
    let (status, body) = upload(&host, &host.operator, wat::parse_str("(module)").unwrap(), "").await;
    assert_eq!(status, 422);
    assert!(body["message"].as_str().unwrap().contains("core WebAssembly module"), "{body}");
    let (status, body) = upload(&host, &host.operator, future_contract_component(), "").await;
    assert_eq!(status, 422);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("0.2.0") && message.contains("0.1.0 to 0.1.4"), "names the version found and the ones served: {message}");
    assert_eq!(plugin_version(&host, "echo").await.as_deref(), Some("1.0.0"), "refusals leave the live plugin alone");

    let (status, body) = host.call(reqwest::Method::DELETE, "/api/v1/plugins/telegram", Some(&host.operator), None).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("built_in")), "{body}");
    let (status, _) = host.call(reqwest::Method::DELETE, "/api/v1/plugins/echo", Some(&host.operator), None).await;
    assert_eq!(status, 204);
    assert_eq!(plugin_version(&host, "echo").await, None);
    assert!(!host.data_path().join("plugins/echo.wasm").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_of_every_served_contract_minor_run_side_by_side() {
    let legacy = env!("CONTRACT_0_1_0_WASM");
    let host = TestHost::start(HostOptions { extra_plugins: vec![ECHO_V1.into(), legacy.into()], ..Default::default() }).await;
    let (_, plugins) = host.get("/api/v1/plugins", &host.agent).await;
    let api_version = |id: &str| plugins.as_array().unwrap().iter().find(|p| p["id"] == id).map(|p| p["api_version"].clone());
    assert_eq!(api_version("legacy"), Some(json!("0.1.0")), "a plugin built against 0.1.0 is served: {plugins}");
    assert_eq!(api_version("echo"), Some(json!("0.1.4")));

    // The 0.1.0 plugin's imports (state, log) work on this 0.1.4 host.
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "legacy", "name": "Old"})).await;
    assert_eq!(status, 201, "{channel}");
    let legacy_channel = channel["id"].as_str().unwrap();
    assert_eq!(host.webhook(legacy_channel, &[], "first").await, (200, "none".to_string()));
    assert_eq!(host.webhook(legacy_channel, &[], "second").await, (200, "first".to_string()));

    // The current-contract plugin uses what 0.1.1 added (state.keys).
    let echo = connect_echo(&host).await;
    let mut seen = Vec::new();
    for id in ["a", "b", "b", "c"] {
        let response = host.http.post(format!("{}/webhooks/{echo}", host.base)).body(json!({"id": id, "text": "t"}).to_string()).send().await.unwrap();
        seen.push(response.headers()["x-echo-seen"].to_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["1", "2", "2", "3"]);
}

/// A signing key as `switchboard plugin keygen` makes one: (the key, its public half).
fn signing_key() -> (switchboard::signing::SigningKey, String) {
    let (secret, public) = switchboard::signing::generate();
    (switchboard::signing::parse_signing_key(&secret).unwrap(), public)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_components_signed_by_a_trusted_key_run_and_refusals_say_why() {
    let (trusted, trusted_public) = signing_key();
    let (stranger, stranger_public) = signing_key();
    let v1 = std::fs::read(ECHO_V1).unwrap();
    // An unsigned component dropped in the folder before start is not loaded either.
    let host = TestHost::start(HostOptions {
        extra_plugins: vec![ECHO_V2.into()],
        require_signed_plugins: true,
        trusted_keys: vec![trusted_public.clone()],
        ..Default::default()
    })
    .await;
    let (_, plugins) = host.get("/api/v1/plugins", &host.operator).await;
    assert!(plugins.as_array().unwrap().iter().all(|p| p["id"] != "echo"), "the unsigned file in the folder was refused: {plugins}");
    assert!(plugins.as_array().unwrap().iter().all(|p| p["signer"] == "built-in"), "{plugins}");

    let (status, body) = upload(&host, &host.operator, v1.clone(), "").await;
    assert_eq!((status, body["error"].as_str()), (422, Some("untrusted_plugin")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("not signed"), "{body}");

    let by_stranger = switchboard::signing::sign(&v1, &stranger).unwrap();
    let (status, body) = upload(&host, &host.operator, by_stranger, "").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains(&stranger_public) && body["message"].as_str().unwrap().contains("does not trust"), "{body}");

    let signed = switchboard::signing::sign(&v1, &trusted).unwrap();
    let mut tampered = signed.clone();
    tampered[v1.len() / 2] ^= 0x20;
    let (status, body) = upload(&host, &host.operator, tampered, "").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("changed after"), "{body}");

    let (_, plugins) = host.get("/api/v1/plugins", &host.operator).await;
    assert!(plugins.as_array().unwrap().iter().all(|p| p["id"] != "echo"), "no refused upload went live");
    let (status, body) = upload(&host, &host.operator, signed, "").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["review"]["signer"].as_str(), Some(trusted_public.as_str()), "the operator sees who signed it: {body}");
    let (status, body) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["id"].as_str(), body["signer"].as_str()), (Some("echo"), Some(trusted_public.as_str())), "{body}");
}

/// An upgrade signed by another trusted key than the live version's is another author taking
/// the plugin (and its channels' credentials) over: it waits for the operator however little it
/// asks for, the live version serving meanwhile; the same key's upgrade goes live at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_signed_by_another_key_waits_for_approval() {
    let (first_author, first_public) = signing_key();
    let (second_author, second_public) = signing_key();
    let host = TestHost::start(HostOptions { require_signed_plugins: true, trusted_keys: vec![first_public.clone(), second_public.clone()], ..Default::default() }).await;
    let (v1, v2) = (std::fs::read(ECHO_V1).unwrap(), std::fs::read(ECHO_V2).unwrap());
    assert_eq!(upload(&host, &host.operator, switchboard::signing::sign(&v1, &first_author).unwrap(), "").await.0, 202);
    assert_eq!(host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await.0, 201);

    let (status, body) = upload(&host, &host.operator, switchboard::signing::sign(&v2, &second_author).unwrap(), "").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!((body["review"]["replaces_signer"].as_str(), body["review"]["signer"].as_str()), (Some(first_public.as_str()), Some(second_public.as_str())), "{body}");
    assert_eq!(body["review"]["new_outbound_hosts"], json!([]), "it asks for nothing new: {body}");
    assert_eq!(plugin_version(&host, "echo").await.as_deref(), Some("1.0.0"), "v1 serves meanwhile");
    assert_eq!(host.call(reqwest::Method::DELETE, "/api/v1/plugin-reviews/echo", Some(&host.operator), None).await.0, 204);

    let (status, body) = upload(&host, &host.operator, switchboard::signing::sign(&v2, &first_author).unwrap(), "").await;
    assert_eq!(status, 200, "the same author's upgrade: {body}");
    assert_eq!(plugin_version(&host, "echo").await.as_deref(), Some("2.0.0"));
}

const ECHO_V3: &str = env!("ECHO_V3_WASM");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_that_reaches_a_new_host_waits_for_approval_while_the_old_version_serves() {
    let host = echo_host().await;
    let channel = connect_echo(&host).await;
    let ping = |id: &str| json!({"id": id, "text": "halo"}).to_string();
    let (_, answer) = host.webhook(&channel, &[], ping("1")).await;
    assert!(answer.contains("v1"), "{answer}");

    let v3 = std::fs::read(ECHO_V3).unwrap();
    let (status, body) = upload(&host, &host.operator, v3.clone(), "").await;
    assert_eq!(status, 202, "{body}");
    let review = &body["review"];
    assert_eq!((review["id"].as_str(), review["version"].as_str(), review["replaces"].as_str()), (Some("echo"), Some("3.0.0"), Some("1.0.0")), "{body}");
    assert_eq!(review["new_outbound_hosts"], json!(["api.echo.example"]), "{body}");
    assert!(review["host_imports"].as_array().unwrap().iter().any(|i| i == "switchboard:channel/state"), "{body}");
    let (_, reviews) = host.get("/api/v1/plugin-reviews", &host.operator).await;
    assert_eq!(reviews.as_array().unwrap().len(), 1, "{reviews}");
    let (status, _) = host.get("/api/v1/plugin-reviews", &host.admin).await;
    assert_eq!(status, 403, "reviews are the operator's");
    assert_eq!(plugin_version(&host, "echo").await.as_deref(), Some("1.0.0"), "v1 keeps serving meanwhile");
    let (_, answer) = host.webhook(&channel, &[], ping("2")).await;
    assert!(answer.contains("v1"), "{answer}");

    let (status, _) = host.call(reqwest::Method::DELETE, "/api/v1/plugin-reviews/echo", Some(&host.operator), None).await;
    assert_eq!(status, 204, "rejected");
    let (_, reviews) = host.get("/api/v1/plugin-reviews", &host.operator).await;
    assert_eq!(reviews, json!([]));
    let (status, _) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 404, "nothing left to approve");

    assert_eq!(upload(&host, &host.operator, v3, "").await.0, 202);
    let (status, body) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!((status, body["version"].as_str()), (200, Some("3.0.0")), "approved, it replaced v1: {body}");
    let (_, answer) = host.webhook(&channel, &[], ping("3")).await;
    assert!(answer.contains("v3"), "{answer}");
}
