//! Webhook parsing, natively (the outbound calls need the host; the end-to-end tests cover them).

use super::*;

const SECRET: &str = "0123456789abcdefABCDEF0123456789";

fn ctx() -> ChannelContext {
    ChannelContext {
        channel_id: "ch1".into(),
        webhook_url: "https://switchboard.test/webhooks/ch1".into(),
        webhook_secret: SECRET.into(),
        settings: vec![("bot_token".into(), "123:abc".into())],
    }
}

fn delivery(secret: Option<&str>, body: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "".into(),
        query: "".into(),
        headers: secret.map(|s| ("x-telegram-bot-api-secret-token".into(), s.into())).into_iter().collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn inbound_of(body: &str) -> InboundMessage {
    let outcome = Telegram::handle_webhook(&ctx(), delivery(Some(SECRET), body)).unwrap();
    assert_eq!((outcome.response.status, outcome.response.body.len()), (200, 0));
    match <[Event; 1]>::try_from(outcome.events) {
        Ok([Event::Message(message)]) => message,
        other => panic!("expected one message, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn text_message_in_a_group() {
    let message = inbound_of(
        r#"{"update_id":10000,"message":{"message_id":42,"date":1700000000,"text":"hello",
            "from":{"id":7,"is_bot":false,"first_name":"Budi","last_name":"Santoso","username":"budi"},
            "chat":{"id":-100123,"type":"supergroup","title":"Support"},
            "reply_to_message":{"message_id":41,"date":1699999999,"chat":{"id":-100123,"type":"supergroup"}}}}"#,
    );
    assert_eq!(message.provider_message_id, "10000");
    assert_eq!(message.conversation, "-100123");
    assert_eq!(message.conversation_name.as_deref(), Some("Support"));
    assert_eq!(message.sender.id, "7");
    assert_eq!(message.sender.name.as_deref(), Some("Budi Santoso"));
    assert_eq!(message.sender.handle.as_deref(), Some("budi"));
    assert_eq!(message.timestamp_ms, 1_700_000_000_000);
    assert_eq!(message.text.as_deref(), Some("hello"));
    assert_eq!(message.reply_to.as_deref(), Some("41"));
    assert!(message.attachments.is_empty());
}

#[test]
fn photo_takes_the_largest_size_and_the_caption() {
    let message = inbound_of(
        r#"{"update_id":1,"edited_message":{"message_id":2,"date":1,"caption":"look",
            "from":{"id":7,"first_name":"Budi"},"chat":{"id":7,"type":"private","first_name":"Budi"},
            "photo":[{"file_id":"small","file_unique_id":"a","width":90,"height":60,"file_size":1000},
                     {"file_id":"big","file_unique_id":"b","width":1280,"height":853,"file_size":90000},
                     {"file_id":"mid","file_unique_id":"c","width":320,"height":213}]}}"#,
    );
    assert_eq!(message.conversation_name, None);
    assert_eq!(message.sender.name.as_deref(), Some("Budi"));
    assert_eq!(message.text.as_deref(), Some("look"));
    let [photo] = &message.attachments[..] else { panic!("{:?}", message.attachments) };
    assert_eq!(photo.kind, AttachmentKind::Image);
    assert_eq!((photo.provider_media_id.as_deref(), photo.size), (Some("big"), Some(90000)));
}

#[test]
fn files_location_and_unsupported_content() {
    let document = inbound_of(
        r#"{"update_id":3,"message":{"message_id":3,"date":1,"from":{"id":7,"first_name":"B"},"chat":{"id":7,"type":"private"},
            "document":{"file_id":"doc","file_unique_id":"d","file_name":"invoice.pdf","mime_type":"application/pdf","file_size":2048}}}"#,
    );
    let doc = &document.attachments[0];
    assert_eq!((doc.kind, doc.filename.as_deref(), doc.mime_type.as_deref()), (AttachmentKind::Document, Some("invoice.pdf"), Some("application/pdf")));

    let location = inbound_of(
        r#"{"update_id":4,"message":{"message_id":4,"date":1,"from":{"id":7,"first_name":"B"},"chat":{"id":7,"type":"private"},
            "location":{"latitude":-6.2,"longitude":106.8}}}"#,
    );
    let place = location.attachments[0].location.as_ref().unwrap();
    assert_eq!((place.latitude, place.longitude), (-6.2, 106.8));

    let poll = inbound_of(
        r#"{"update_id":5,"message":{"message_id":5,"date":1,"from":{"id":7,"first_name":"B"},"chat":{"id":7,"type":"private"},
            "forward_date":1,"poll":{"id":"p","question":"?","options":[]}}}"#,
    );
    let unsupported = &poll.attachments[0];
    assert_eq!((unsupported.kind, unsupported.description.as_deref()), (AttachmentKind::Unsupported, Some("poll")));
}

#[test]
fn update_without_a_message_is_acknowledged_without_events() {
    let outcome = Telegram::handle_webhook(
        &ctx(),
        delivery(Some(SECRET), r#"{"update_id":6,"callback_query":{"id":"q","from":{"id":7,"first_name":"B"}}}"#),
    )
    .unwrap();
    assert_eq!(outcome.response.status, 200);
    assert!(outcome.events.is_empty());
}

#[test]
fn deliveries_without_the_secret_or_with_a_bad_body_are_refused() {
    let body = r#"{"update_id":7}"#;
    for secret in [None, Some(""), Some("wrong"), Some(&SECRET[..31])] {
        let result = Telegram::handle_webhook(&ctx(), delivery(secret, body));
        assert!(matches!(result, Err(ChannelError::Unauthorized(_))), "{secret:?}");
    }
    for bad in ["", "not json", r#"{"message":{}}"#, r#"{"update_id":8,"message":{"date":1}}"#] {
        let result = Telegram::handle_webhook(&ctx(), delivery(Some(SECRET), bad));
        assert!(matches!(result, Err(ChannelError::BadRequest(_))), "{bad:?}");
    }
}

#[test]
fn reply_buttons_are_an_inline_keyboard_one_per_row_with_header_and_footer_as_text() {
    let content = InteractiveContent {
        header: Some("Order A-17".into()),
        body: "Did it arrive?".into(),
        footer: Some("Acme".into()),
        action: InteractiveAction::ReplyButtons(vec![
            ChoiceOption { id: "yes:A-17".into(), title: "Yes".into(), description: None },
            ChoiceOption { id: "~42.1".into(), title: "Not yet".into(), description: None },
        ]),
    };
    assert_eq!(
        keyboards::message_body(&content),
        json!({"text": "Order A-17\n\nDid it arrive?\n\nAcme", "reply_markup": {"inline_keyboard": [
            [{"text": "Yes", "callback_data": "yes:A-17"}], [{"text": "Not yet", "callback_data": "~42.1"}]]}})
    );
    let quick = InteractiveContent { action: InteractiveAction::QuickReplies(vec![ChoiceOption { id: "y".into(), title: "Yes".into(), description: None }]), ..content };
    assert_eq!(
        keyboards::message_body(&quick)["reply_markup"],
        json!({"keyboard": [[{"text": "Yes"}]], "resize_keyboard": true, "one_time_keyboard": true})
    );
}

#[test]
fn callback_data_limits_are_declared() {
    let support = Telegram::interactive_support();
    assert_eq!(support.max_id_bytes, 64);
    let kinds: Vec<_> = support.kinds.iter().map(|k| k.kind).collect();
    assert_eq!(kinds, [InteractiveKind::ReplyButtons, InteractiveKind::UrlButtons, InteractiveKind::QuickReplies]);
}
