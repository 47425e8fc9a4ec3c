//! The test kit against real components of this workspace: rules, recording, state, logs and
//! the host's limits, as a plugin author's tests would meet them.

use std::time::Duration;

use serde_json::json;
use switchboard_testkit::{Answer, Http, Message, Plugin, Request, workspace_component};

fn telegram() -> Plugin {
    Plugin::load(workspace_component("switchboard-telegram")).unwrap().setting("bot_token", "1:abc")
}

#[test]
fn a_rule_answers_only_the_request_it_names_and_every_request_is_recorded() {
    let mut plugin = telegram();
    plugin.on(
        Http::post("https://api.telegram.org/bot1:abc/sendMessage")
            .header("content-type", "application/json")
            .json(json!({"chat_id": "42", "text": "halo"}))
            .respond_json(200, json!({"ok": true, "result": {"message_id": 7}})),
    );
    let sent = plugin.send(Message::text("42", "halo"));
    assert_eq!(sent.ok()["provider_message_id"], "7");
    assert_eq!(sent.requests.len(), 1);
    assert_eq!(sent.requests[0].rule, Some(0));
    assert_eq!(sent.requests[0].json(), json!({"chat_id": "42", "text": "halo"}));

    // Another text: the body no longer matches, nothing answers, the plugin sees no connection.
    let unanswered = plugin.send(Message::text("42", "other words"));
    assert!(matches!(&unanswered.answer, Answer::Refused(e) if e.get("Transient").is_some()), "{:?}", unanswered.answer);
    assert_eq!(unanswered.unmatched().len(), 1);
    assert_eq!(unanswered.unmatched()[0].url, "https://api.telegram.org/bot1:abc/sendMessage");
}

#[test]
fn a_rule_used_up_gives_way_to_the_next_and_a_retry_after_header_reaches_the_plugin() {
    let mut plugin = telegram();
    plugin.on(Http::any("https://api.telegram.org/*").times(1).respond(429, "slow down").respond_header("Retry-After", "7"));
    plugin.on(Http::post("https://api.telegram.org/bot1:abc/sendMessage").respond_json(200, json!({"ok": true, "result": {"message_id": 8}})));
    // Rule counts start again with every call: the first request of a call meets the 429, in
    // this call and in the next (`times(1)` is once per call, not once per test).
    let limited = plugin.send(Message::text("42", "a"));
    assert_eq!(limited.refused(), &json!({"RateLimited": 7}));
    let again = plugin.send(Message::text("42", "b"));
    assert_eq!(again.refused(), &json!({"RateLimited": 7}), "the count restarted: {:?}", again.requests);
    assert_eq!(again.requests.iter().map(|r| r.rule).collect::<Vec<_>>(), vec![Some(0)]);
    // Different answers in a later call: change the rules between the calls.
    plugin.clear_rules();
    plugin.on(Http::post("https://api.telegram.org/bot1:abc/sendMessage").respond_json(200, json!({"ok": true, "result": {"message_id": 9}})));
    assert_eq!(plugin.send(Message::text("42", "c")).ok()["provider_message_id"], "9");
    // Within one call, the used-up rule lets the next one answer (LINE: reply refused, then push).
    let mut line = Plugin::load(workspace_component("switchboard-line")).unwrap().setting("channel_access_token", "tok");
    line.on(Http::any("https://api.line.me/*").times(1).respond_json(400, json!({"message": "Invalid reply token"})));
    line.on(Http::any("https://api.line.me/*").respond_json(200, json!({"sentMessages": [{"id": "m9"}]})));
    let sent = line.send(Message::text("U1", "halo").last_inbound("in1", &[("reply_token", "rt1")]));
    assert_eq!(sent.ok()["provider_message_id"], "m9");
    assert_eq!(sent.requests.iter().map(|r| r.rule).collect::<Vec<_>>(), vec![Some(0), Some(1)]);
}

#[test]
fn connect_registers_the_webhook_with_the_channel_secret() {
    let mut plugin = telegram();
    plugin.on(Http::get("https://api.telegram.org/bot1:abc/getMe").respond_json(200, json!({"ok": true, "result": {"id": 99, "first_name": "Shop", "username": "shop_bot"}})));
    let secret = plugin.webhook_secret().to_owned();
    plugin.on(Http::post("https://api.telegram.org/bot1:abc/setWebhook").json(json!({"secret_token": secret})).respond_json(200, json!({"ok": true, "result": true})));
    let connected = plugin.connect();
    assert_eq!(connected.ok()["display_name"], "@shop_bot");
    assert_eq!(connected.requests.iter().map(|r| r.rule).collect::<Vec<_>>(), vec![Some(0), Some(1)]);
}

