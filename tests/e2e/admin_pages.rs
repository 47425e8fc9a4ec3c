//! The admin pages in a real browser (Chromium driven by playwright-core): sign in, connect
//! Telegram through the generated form, a read-only field, disconnect through the confirm
//! dialog, reply from the inbox. The script drives the pages; this test sets the stage and
//! checks the effects at the (fake) providers.

use serde_json::json;
use switchboard_e2e::browser::run_script;
use switchboard_e2e::fake_line::FakeLine;
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::{HostOptions, PATIENCE, TestHost};

use crate::telegram::{GOOD_TOKEN, registered_secret, text_update};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_connects_configures_disconnects_and_replies_in_the_browser() {
    let telegram = FakeTelegram::start(GOOD_TOKEN).await;
    let line = FakeLine::start("line-token").await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![telegram.authority.clone(), line.authority.clone()], ..Default::default() }).await;

    // A LINE channel (read-only fields) and a Telegram conversation waiting for an answer.
    let settings = json!({"channel_secret": "0123456789abcdef0123456789abcdef", "channel_access_token": "line-token", "api_base_url": line.base_url});
    let (status, line_channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "line", "name": "Toko Budi LINE", "settings": settings})).await;
    assert_eq!(status, 201, "{line_channel}");
    let settings = json!({"bot_token": GOOD_TOKEN, "api_base_url": telegram.base_url});
    let (status, support) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "telegram", "name": "Support", "settings": settings})).await;
    assert_eq!(status, 201, "{support}");
    let support_id = support["id"].as_str().unwrap();
    let secret = registered_secret(&telegram);
    host.webhook(support_id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(1, 4242, "Pesanan saya di mana?")).await;
    let (_, conversations) = host.get("/api/v1/conversations", &host.agent).await;
    let conversation = conversations[0]["id"].to_string();

    let output = run_script(
        "admin.mjs",
        &[
            ("BASE", host.base.clone()),
            ("ADMIN_TOKEN", host.admin.clone()),
            ("TELEGRAM_TOKEN", GOOD_TOKEN.into()),
            ("TELEGRAM_API", telegram.base_url.clone()),
            ("LINE_CHANNEL", line_channel["id"].as_str().unwrap().into()),
            ("CONVERSATION", conversation),
        ],
    )
    .await;
    assert!(output.contains("admin pages: ok"), "{output}");

    // What the browser did, seen from the providers and the API.
    assert_eq!(telegram.calls("setWebhook").len(), 2, "the form connected a second bot");
    assert_eq!(telegram.calls("deleteWebhook").len(), 1, "the dialog's Disconnect tore it down");
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    let names: Vec<&str> = channels.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Toko Budi LINE", "Support"], "Cancel kept it, Disconnect removed it");
    let reply = host
        .eventually(PATIENCE, || async {
            telegram.calls("sendMessage").into_iter().find(|c| c.body["text"] == "Halo kak, pesanan sudah dikirim.")
        })
        .await
        .expect("the inbox reply reached Telegram");
    assert_eq!(reply.body["chat_id"].to_string().trim_matches('"'), "4242");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_switches_a_template_and_answers_a_closed_window_with_it() {
    use crate::whatsapp_cloud::{APP_SECRET, conversation_with_customer, host_and_graph};
    let (host, graph) = host_and_graph(APP_SECRET).await;
    graph.add_template("order_update", "id", "UTILITY", "APPROVED", "Halo {{1}}, pesanan {{2}} sudah dikirim");
    let (channel, conversation) = conversation_with_customer(&host, &graph, 25 * 3600).await;

    let output = run_script(
        "templates.mjs",
        &[("BASE", host.base.clone()), ("ADMIN_TOKEN", host.admin.clone()), ("CHANNEL", channel), ("CONVERSATION", conversation.to_string())],
    )
    .await;
    assert!(output.contains("templates pages: ok"), "{output}");

    let sent = host.eventually(PATIENCE, || async { graph.sends().into_iter().next() }).await.expect("the template reached Meta");
    assert_eq!(sent.body["type"], "template");
    assert_eq!(sent.body["template"]["name"], "order_update");
    assert_eq!(sent.body["template"]["components"][0]["parameters"][1]["text"], "INV-2025-001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_facebook_opens_the_login_in_a_new_tab_and_offers_the_pages() {
    use switchboard_e2e::PUBLIC_URL;
    use switchboard_e2e::fake_meta::{APP_ID, APP_SECRET};
    let (host, fake) = crate::messenger::host_and_fake().await;
    let output = run_script(
        "oauth.mjs",
        &[
            ("BASE", host.base.clone()),
            ("PUBLIC_URL", PUBLIC_URL.into()),
            ("ADMIN_TOKEN", host.admin.clone()),
            ("APP_ID", APP_ID.into()),
            ("APP_SECRET", APP_SECRET.into()),
            ("GRAPH", fake.base_url.clone()),
            ("PAGE_NAME", "Warung Siti".into()),
        ],
    )
    .await;
    assert!(output.contains("oauth pages: ok"), "{output}");
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    let connected = &channels.as_array().unwrap()[0];
    assert_eq!(connected["plugin"], "messenger");
    assert_eq!(connected["external_account_id"], crate::messenger::WARUNG_ID, "the page picked in the browser: {connected}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sets_the_meta_app_and_an_admin_connects_two_pages_typing_nothing() {
    use switchboard_e2e::PUBLIC_URL;
    use switchboard_e2e::fake_meta::{APP_ID, APP_SECRET};
    let (host, fake) = crate::messenger::host_and_fake().await;
    let output = run_script(
        "provider-app.mjs",
        &[
            ("BASE", host.base.clone()),
            ("PUBLIC_URL", PUBLIC_URL.into()),
            ("ADMIN_TOKEN", host.admin.clone()),
            ("APP_ID", APP_ID.into()),
            ("APP_SECRET", APP_SECRET.into()),
            ("GRAPH", fake.base_url.clone()),
            ("OPERATOR_TOKEN", host.operator.clone()),
            ("PAGE_IDS", format!("{},{}", crate::messenger::PAGE_ID, crate::messenger::WARUNG_ID)),
        ],
    )
    .await;
    assert!(output.contains("provider app: ok"), "{output}");
    let (_, app) = host.get("/api/v1/plugins/messenger/app", &host.operator).await;
    assert_eq!(app["settings"]["app_id"], APP_ID, "set in the browser: {app}");
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    let mut accounts: Vec<&str> = channels.as_array().unwrap().iter().map(|c| c["external_account_id"].as_str().unwrap()).collect();
    accounts.sort();
    let mut expected = [crate::messenger::PAGE_ID, crate::messenger::WARUNG_ID];
    expected.sort();
    assert_eq!(accounts, expected, "the two Pages ticked in the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_reviews_an_uploaded_plugin_and_approves_it_in_the_browser() {
    let host = TestHost::start(HostOptions::default()).await;
    let output = run_script(
        "plugin-review.mjs",
        &[("BASE", host.base.clone()), ("OPERATOR_TOKEN", host.operator.clone()), ("COMPONENT", env!("ECHO_V1_WASM").into())],
    )
    .await;
    assert!(output.contains("plugin review: ok"), "{output}");
    let (_, plugins) = host.get("/api/v1/plugins", &host.agent).await;
    assert!(plugins.as_array().unwrap().iter().any(|p| p["id"] == "echo"), "approved in the browser: {plugins}");
}

/// The catalogue page against a real registry holding echo 2.0.0, 2.1.0 (a new outbound host)
/// and 3.0.0: installed and upgraded in the browser, through the consent review each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_installs_and_upgrades_a_plugin_from_the_catalogue_consenting_to_a_new_host_in_the_browser() {
    use switchboard_e2e::oci_registry::OciRegistry;
    let registry = OciRegistry::start().await;
    for (file, version) in [(env!("ECHO_V2_WASM"), "2.0.0"), (env!("ECHO_V2_1_WASM"), "2.1.0"), (env!("ECHO_V3_WASM"), "3.0.0")] {
        registry.push("plugins/echo", file, version).await;
    }
    let repository = format!("oci://{}/plugins/echo", registry.authority);
    let host = TestHost::start(HostOptions { allow_outbound: vec![registry.authority.clone()], catalogue: vec![repository.clone()], ..Default::default() }).await;
    let output = run_script(
        "catalogue.mjs",
        &[("BASE", host.base.clone()), ("OPERATOR_TOKEN", host.operator.clone()), ("SOURCE", repository.clone())],
    )
    .await;
    assert!(output.contains("catalogue: ok"), "{output}");
    let (_, plugins) = host.get("/api/v1/plugins", &host.operator).await;
    let echo = plugins.as_array().unwrap().iter().find(|p| p["id"] == "echo").expect("installed in the browser").clone();
    assert_eq!((echo["version"].as_str(), &echo["outbound_hosts"]), (Some("2.1.0"), &json!(["api.echo.example"])), "{echo}");
    let (_, audit) = host.get("/api/v1/audit", &host.operator).await;
    assert!(audit.to_string().contains(&format!("echo 2.1.0 from {repository}:2.1.0")), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_agent_sets_a_password_and_logs_in_with_username_and_password() {
    let host = TestHost::start(HostOptions { local_public_url: true, ..Default::default() }).await;
    let output = run_script("people.mjs", &[("BASE", host.base.clone()), ("ADMIN_TOKEN", host.admin.clone())]).await;
    assert!(output.contains("people: ok"), "{output}");
    let (_, people) = host.get("/api/v1/people", &host.admin).await;
    let siti = people.as_array().unwrap().iter().find(|p| p["username"] == "siti@tokobudi.co.id").expect("invited in the browser");
    assert_eq!((siti["role"].as_str(), siti["has_password"].as_bool()), (Some("agent"), Some(true)), "{siti}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_assigns_a_conversation_and_the_agent_finds_it_under_mine() {
    use switchboard_e2e::test_plugin;
    let host = TestHost::start(HostOptions { extra_plugins: vec![test_plugin(env!("ECHO_V1_WASM"))], local_public_url: true, ..Default::default() }).await;
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo", "settings": {}})).await;
    assert_eq!(status, 201, "{channel}");
    let channel = channel["id"].as_str().unwrap();
    assert_eq!(host.webhook(channel, &[], json!({"id": "p1", "text": "halo"}).to_string()).await.0, 200);
    let (_, list) = host.get("/api/v1/conversations", &host.admin).await;
    let conversation = list[0]["id"].as_i64().unwrap();
    let (id, link) = crate::people::invite(&host, &host.admin, "siti@tokobudi.co.id", "agent").await;
    assert_eq!(crate::people::accept(&host, &link, crate::people::PASSWORD).await.0, 200);

    let output = run_script(
        "assign.mjs",
        &[
            ("BASE", host.base.clone()),
            ("ADMIN_TOKEN", host.admin.clone()),
            ("CONVERSATION", conversation.to_string()),
            ("USERNAME", "siti@tokobudi.co.id".into()),
            ("PASSWORD", crate::people::PASSWORD.into()),
        ],
    )
    .await;
    assert!(output.contains("assign: ok"), "{output}");
    let (_, shown) = host.get(&format!("/api/v1/conversations/{conversation}"), &host.admin).await;
    assert_eq!((shown["assignee_id"].as_i64(), shown["status"].as_str()), (Some(id), Some("resolved")), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_creates_a_workspace_switches_to_it_and_connects_a_channel_there() {
    use switchboard_e2e::test_plugin;
    let host = TestHost::start(HostOptions { extra_plugins: vec![test_plugin(env!("ECHO_V1_WASM"))], ..Default::default() }).await;
    let output = run_script("workspaces.mjs", &[("BASE", host.base.clone()), ("OPERATOR_TOKEN", host.operator.clone())]).await;
    assert!(output.contains("workspaces: ok"), "{output}");
    let (_, workspaces) = host.get("/api/v1/workspaces", &host.operator).await;
    let warung = workspaces.as_array().unwrap().iter().find(|w| w["name"] == "Warung Siti").expect("created in the browser").clone();
    assert_eq!(warung["channels"], 1, "the channel went into the workspace switched to: {warung}");
    let (_, own) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(own, serde_json::json!([]), "nothing landed in workspace 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_follows_customers_and_statuses_live_and_resumes_after_a_cut() {
    use crate::whatsapp_cloud::{APP_SECRET, conversation_with_customer, customer_text, envelope, host_and_graph, now_seconds, queue, settled, status_update};
    use switchboard_e2e::fake_whatsapp_cloud::{PHONE_NUMBER_ID, signature};

    let (host, graph) = host_and_graph(APP_SECRET).await;
    let (channel, conversation) = conversation_with_customer(&host, &graph, 600).await;
    let (status, reply) = queue(&host, conversation, json!({"text": "Baik kak, kami cek dulu"})).await;
    assert_eq!(status, 202, "{reply}");
    let sent = settled(&host, conversation, reply["id"].as_i64().unwrap(), &["sent"]).await;
    let (_, link) = crate::people::invite(&host, &host.admin, "siti@tokobudi.co.id", "agent").await;
    assert_eq!(crate::people::accept(&host, &link, crate::people::PASSWORD).await.0, 200);

    // What the customers' side will send while the page is open, signed as Meta signs.
    let signed = |value: serde_json::Value| {
        let body = envelope(PHONE_NUMBER_ID, value);
        json!({"signature": signature(APP_SECRET, body.as_bytes()), "body": body})
    };
    let rina = json!({
        "contacts": [{"profile": {"name": "Rina"}, "wa_id": "6289990000001"}],
        "messages": [{"from": "6289990000001", "id": "wamid.RINA1", "timestamp": now_seconds().to_string(), "type": "text", "text": {"body": "Mau tanya ongkir"}}]
    });
    let signed = json!({
        "live": signed(customer_text("wamid.IN2", 0, "Paketnya datang rusak")),
        "cut": signed(customer_text("wamid.IN3", 0, "Apakah bisa diganti?")),
        "other": signed(rina),
        "read": signed(status_update(sent["provider_message_id"].as_str().unwrap(), "read", None)),
    });
    let output = run_script(
        "live-inbox.mjs",
        &[
            ("BASE", host.base.clone()),
            ("WEBHOOK", format!("{}/webhooks/{channel}", host.base)),
            ("SIGNED", signed.to_string()),
            ("CONVERSATION", conversation.to_string()),
            ("REPLY", reply["id"].to_string()),
            ("USERNAME", "siti@tokobudi.co.id".into()),
            ("PASSWORD", crate::people::PASSWORD.into()),
        ],
    )
    .await;
    assert!(output.contains("live inbox: ok"), "{output}");
    let (_, listed) = host.get("/api/v1/conversations", &host.admin).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_shows_its_guide_previews_unsaved_settings_and_passes_axe_and_a_phone() {
    use switchboard_e2e::test_plugin;
    let host = TestHost::start(HostOptions { extra_plugins: vec![test_plugin(env!("ECHO_V1_WASM"))], ..Default::default() }).await;
    let (status, webchat) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "webchat", "name": "Toko Budi", "settings": {"domain": "tokobudi.co.id"}})).await;
    assert_eq!(status, 201, "{webchat}");
    let webchat = webchat["id"].as_str().unwrap().to_owned();
    let (status, echo) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo", "settings": {}})).await;
    assert_eq!(status, 201, "{echo}");
    assert_eq!(host.webhook(echo["id"].as_str().unwrap(), &[], json!({"id": "p1", "text": "Halo, paket saya belum sampai"}).to_string()).await.0, 200);
    let (_, list) = host.get("/api/v1/conversations", &host.admin).await;

    let output = run_script(
        "pages.mjs",
        &[
            ("BASE", host.base.clone()),
            ("ADMIN_TOKEN", host.admin.clone()),
            ("WEBCHAT", webchat.clone()),
            ("CONVERSATION", list[0]["id"].to_string()),
        ],
    )
    .await;
    assert!(output.contains("pages: ok"), "{output}");
    // The preview changed nothing stored.
    let (_, channel) = host.get(&format!("/api/v1/channels/{webchat}"), &host.admin).await;
    assert_ne!(channel["settings"]["greeting"]["value"], "Selamat datang di Toko Budi!", "{channel}");
    assert_ne!(channel["settings"]["color"]["value"], "#118833", "{channel}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_webhook_endpoint_tests_it_reads_its_deliveries_and_turns_it_off() {
    use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
    let received = Arc::new(AtomicUsize::new(0));
    let counted = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let (base, authority) = switchboard_e2e::serve_fake(receiver).await;
    let host = TestHost::start(HostOptions {
        extra_plugins: vec![switchboard_e2e::test_plugin(env!("ECHO_V1_WASM"))],
        allow_outbound: vec![authority],
        local_public_url: true,
        ..Default::default()
    })
    .await;
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo", "settings": {}})).await;
    assert_eq!(status, 201, "{channel}");
    let channel = channel["id"].as_str().unwrap().to_owned();
    // The customer writes once the endpoint exists: the page shows that delivery.
    let writer = {
        let (host_base, http) = (host.base.clone(), host.http.clone());
        let admin = host.admin.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + PATIENCE;
            loop {
                let listed: serde_json::Value = http.get(format!("{host_base}/api/v1/webhook-endpoints")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
                if listed.as_array().is_some_and(|l| !l.is_empty()) {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "the endpoint was never added in the browser");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let body = json!({"id": "w1", "text": "halo"}).to_string();
            http.post(format!("{host_base}/webhooks/{channel}")).header("content-type", "application/json").body(body).send().await.unwrap();
        })
    };
    let output = run_script("webhooks.mjs", &[("BASE", host.base.clone()), ("ADMIN_TOKEN", host.admin.clone()), ("RECEIVER", format!("{base}/hook"))]).await;
    assert!(output.contains("webhooks: ok"), "{output}");
    writer.await.unwrap();
    let (_, endpoints) = host.get("/api/v1/webhook-endpoints", &host.admin).await;
    assert_eq!((endpoints[0]["enabled"].as_bool(), endpoints[0]["description"].as_str()), (Some(false), Some("CRM")), "{endpoints}");
    assert!(received.load(Ordering::SeqCst) >= 3, "the ping, the message and its redelivery reached the receiver");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_reads_in_bahasa_indonesia_after_the_switch_remembers_it_and_passes_axe_in_both_languages() {
    use switchboard_e2e::test_plugin;
    let host = TestHost::start(HostOptions { extra_plugins: vec![test_plugin(env!("ECHO_V1_WASM"))], ..Default::default() }).await;
    let (status, webchat) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "webchat", "name": "Toko Budi", "settings": {"domain": "tokobudi.co.id"}})).await;
    assert_eq!(status, 201, "{webchat}");
    let (status, echo) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo", "settings": {}})).await;
    assert_eq!(status, 201, "{echo}");
    assert_eq!(host.webhook(echo["id"].as_str().unwrap(), &[], json!({"id": "p1", "text": "Halo, paket saya belum sampai"}).to_string()).await.0, 200);
    let (_, list) = host.get("/api/v1/conversations", &host.admin).await;
    let (siti, invitation) = crate::people::invite(&host, &host.admin, "siti@tokobudi.co.id", "agent").await;

    let output = run_script(
        "language.mjs",
        &[
            ("BASE", host.base.clone()),
            ("ADMIN_TOKEN", host.admin.clone()),
            ("OPERATOR_TOKEN", host.operator.clone()),
            ("WEBCHAT", webchat["id"].as_str().unwrap().into()),
            ("CONVERSATION", list[0]["id"].to_string()),
            ("INVITATION", invitation),
            ("USERNAME", "siti@tokobudi.co.id".into()),
            ("PASSWORD", crate::people::PASSWORD.into()),
        ],
    )
    .await;
    assert!(output.contains("language: ok"), "{output}");
    // The language picked in the browser is on Siti's account.
    let (_, people) = host.get("/api/v1/people", &host.admin).await;
    let person = people.as_array().unwrap().iter().find(|p| p["id"] == siti).expect("Siti").clone();
    assert_eq!(person["language"], "id", "{person}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_the_provider_refuses_opens_the_error_dialog_usable_by_keyboard() {
    let telegram = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![telegram.authority.clone()], ..Default::default() }).await;
    let output = run_script(
        "error-popup.mjs",
        &[("BASE", host.base.clone()), ("ADMIN_TOKEN", host.admin.clone()), ("TELEGRAM_API", telegram.base_url.clone())],
    )
    .await;
    assert!(output.contains("error popup: ok"), "{output}");
    assert_eq!(telegram.calls("getMe").len(), 2, "the form reached Telegram twice (the empty field never did)");
    assert!(telegram.calls("setWebhook").is_empty(), "no webhook is registered with a refused token");
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(channels, json!([]), "a refused connect leaves no channel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_renames_suspends_and_deletes_a_workspace_and_finds_it_in_the_audit_log() {
    let host = TestHost::start(HostOptions::default()).await;
    // More than one page of the audit log (50 a page in the script), of renames too: 60 renames,
    // and the name back.
    let (_, first) = host.get("/api/v1/workspaces/1", &host.operator).await;
    for i in 0..60 {
        let (status, _) = host.call(reqwest::Method::PATCH, "/api/v1/workspaces/1", Some(host.operator.as_str()), Some(json!({"name": format!("Toko {i}")}))).await;
        assert_eq!(status, 200);
    }
    let (status, _) = host.call(reqwest::Method::PATCH, "/api/v1/workspaces/1", Some(host.operator.as_str()), Some(json!({"name": first["name"]}))).await;
    assert_eq!(status, 200);
    // One entry by someone else (`anonymous`) for the page's filter by who.
    let (status, _) = host.call(reqwest::Method::POST, "/api/v1/session", None, Some(json!({"username": "budi@toko.id", "password": "bukan-sandinya"}))).await;
    assert_eq!(status, 401);
    let output = run_script("operator.mjs", &[("BASE", host.base.clone()), ("OPERATOR_TOKEN", host.operator.clone())]).await;
    assert!(output.contains("operator: ok"), "{output}");
    let (_, workspaces) = host.get("/api/v1/workspaces", &host.operator).await;
    let left: Vec<&str> = workspaces.as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert!(!left.iter().any(|name| name.starts_with("Warung Siti")), "deleted in the browser: {workspaces}");
    let (_, log) = host.get("/api/v1/audit", &host.operator).await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).filter(|a| a.starts_with("workspace.")).collect();
    assert!(actions.len() >= 5, "{log}");
    assert_eq!(&actions[..5], ["workspace.delete", "workspace.resume", "workspace.suspend", "workspace.rename", "workspace.create"], "newest first: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_and_operations_pages_draw_what_happened_in_both_languages_and_pass_axe() {
    use switchboard_e2e::{conversations, send, until_status};
    let shop_bot = FakeTelegram::start(GOOD_TOKEN).await;
    let promo_bot = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![shop_bot.authority.clone(), promo_bot.authority.clone()], ..Default::default() }).await;
    let (shop, shop_secret) = telegram_channel(&host, &shop_bot, "Toko Budi Telegram").await;
    let (promo, promo_secret) = telegram_channel(&host, &promo_bot, "Toko Budi Promo").await;

    // Customers write: three messages in two conversations to the shop's bot, one to the promo bot.
    for (update_id, chat, text) in [(1, 4242, "Pesanan saya di mana?"), (2, 4242, "Nomor resinya berapa?"), (3, 4343, "Apakah stok masih ada?")] {
        let (status, body) = host.webhook(&shop, &[("x-telegram-bot-api-secret-token", &shop_secret)], update_now(update_id, chat, text)).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = host.webhook(&promo, &[("x-telegram-bot-api-secret-token", &promo_secret)], update_now(4, 5151, "Ada promo?")).await;
    assert_eq!(status, 200, "{body}");
    let listed = conversations(&host).await;
    let of = |channel: &str| -> Vec<i64> { listed.iter().filter(|c| c["channel_id"] == channel).map(|c| c["id"].as_i64().unwrap()).collect() };
    let (shop_conversations, promo_conversations) = (of(&shop), of(&promo));
    assert_eq!((shop_conversations.len(), promo_conversations.len()), (2, 1), "{listed:?}");

    // The promo bot's reply is refused (the customer blocked the bot): one delivery failure.
    promo_bot.fail_next_send(403, "Forbidden: bot was blocked by the user", None);
    let refused = send(&host, promo_conversations[0], json!({"text": "Promo hari ini: diskon 10%"})).await;
    until_status(&host, promo_conversations[0], refused, "failed").await;

    // Siti, an admin who signs in with her password, answers the shop's customers in the browser.
    let (siti, link) = crate::people::invite(&host, &host.admin, "siti@tokobudi.co.id", "admin").await;
    assert_eq!(crate::people::accept(&host, &link, crate::people::PASSWORD).await.0, 200);
    let output = run_script(
        "activity.mjs",
        &[
            ("BASE", host.base.clone()),
            ("USERNAME", "siti@tokobudi.co.id".into()),
            ("PASSWORD", crate::people::PASSWORD.into()),
            ("PERSON", siti.to_string()),
            ("SHOP", shop.clone()),
            ("OTHER", promo.clone()),
            ("CONVERSATIONS", shop_conversations.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
            ("RECEIVED", json!({ shop.as_str(): 3, promo.as_str(): 1 }).to_string()),
            ("OPERATOR_TOKEN", host.operator.clone()),
            ("AGENT_TOKEN", host.agent.clone()),
        ],
    )
    .await;
    assert!(output.contains("activity: ok"), "{output}");
    // What the browser did, seen from Telegram: Siti's two replies from the inbox.
    let replies: Vec<String> = shop_bot.calls("sendMessage").iter().map(|c| c.body["text"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(replies, ["Halo kak, pesanan sudah dikirim.", "Stok masih ada, kak."], "the inbox's replies reached Telegram");
}

/// A Telegram channel of the admin's on `bot`: its id, and the secret Telegram sends back.
async fn telegram_channel(host: &TestHost, bot: &FakeTelegram, name: &str) -> (String, String) {
    let settings = json!({"bot_token": GOOD_TOKEN, "api_base_url": bot.base_url});
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "telegram", "name": name, "settings": settings})).await;
    assert_eq!(status, 201, "{channel}");
    (channel["id"].as_str().unwrap().to_owned(), registered_secret(bot))
}

/// A customer's Telegram message sent now (the Activity page counts it on the day it came).
fn update_now(update_id: i64, chat_id: i64, text: &str) -> String {
    let mut update: serde_json::Value = serde_json::from_str(&text_update(update_id, chat_id, text)).unwrap();
    update["message"]["date"] = json!(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs());
    update.to_string()
}
