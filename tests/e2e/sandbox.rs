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

/// The plugin call limit of these hosts: one no well-behaved call nears on a loaded machine, and
/// long enough for the host to answer other requests while a plugin loops.
const CALL_LIMIT: Duration = Duration::from_secs(5);

async fn host_with(plugins: &[&str], allow_outbound: Vec<String>) -> TestHost {
    TestHost::start(HostOptions {
        allow_outbound,
        limits: Limits { call_timeout: CALL_LIMIT, memory_bytes: 32 << 20, ..Default::default() },
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
    // While the plugin spins, the host still answers: before the loop is stopped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let (status, _) = host.get("/api/v1/plugins", &host.agent).await;
    assert_eq!(status, 200);
    assert!(!webhook.is_finished(), "the API answered only once the loop was stopped ({:?})", started.elapsed());

    let (status, body, elapsed) = webhook.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("time limit"), "{body}");
    assert!(elapsed >= CALL_LIMIT - Duration::from_millis(100) && elapsed < CALL_LIMIT * 2, "stopped after {elapsed:?}");
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

/// A fresh instance per call, whatever the pool does to make that cheap: what one call leaves in
/// its memory (an initialised static changed, a zeroed one written at every page, 4 MiB of heap)
/// is never there for the next call, of the same channel or another's, one at a time or at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_one_call_leaves_in_memory_reaches_the_next() {
    let host = host_with(&[HOSTILE], vec![]).await;
    let channels = [connect(&host, json!({"mode": "residue"})).await, connect(&host, json!({"mode": "residue"})).await];
    // The plugin's looking finds what its leaving leaves, within one call.
    let (status, answer) = host.webhook(&channels[0], &[("x-residue-self-check", "1")], "self-check secret").await;
    assert_eq!(status, 200, "{answer}");
    for place in ["initialised static: self-check secret", "zeroed static at 0: self-check secret", ": RESIDUE:self-check secret"] {
        assert!(answer.contains(place), "{place} in {answer}");
    }
    assert!(answer.contains("heap at "), "{answer}");
    // Which reset the pool used (PAGEMAP_SCAN needs Linux 6.7; before, the kept pages are wiped).
    println!("kernel {}", std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim());
    for round in 0..20 {
        let channel = &channels[round % 2];
        let secret = format!("customer {round} of {channel}: my card is 4111-{round:04}");
        let (status, answer) = host.webhook(channel, &[], secret).await;
        assert_eq!((status, answer.as_str()), (200, "clean"), "call {round}");
    }
    // Calls at once: slots are in use together and handed back in any order.
    for burst in 0..5 {
        let calls = (0..8).map(|i| {
            let channel = channels[i % 2].clone();
            let secret = format!("burst {burst} call {i} secret");
            let host = &host;
            async move { host.webhook(&channel, &[], secret).await }
        });
        for (i, (status, answer)) in futures_util::future::join_all(calls).await.into_iter().enumerate() {
            assert_eq!((status, answer.as_str()), (200, "clean"), "burst {burst} call {i}");
        }
    }
}

/// A webhook URL is on the admin pages' origin: a person who opens one (a link in a message)
/// hands the plugin no session cookie, and its answer plants no cookie and runs no script there,
/// whatever type and policy the plugin gives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_url_opened_in_a_browser_gives_the_plugin_no_cookie_and_runs_no_script() {
    let host = host_with(&[HOSTILE], vec![]).await;
    let channel = connect(&host, json!({"mode": "headers"})).await;
    let response = host
        .http
        .get(format!("{}/webhooks/{channel}/invoice", host.base))
        .header("cookie", "sb_session=the-persons-session")
        .header("x-telegram-bot-api-secret-token", "a-providers-header")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    assert!(body.contains("x-telegram-bot-api-secret-token"), "a provider's headers still reach the plugin: {body}");
    assert!(!body.contains("cookie"), "the plugin saw the person's cookie: {body}");
    assert!(headers.get("set-cookie").is_none(), "{headers:?}");
    let policies: Vec<_> = headers.get_all("content-security-policy").iter().collect();
    assert_eq!(policies, ["default-src 'none'; sandbox"], "{headers:?}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

/// One call makes at most 100 outbound requests: past them its requests are refused, so a
/// call cannot open thousands of connections within its time; the next call has its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_makes_at_most_a_hundred_outbound_requests() {
    let target = FakeTelegram::start("1:x").await;
    // A call limit no busy machine nears for 150 requests on loopback (the call must end by itself).
    let host = TestHost::start(HostOptions {
        allow_outbound: vec![target.authority.clone()],
        limits: Limits { call_timeout: Duration::from_secs(60), ..Default::default() },
        extra_plugins: vec![PathBuf::from(HOSTILE)],
        ..Default::default()
    })
    .await;
    let channel = connect(&host, json!({"mode": "flood", "target_url": format!("{}/bot1:x/getMe", target.base_url)})).await;
    for call in 1..=2 {
        let (status, body) = host.webhook(&channel, &[], "{}").await;
        assert_eq!((status, body.as_str()), (200, "reached 100, refused 50"), "call {call}");
        assert_eq!(target.received().len(), 100 * call, "call {call}: the refused ones never left the host");
    }
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

/// Answers DNS lookups from a fixed table, as the test's (or an attacker's) DNS server would.
struct StaticDns(Vec<(&'static str, Vec<std::net::IpAddr>)>);

impl switchboard::runtime::Resolver for StaticDns {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<std::net::SocketAddr>>> + Send + 'a>> {
        let answer = self.0.iter().find(|(name, _)| *name == host).map(|(_, ips)| ips.iter().map(|ip| std::net::SocketAddr::new(*ip, port)).collect());
        Box::pin(async move { answer.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "NXDOMAIN")) })
    }
}

/// A provider on 127.0.0.1 that records the Host header of each request; `/moved` answers a
/// redirect to its own `/inside`.
async fn recording_site() -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>) {
    use axum::http::HeaderMap;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = |seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>, path: &'static str| {
        move |headers: HeaderMap| async move {
            let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            seen.lock().unwrap().push((path.to_owned(), host));
        }
    };
    let app = axum::Router::new()
        .route("/ok", axum::routing::get(record(seen.clone(), "/ok")))
        .route("/inside", axum::routing::get(record(seen.clone(), "/inside")))
        .route("/moved", axum::routing::get(|| async { (axum::http::StatusCode::FOUND, [("location", "/inside")]) }));
    let (_, authority) = switchboard_e2e::serve_fake(app).await;
    (authority, seen)
}

