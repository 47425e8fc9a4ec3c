//! LINE's outbound paths in the real runtime, the Messaging API answered by the test kit's doubles.

use serde_json::json;
use switchboard_testkit::{Http, Message, Plugin, workspace_component};

fn line() -> Plugin {
    Plugin::load(workspace_component("switchboard-line")).unwrap().setting("channel_access_token", "tok").setting("channel_secret", "sec")
}

#[test]
fn a_fresh_reply_token_is_used_once_then_pushes_carry_a_stable_retry_key() {
    let mut plugin = line();
    plugin.on(Http::post("https://api.line.me/v2/bot/message/reply").json(json!({"replyToken": "rt1"})).respond_json(200, json!({"sentMessages": [{"id": "r1"}]})));
    plugin.on(Http::post("https://api.line.me/v2/bot/message/push").header("authorization", "Bearer tok").respond_json(200, json!({"sentMessages": [{"id": "p1"}]})));
    let answered = |id: &str| Message::text("U1", "halo").message_id(id).last_inbound("in1", &[("reply_token", "rt1")]);
    let replied = plugin.send(answered("m1"));
    assert_eq!(replied.ok()["provider_message_id"], "r1");
    // The token is spent: the next message pushes.
    let pushed = plugin.send(answered("m2"));
    assert_eq!(pushed.ok()["provider_message_id"], "p1");
    let key = pushed.requests[0].header("x-line-retry-key").unwrap().to_owned();
    // A retry of the same message (attempt 1) pushes with the same key; another message, another key.
    let retried = plugin.send(answered("m2").attempt(1));
    assert_eq!(retried.requests[0].header("x-line-retry-key"), Some(key.as_str()));
    assert_ne!(plugin.send(answered("m3")).requests[0].header("x-line-retry-key"), Some(key.as_str()));
}

#[test]
fn a_conflict_on_the_retry_key_means_line_sent_it_before() {
    let mut plugin = line();
    plugin.on(Http::post("https://api.line.me/v2/bot/message/push").respond_json(409, json!({"message": "The retry key is already accepted", "sentMessages": [{"id": "p7"}]})));
    let sent = plugin.send(Message::text("U1", "halo").attempt(1));
    assert!(matches!(sent.answer, switchboard_testkit::Answer::Ok(_)), "{:?}", sent.answer);
}

#[test]
fn a_refused_token_is_unauthorized() {
    let mut plugin = line();
    plugin.on(Http::post("https://api.line.me/v2/bot/message/push").respond_json(401, json!({"message": "Authentication failed"})));
    assert!(plugin.send(Message::text("U1", "halo")).refused().get("Unauthorized").is_some());
}
