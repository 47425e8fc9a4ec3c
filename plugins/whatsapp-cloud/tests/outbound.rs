//! WhatsApp Cloud's outbound paths in the real runtime, the Graph API answered by the test kit's doubles.

use serde_json::json;
use switchboard_testkit::{Http, Message, Plugin, workspace_component};

fn whatsapp() -> Plugin {
    Plugin::load(workspace_component("switchboard-whatsapp-cloud"))
        .unwrap()
        .setting("phone_number_id", "PN1")
        .setting("business_account_id", "WABA1")
        .setting("access_token", "EAAtok")
        .setting("app_secret", "appsecret")
}

#[test]
fn a_text_goes_to_the_numbers_messages_endpoint_with_the_token() {
    let mut plugin = whatsapp();
    plugin.on(
        Http::post("https://graph.facebook.com/*")
            .header("authorization", "Bearer EAAtok")
            .json(json!({"messaging_product": "whatsapp", "to": "6281234", "type": "text", "text": {"body": "halo"}}))
            .respond_json(200, json!({"messaging_product": "whatsapp", "contacts": [{"input": "6281234", "wa_id": "6281234"}], "messages": [{"id": "wamid.A"}]})),
    );
    let sent = plugin.send(Message::text("6281234", "halo"));
    assert_eq!(sent.ok()["provider_message_id"], "wamid.A");
    // The call carries the app secret's proof of the token, as Meta asks when the app requires it.
    let (path, proof) = sent.requests[0].url.split_once("?appsecret_proof=").unwrap();
    assert!(path.ends_with("/PN1/messages"), "{path}");
    assert!(proof.len() == 64 && proof.bytes().all(|b| b.is_ascii_hexdigit()), "{proof}");
}

#[test]
fn a_template_goes_out_when_the_window_is_closed_and_a_closed_window_is_named() {
    let mut plugin = whatsapp();
    plugin.on(
        Http::post("https://graph.facebook.com/*")
            .json(json!({"type": "template", "template": {"name": "order_update", "language": {"code": "id"}}}))
            .respond_json(200, json!({"messages": [{"id": "wamid.T"}]})),
    );
    plugin.on(Http::post("https://graph.facebook.com/*").respond_json(400, json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047, "fbtrace_id": "x"}})));
    let template = plugin.send(Message::template("6281234", "order_update", "id", &["A-17"]).window("closed"));
    assert_eq!(template.ok()["provider_message_id"], "wamid.T");
    let params = &template.requests[0].json()["template"]["components"][0]["parameters"];
    assert_eq!(params[0]["text"], "A-17");
    let refused = plugin.send(Message::text("6281234", "halo").window("open"));
    assert!(refused.refused().get("WindowClosed").is_some(), "{:?}", refused.answer);
}