async fn host_with_dns(allow_outbound: Vec<String>, dns: StaticDns) -> TestHost {
    TestHost::start(HostOptions {
        allow_outbound,
        limits: Limits { call_timeout: CALL_LIMIT, memory_bytes: 32 << 20, ..Default::default() },
        extra_plugins: vec![PathBuf::from(HOSTILE)],
        resolver: Some(std::sync::Arc::new(dns)),
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_name_an_attackers_dns_points_inside_is_refused_in_every_address_form() {
    let (authority, seen) = recording_site().await;
    let port = authority.rsplit_once(':').unwrap().1;
    // The plugin declares api.telegram.org; the attacker's DNS answers with loopback, written
    // as IPv4, IPv4-mapped, NAT64 and 6to4 IPv6, IPv4-compatible IPv6, "this network", and a
    // benchmarking address. (A public first answer then an internal one, rebinding, is tested
    // at the unit level in runtime/outbound: a test here may not connect to a public address.)
    for inside in ["127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "::127.0.0.1", "0.0.0.0", "198.18.0.1"] {
        let dns = StaticDns(vec![("api.telegram.org", vec![inside.parse().unwrap()])]);
        let host = host_with_dns(vec![], dns).await;
        let channel = connect(&host, json!({"mode": "egress", "target_url": format!("http://api.telegram.org:{port}/ok")})).await;
        let (status, body) = host.webhook(&channel, &[], "{}").await;
        assert_eq!(status, 200);
        // Refused by the policy on the attacker's answer (not a DNS failure of some other lookup).
        assert!(body.contains("denied by the host"), "api.telegram.org -> {inside} is refused: {body}");
    }
    assert!(seen.lock().unwrap().is_empty(), "nothing reached the inside: {:?}", seen.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_goes_to_the_address_that_was_checked_with_the_name_kept_and_no_redirect_followed() {
    let (authority, seen) = recording_site().await;
    let port = authority.rsplit_once(':').unwrap().1;
    // A name no real DNS knows, answered only by the host's resolver: reaching it proves the
    // connection used that one answer rather than a lookup of its own.
    let dns = StaticDns(vec![("crm.partner.invalid", vec!["127.0.0.1".parse().unwrap()])]);
    let host = host_with_dns(vec!["crm.partner.invalid".into()], dns).await;
    let channel = connect(&host, json!({"mode": "egress", "target_url": format!("http://crm.partner.invalid:{port}/ok")})).await;
    let (_, body) = host.webhook(&channel, &[], "{}").await;
    assert_eq!(body, "reached 200");
    assert_eq!(seen.lock().unwrap().as_slice(), [("/ok".to_owned(), format!("crm.partner.invalid:{port}"))], "the Host header keeps the name");

    let channel = connect(&host, json!({"mode": "egress", "target_url": format!("http://crm.partner.invalid:{port}/moved")})).await;
    let (_, body) = host.webhook(&channel, &[], "{}").await;
    assert_eq!(body, "reached 302", "the plugin gets the redirect itself");
    assert_eq!(seen.lock().unwrap().len(), 1, "the redirect's target was not requested on the plugin's behalf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_cap_below_the_plugins_initial_memory_is_named_as_such_not_as_a_broken_file() {
    use switchboard::runtime::{HostServices, Runtime};
    let runtime = Runtime::new(Limits { memory_bytes: 1 << 20, ..Default::default() }, vec![], HostServices::none(), None).unwrap();
    let refusal = match runtime.load(std::fs::read(HOSTILE).unwrap()).await {
        Ok(_) => panic!("a plugin whose initial memory is over 1 MiB was loaded under a 1 MiB cap"),
        Err(refusal) => refusal.to_string(),
    };
    assert!(!refusal.contains("not a WebAssembly component"), "{refusal}");
    assert!(refusal.contains("the plugin needs ") && refusal.contains("caps a plugin's memory at 1 MiB"), "{refusal}");
    // The same component loads under the default cap: it was the cap, not the file.
    let runtime = Runtime::new(Limits::default(), vec![], HostServices::none(), None).unwrap();
    assert!(runtime.load(std::fs::read(HOSTILE).unwrap()).await.is_ok());
}