#[test]
fn webhooks_are_verified_with_the_channel_secret() {
    let mut plugin = telegram();
    let update = json!({"update_id": 5, "message": {"message_id": 9, "date": 1_700_000_000, "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "first_name": "Ani"}, "text": "halo"}});
    let signed = Request::post("/").header("X-Telegram-Bot-Api-Secret-Token", &plugin.webhook_secret().to_owned()).json(update.clone());
    let accepted = plugin.webhook(signed);
    assert_eq!(accepted.ok()["events"][0]["Message"]["text"], "halo");
    let forged = plugin.webhook(Request::post("/").header("X-Telegram-Bot-Api-Secret-Token", "guess").json(update));
    assert!(forged.refused().get("Unauthorized").is_some());
}

#[test]
fn state_is_seeded_carried_between_calls_and_logs_are_captured() {
    // LINE marks a reply token used in the channel's state, and logs when LINE refuses it.
    let mut plugin = Plugin::load(workspace_component("switchboard-line")).unwrap().setting("channel_access_token", "tok").setting("channel_secret", "s");
    plugin.on(Http::post("https://api.line.me/v2/bot/message/reply").respond_json(400, json!({"message": "Invalid reply token"})));
    plugin.on(Http::post("https://api.line.me/v2/bot/message/push").header("authorization", "Bearer tok").respond_json(200, json!({"sentMessages": [{"id": "m1"}]})));
    let message = || Message::text("U1", "halo").message_id("41").last_inbound("in1", &[("reply_token", "rt1")]);
    let first = plugin.send(message());
    assert_eq!(first.ok()["provider_message_id"], "m1");
    assert_eq!(first.requests.iter().map(|r| r.url.as_str()).collect::<Vec<_>>(), ["https://api.line.me/v2/bot/message/reply", "https://api.line.me/v2/bot/message/push"]);
    assert!(first.requests[1].header("x-line-retry-key").is_some(), "the push carries the idempotency key");
    assert!(first.logs.iter().any(|l| l.level == "info" && l.message.contains("reply token")), "{:?}", first.logs);
    assert_eq!(plugin.state().get("reply_token_used:U1").map(String::as_str), Some("rt1"));
    // The next call sees the state the first one left: the used token is not tried again.
    let second = plugin.send(message().message_id("42"));
    assert_eq!(second.requests.len(), 1);
    assert!(second.requests[0].url.ends_with("/push"));
    // A seeded state counts the same.
    let mut fresh = Plugin::load(workspace_component("switchboard-line")).unwrap().setting("channel_access_token", "tok");
    fresh.seed_state("reply_token_used:U1", "rt1");
    fresh.on(Http::post("https://api.line.me/v2/bot/message/push").respond_json(200, json!({"sentMessages": [{"id": "m2"}]})));
    assert_eq!(fresh.send(message()).requests.len(), 1);
}

#[test]
fn the_outbound_rules_still_apply_before_any_double() {
    let hostile = workspace_component("hostile");
    let mut plugin = Plugin::load(&hostile).unwrap().setting("mode", "egress").setting("target_url", "https://evil.example/steal");
    plugin.on(Http::any("https://evil.example/*").respond(200, "stolen"));
    let answered = plugin.webhook(Request::post("/"));
    let body: Vec<u8> = serde_json::from_value(answered.ok()["response"]["body"].clone()).unwrap();
    assert!(String::from_utf8(body).unwrap().starts_with("denied"), "an undeclared host is denied as in a server");
    assert!(answered.requests.is_empty(), "the double never saw it");
}

#[test]
fn the_host_limits_are_reported_as_the_host_reports_them() {
    let hostile = workspace_component("hostile");
    let mut looping = Plugin::load(&hostile).unwrap().setting("mode", "loop");
    looping.time_limit(Duration::from_millis(300));
    let failed = looping.webhook(Request::post("/"));
    assert!(failed.failed().contains("time limit"), "{}", failed.failed());

    let mut hoarding = Plugin::load(&hostile).unwrap().setting("mode", "memory");
    hoarding.memory_limit_mb(16);
    let failed = hoarding.webhook(Request::post("/"));
    assert!(failed.failed().contains("memory"), "{}", failed.failed());
}

#[test]
fn a_missing_component_is_a_clear_error() {
    let error = Plugin::load("/nonexistent/plugin.wasm").unwrap_err();
    assert!(error.to_string().contains("build the plugin for wasm32-wasip2"), "{error}");
}
