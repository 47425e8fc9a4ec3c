//! Settings checks, the snippet, visitor messages and sends, natively.

use super::*;

const SECRET: &str = "0123456789abcdefABCDEF0123456789";

fn ctx(settings: &[(&str, &str)]) -> ChannelContext {
    ChannelContext {
        channel_id: "ch_abc".into(),
        webhook_url: "https://chat.tokobudi.co.id/webhooks/ch_abc".into(),
        webhook_secret: SECRET.into(),
        settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn field_errors(result: Result<Connection, ChannelError>) -> Vec<(String, String)> {
    match result {
        Err(ChannelError::InvalidSettings(errors)) => errors.into_iter().map(|e| (e.key, e.message)).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn signed(path: &str, body: &str) -> HttpRequest {
    let signature = hex::encode(hmac_sha256(SECRET, body));
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        query: "".into(),
        headers: vec![(SIGNATURE_HEADER.into(), signature)],
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn connect_returns_the_embed_snippet_and_preview() {
    let connection = Webchat::connect(&ctx(&[("domain", "TokoBudi.co.id, *.toko.id 127.0.0.1:8080")])).unwrap();
    assert_eq!(connection.display_name, "tokobudi.co.id, *.toko.id, 127.0.0.1:8080");
    assert_eq!(connection.external_account_id, "tokobudi.co.id");
    let item = |key: &str| connection.setup.iter().find(|i| i.key == key).unwrap().value.clone();
    assert_eq!(item("embed_snippet"), r#"<script src="https://chat.tokobudi.co.id/webchat/ch_abc/widget.js" async></script>"#);
    assert_eq!(item("preview_url"), "https://chat.tokobudi.co.id/webchat/ch_abc/preview");
}

#[test]
fn connect_names_each_bad_setting() {
    let errors = field_errors(Webchat::connect(&ctx(&[("domain", "https://tokobudi.co.id/shop"), ("color", "red")])));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].0 == "domain" && errors[0].1.contains("no https://"), "{errors:?}");
    assert_eq!(errors[1], ("color".into(), "must be a colour like #1f6feb".into()));

    for bad in ["toko!budi.co.id", "-x.com", "a..b", "x.com:0", "x.com:99999", "x.com:port", "*.", "ex_ample.com"] {
        let errors = field_errors(Webchat::connect(&ctx(&[("domain", bad)])));
        assert_eq!(errors[0].0, "domain", "{bad}");
    }
    let long = "x".repeat(MAX_GREETING_CHARS + 1);
    let errors = field_errors(Webchat::connect(&ctx(&[("domain", "x.com"), ("greeting", &long)])));
    assert_eq!(errors[0].0, "greeting");
    for good in ["#abc", "#1F6FEB"] {
        assert!(Webchat::connect(&ctx(&[("domain", "x.com"), ("color", good)])).is_ok(), "{good}");
    }
}

#[test]
fn a_signed_visitor_message_becomes_an_inbound_message() {
    let body = r#"{"visitor":"v_3f9kAbc","client_id":"c1234567890","text":"  Halo <b>kak</b>  "}"#;
    let outcome = Webchat::handle_webhook(&ctx(&[]), signed("messages", body)).unwrap();
    assert_eq!(outcome.response.status, 200);
    let [Event::Message(message)] = &outcome.events[..] else { panic!("one message expected") };
    assert_eq!(message.provider_message_id, "v_3f9kAbc:c1234567890");
    assert_eq!(message.conversation, "v_3f9kAbc");
    assert_eq!(message.sender.id, "v_3f9kAbc");
    assert_eq!(message.sender.name.as_deref(), Some("Website visitor 3F9K"));
    assert_eq!(message.text.as_deref(), Some("Halo <b>kak</b>"), "kept as written (trimmed); escaping is the reader's job");
    assert_eq!(message.properties, vec![("client_id".to_string(), "c1234567890".to_string())]);
}

#[test]
fn unsigned_or_malformed_visitor_messages_are_refused() {
    let body = r#"{"visitor":"v_1","client_id":"c1234567890","text":"hi"}"#;
    let mut unsigned = signed("messages", body);
    unsigned.headers.clear();
    assert!(matches!(Webchat::handle_webhook(&ctx(&[]), unsigned), Err(ChannelError::Unauthorized(_))));
    let mut forged = signed("messages", body);
    forged.body = br#"{"visitor":"v_2","client_id":"c1234567890","text":"hi"}"#.to_vec();
    assert!(matches!(Webchat::handle_webhook(&ctx(&[]), forged), Err(ChannelError::Unauthorized(_))));

    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    for bad in [
        r#"{"visitor":"v_1","client_id":"c1234567890","text":"   "}"#.to_string(),
        format!(r#"{{"visitor":"v_1","client_id":"c1234567890","text":"{long}"}}"#),
        r#"{"visitor":"v_1","client_id":"short","text":"hi"}"#.to_string(),
        r#"{"visitor":"v 1","client_id":"c1234567890","text":"hi"}"#.to_string(),
        r#"{"visitor":"v_1"}"#.to_string(),
    ] {
        let result = Webchat::handle_webhook(&ctx(&[]), signed("messages", &bad));
        assert!(matches!(result, Err(ChannelError::BadRequest(_))), "{bad}");
    }
    assert!(matches!(Webchat::handle_webhook(&ctx(&[]), signed("other", body)), Err(ChannelError::BadRequest(_))));
}

#[test]
fn replies_of_text_and_files_are_accepted_and_templates_are_not() {
    let message = |content| OutboundMessage {
        message_id: "42".into(),
        conversation_id: "7".into(),
        recipient: "v_1".into(),
        content,
        reply_to: None,
        last_inbound: None,
        window: WindowState::Unrestricted,
        attempt: 0,
    };
    let receipt = Webchat::send(&ctx(&[]), message(OutboundContent::Text("hi".into()))).unwrap();
    assert_eq!(receipt.provider_message_id, "webchat-out-42");
    let media = Media { kind: MediaKind::Image, url: "https://x/y.png".into(), caption: None, filename: None, mime_type: None };
    assert_eq!(Webchat::send(&ctx(&[]), message(OutboundContent::Media(media))).unwrap().provider_message_id, "webchat-out-42", "the host shows the file");
    let template = TemplateMessage { name: "x".into(), language: "id".into(), params: vec![] };
    assert!(matches!(Webchat::send(&ctx(&[]), message(OutboundContent::Template(template))), Err(ChannelError::Unsupported(_))));
}

#[test]
fn a_visitors_file_is_an_attachment_by_its_type_with_or_without_text() {
    let body = r#"{"visitor":"v_3f9kAbc","client_id":"c1234567891","text":"","file":{"reference":"kept:abc","mime_type":"image/png","filename":"paket.png","size":1200}}"#;
    let outcome = Webchat::handle_webhook(&ctx(&[]), signed("messages", body)).unwrap();
    let [Event::Message(message)] = &outcome.events[..] else { panic!("one message expected") };
    assert_eq!(message.text, None);
    let file = &message.attachments[0];
    assert_eq!((file.kind, file.provider_media_id.as_deref(), file.filename.as_deref(), file.size), (AttachmentKind::Image, Some("kept:abc"), Some("paket.png"), Some(1200)));
    let body = r#"{"visitor":"v_3f9kAbc","client_id":"c1234567892","text":"fakturnya","file":{"reference":"kept:def","mime_type":"image/svg+xml","size":10}}"#;
    let outcome = Webchat::handle_webhook(&ctx(&[]), signed("messages", body)).unwrap();
    let [Event::Message(message)] = &outcome.events[..] else { panic!("one message expected") };
    assert_eq!((message.text.as_deref(), message.attachments[0].kind), (Some("fakturnya"), AttachmentKind::Document), "SVG is no picture to show");
}
