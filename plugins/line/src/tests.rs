//! Signature checks, webhook parsing and send decisions, natively (the outbound calls need
//! the host; the end-to-end tests cover them).

use super::*;

// The known-answer vector of ../shared/providers.md (computed with Python's hmac).
const VECTOR_SECRET: &str = "channelsecret";
const VECTOR_BODY: &str = r#"{"destination":"U123","events":[]}"#;
const VECTOR_SIGNATURE: &str = "7FPl1ND8IvDlA1pSrvPg+JRSaknKZ9X7TP2/HMyJfPI=";

fn ctx(secret: &str) -> ChannelContext {
    ChannelContext {
        channel_id: "ch_line1".into(),
        webhook_url: "https://switchboard.test/webhooks/ch_line1".into(),
        webhook_secret: "unused-by-line".into(),
        settings: vec![("channel_secret".into(), secret.into()), ("channel_access_token".into(), "token".into())],
    }
}

fn delivery(signature: Option<&str>, body: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "".into(),
        query: "".into(),
        headers: signature.map(|s| ("x-line-signature".into(), s.into())).into_iter().collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn signed(body: &str) -> HttpRequest {
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(VECTOR_SECRET, body));
    delivery(Some(&signature), body)
}

fn messages_of(events: &str) -> Vec<InboundMessage> {
    let body = format!(r#"{{"destination":"U0123456789abcdef0123456789abcdef","events":[{events}]}}"#);
    let outcome = Line::handle_webhook(&ctx(VECTOR_SECRET), signed(&body)).unwrap();
    assert_eq!(outcome.response.status, 200);
    outcome
        .events
        .into_iter()
        .map(|event| match event {
            Event::Message(message) => message,
            _ => panic!("only messages are expected"),
        })
        .collect()
}

fn one(event: &str) -> InboundMessage {
    let [message] = <[InboundMessage; 1]>::try_from(messages_of(event)).unwrap_or_else(|m| panic!("{} messages", m.len()));
    message
}

fn prop<'a>(message: &'a InboundMessage, key: &str) -> Option<&'a str> {
    property(&message.properties, key)
}

const USER: &str = r#""source":{"type":"user","userId":"U4af4980629aaaaaaaaaaaaaaaaaaaaaa"}"#;

fn event(kind: &str, id: &str, rest: &str) -> String {
    format!(
        r#"{{"type":"{kind}","mode":"active","timestamp":1763600000000,"webhookEventId":"{id}",
            "deliveryContext":{{"isRedelivery":false}},"replyToken":"rt-{id}",{USER}{rest}}}"#
    )
}

#[test]
fn the_known_answer_vector_is_accepted_as_the_verify_ping() {
    let outcome = Line::handle_webhook(&ctx(VECTOR_SECRET), delivery(Some(VECTOR_SIGNATURE), VECTOR_BODY)).unwrap();
    assert_eq!(outcome.response.status, 200);
    assert!(outcome.events.is_empty());
}

#[test]
fn any_other_signature_is_refused() {
    let mut flipped = VECTOR_SIGNATURE.to_string();
    flipped.replace_range(0..1, "8");
    let hex_form = hex::encode(hmac_sha256(VECTOR_SECRET, VECTOR_BODY));
    let other_secret = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(hmac_sha256("othersecret", VECTOR_BODY))
    };
    let no_padding = VECTOR_SIGNATURE.trim_end_matches('=');
    let spaced = format!(" {VECTOR_SIGNATURE}");
    for signature in [None, Some(""), Some(flipped.as_str()), Some(&hex_form), Some(&other_secret), Some(no_padding), Some(&spaced)] {
        let result = Line::handle_webhook(&ctx(VECTOR_SECRET), delivery(signature, VECTOR_BODY));
        assert!(matches!(result, Err(ChannelError::Unauthorized(_))), "{signature:?}");
    }
    // The right signature over another body, or under another secret, is wrong too.
    let other_body = VECTOR_BODY.replace("U123", "U124");
    assert!(Line::handle_webhook(&ctx(VECTOR_SECRET), delivery(Some(VECTOR_SIGNATURE), &other_body)).is_err());
    assert!(Line::handle_webhook(&ctx("channelsecreT"), delivery(Some(VECTOR_SIGNATURE), VECTOR_BODY)).is_err());
    assert!(Line::handle_webhook(&ctx(""), delivery(Some(VECTOR_SIGNATURE), VECTOR_BODY)).is_err());
}

#[test]
fn a_signed_body_that_is_not_json_is_a_bad_request() {
    for body in ["", "not json", r#"{"events":{}}"#] {
        assert!(matches!(Line::handle_webhook(&ctx(VECTOR_SECRET), signed(body)), Err(ChannelError::BadRequest(_))), "{body:?}");
    }
}

#[test]
fn a_text_message_keeps_its_reply_and_quote_tokens() {
    let message = one(&event(
        "message",
        "01HC7D3ADBCXZMD5GZMVTYCPAJ",
        r#","message":{"id":"476354485175451954","type":"text","text":"Halo kak","quoteToken":"q-1","quotedMessageId":"4700"}"#,
    ));
    assert_eq!(message.provider_message_id, "01HC7D3ADBCXZMD5GZMVTYCPAJ");
    assert_eq!(message.conversation, "U4af4980629aaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(message.sender.id, "U4af4980629aaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(message.timestamp_ms, 1_763_600_000_000);
    assert_eq!(message.text.as_deref(), Some("Halo kak"));
    assert!(message.attachments.is_empty());
    assert_eq!(message.reply_to.as_deref(), Some("4700"));
    assert_eq!(prop(&message, "reply_token"), Some("rt-01HC7D3ADBCXZMD5GZMVTYCPAJ"));
    assert_eq!(prop(&message, "quote_token"), Some("q-1"));
    assert_eq!(prop(&message, "message_id"), Some("476354485175451954"));
}

#[test]
fn groups_and_rooms_are_their_own_conversations() {
    let group = r#"{"type":"message","timestamp":1,"webhookEventId":"g1","replyToken":"r",
        "source":{"type":"group","groupId":"Ca56f94637cc4347f90a25382909b24b9","userId":"U4af4980629aaaaaaaaaaaaaaaaaaaaaa"},
        "message":{"id":"1","type":"text","text":"hi all"}}"#;
    let room = r#"{"type":"message","timestamp":1,"webhookEventId":"r1",
        "source":{"type":"room","roomId":"Ra8dbf4673c4c812cd491258042226c99"},
        "message":{"id":"2","type":"text","text":"hi room"}}"#;
    let [group, room] = <[InboundMessage; 2]>::try_from(messages_of(&format!("{group},{room}"))).ok().unwrap();
    assert_eq!(group.conversation, "Ca56f94637cc4347f90a25382909b24b9");
    assert_eq!(group.sender.id, "U4af4980629aaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(room.conversation, "Ra8dbf4673c4c812cd491258042226c99");
    assert_eq!(room.sender.id, "Ra8dbf4673c4c812cd491258042226c99", "a member who did not share an id speaks as the room");
    assert_eq!(prop(&room, "reply_token"), None);
}

#[test]
fn media_stickers_files_and_locations_are_typed_attachments() {
    let events = [
        event("message", "e1", r#","message":{"id":"m1","type":"image","contentProvider":{"type":"line"}}"#),
        event(
            "message",
            "e2",
            r#","message":{"id":"m2","type":"video","duration":6000,"contentProvider":{"type":"external","originalContentUrl":"https://cdn.example/v.mp4"}}"#,
        ),
        event("message", "e3", r#","message":{"id":"m3","type":"audio","duration":3000,"contentProvider":{"type":"line"}}"#),
        event("message", "e4", r#","message":{"id":"m4","type":"file","fileName":"invoice.pdf","fileSize":2048}"#),
        event(
            "message",
            "e5",
            r#","message":{"id":"m5","type":"sticker","packageId":"446","stickerId":"1988","stickerResourceType":"STATIC","keywords":["happy","smile"]}"#,
        ),
        event(
            "message",
            "e6",
            r#","message":{"id":"m6","type":"location","title":"Toko Budi","address":"Jl. Sudirman 1","latitude":-6.2,"longitude":106.8}"#,
        ),
        event("message", "e7", r#","message":{"id":"m7","type":"imagemap"}"#),
    ]
    .join(",");
    let messages = messages_of(&events);
    let first: Vec<&Attachment> = messages.iter().map(|m| &m.attachments[0]).collect();
    let kinds: Vec<AttachmentKind> = first.iter().map(|a| a.kind).collect();
    use AttachmentKind::*;
    assert_eq!(kinds, [Image, Video, Audio, Document, Sticker, Location, Unsupported]);
    assert_eq!(first[0].provider_media_id.as_deref(), Some("m1"));
    assert_eq!(first[1].url.as_deref(), Some("https://cdn.example/v.mp4"));
    assert_eq!((first[3].filename.as_deref(), first[3].size), (Some("invoice.pdf"), Some(2048)));
    assert_eq!(first[4].provider_media_id.as_deref(), Some("446/1988"));
    assert_eq!(first[4].description.as_deref(), Some("happy, smile"));
    let place = first[5].location.as_ref().unwrap();
    assert_eq!((place.latitude, place.longitude, place.name.as_deref()), (-6.2, 106.8, Some("Toko Budi")));
    assert_eq!(first[6].description.as_deref(), Some("imagemap"));
    assert!(messages.iter().all(|m| m.text.is_none()));
}

#[test]
fn follow_unfollow_and_postback_become_messages_other_events_do_not() {
    let events = [
        event("follow", "f1", r#","follow":{"isUnblocked":false}"#),
        r#"{"type":"unfollow","timestamp":2,"webhookEventId":"u1","source":{"type":"user","userId":"U1"}}"#.to_string(),
        event("postback", "p1", r#","postback":{"data":"action=buy&itemid=111","params":{"date":"2025-12-25"}}"#),
        event("join", "j1", ""),
        event("unsend", "x1", r#","unsend":{"messageId":"325708"}"#),
        // A message event this channel cannot read is skipped, not the whole delivery.
        r#"{"type":"message","timestamp":3,"webhookEventId":"bad"}"#.to_string(),
    ]
    .join(",");
    let messages = messages_of(&events);
    let ids: Vec<&str> = messages.iter().map(|m| m.provider_message_id.as_str()).collect();
    assert_eq!(ids, ["f1", "u1", "p1"]);
    assert_eq!(messages[0].attachments[0].description.as_deref(), Some("follow"));
    assert_eq!(prop(&messages[0], "reply_token"), Some("rt-f1"), "a follow can be answered with a greeting");
    assert_eq!(messages[1].attachments[0].description.as_deref(), Some("unfollow"));
    assert_eq!(messages[2].text.as_deref(), Some("action=buy&itemid=111 (date=2025-12-25)"));
    assert_eq!(prop(&messages[2], "event"), Some("postback"));
}

fn outbound(attempt: u32, last: Option<(u64, Vec<(&str, &str)>)>) -> OutboundMessage {
    OutboundMessage {
        message_id: "42".into(),
        conversation_id: "7".into(),
        recipient: "U4af4980629aaaaaaaaaaaaaaaaaaaaaa".into(),
        content: OutboundContent::Text("Sudah dikirim".into()),
        reply_to: Some("ev-1".into()),
        last_inbound: last.map(|(timestamp_ms, properties)| InboundSummary {
            provider_message_id: "ev-1".into(),
            timestamp_ms,
            properties: properties.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }),
        window: WindowState::Unrestricted,
        attempt,
    }
}

#[test]
fn a_reply_token_is_used_on_the_first_attempt_while_fresh() {
    let now = 1_763_600_000_000;
    let token = vec![("reply_token", "rt"), ("quote_token", "q")];
    assert_eq!(fresh_reply_token(&outbound(0, Some((now - 1_000, token.clone()))), now), Some("rt"));
    assert_eq!(fresh_reply_token(&outbound(0, Some((now - REPLY_TOKEN_LIFETIME_MS + 1, token.clone()))), now), Some("rt"));
    assert_eq!(fresh_reply_token(&outbound(0, Some((now - REPLY_TOKEN_LIFETIME_MS, token.clone()))), now), None, "too old");
    assert_eq!(fresh_reply_token(&outbound(1, Some((now, token.clone()))), now), None, "a retry pushes");
    assert_eq!(fresh_reply_token(&outbound(0, Some((now, vec![("event", "unfollow")]))), now), None);
    assert_eq!(fresh_reply_token(&outbound(0, None), now), None);
    const { assert!(REPLY_TOKEN_LIFETIME_MS <= 60_000, "LINE's limit is one minute") };

    assert_eq!(quote_token(&outbound(0, Some((now, token)))), Some("q"));
    let mut elsewhere = outbound(0, Some((now, vec![("quote_token", "q")])));
    elsewhere.reply_to = Some("an older message".into());
    assert_eq!(quote_token(&elsewhere), None);
}

#[test]
fn retry_keys_are_stable_per_message_and_differ_between_messages() {
    let key = retry_key("ch_a", "42");
    assert_eq!(key, retry_key("ch_a", "42"));
    assert_ne!(key, retry_key("ch_a", "43"));
    assert_ne!(key, retry_key("ch_b", "42"));
    let text = key.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(Uuid::parse_str(&text).unwrap().get_version_num(), 5);
}

#[test]
fn content_becomes_line_message_objects() {
    let text = line_messages(&OutboundContent::Text("hi".into())).unwrap();
    assert_eq!(text, [json!({"type": "text", "text": "hi"})]);

    let media = |kind, url: &str, caption: Option<&str>| {
        OutboundContent::Media(Media { kind, url: url.into(), caption: caption.map(Into::into), filename: None, mime_type: None })
    };
    let image = line_messages(&media(MediaKind::Image, "https://cdn.example/a.jpg", Some("bukti"))).unwrap();
    assert_eq!(
        image,
        [
            json!({"type": "image", "originalContentUrl": "https://cdn.example/a.jpg", "previewImageUrl": "https://cdn.example/a.jpg"}),
            json!({"type": "text", "text": "bukti"})
        ]
    );
    let video = line_messages(&media(MediaKind::Video, "https://cdn.example/v.mp4", None)).unwrap();
    assert_eq!(video.len(), 1);
    assert_eq!(video[0]["type"], "video");

    assert!(matches!(line_messages(&media(MediaKind::Image, "http://cdn.example/a.jpg", None)), Err(ChannelError::Provider(_))));
    // LINE has no file message: a document (or audio) goes as its link in a text, the caption first.
    let document = OutboundContent::Media(Media { kind: MediaKind::Document, url: "https://cdn.example/a.pdf".into(), caption: Some("fakturnya".into()), filename: Some("faktur.pdf".into()), mime_type: None });
    assert_eq!(line_messages(&document).unwrap(), [json!({"type": "text", "text": "fakturnya\nfaktur.pdf: https://cdn.example/a.pdf"})]);
    assert!(matches!(line_messages(&media(MediaKind::Document, "http://cdn.example/a.pdf", None)), Err(ChannelError::Provider(_))), "HTTPS only");
    let template = OutboundContent::Template(TemplateMessage { name: "x".into(), language: "id".into(), params: vec![] });
    assert!(matches!(line_messages(&template), Err(ChannelError::Unsupported(_))));
}

#[test]
fn the_form_asks_for_secret_and_token_and_keeps_the_secret() {
    let schema = Line::settings_schema();
    let field = |key: &str| schema.iter().find(|f| f.key == key).unwrap();
    let secret = field("channel_secret");
    assert!(secret.required && secret.secret && secret.immutable);
    let token = field("channel_access_token");
    assert!(token.required && token.secret && !token.immutable);
    assert!(!field("api_base_url").required);
    let manifest = Line::manifest();
    assert_eq!(manifest.id, "line");
    assert!(manifest.capabilities.contains(&Capability::FixedName));
    assert_eq!(Line::messaging_window().free_form_seconds, None, "LINE has no messaging window");
}

#[test]
fn a_postback_without_picker_params_is_the_customers_choice_with_its_reply_token() {
    let body = format!(r#"{{"destination":"U0","events":[{}]}}"#, event("postback", "p2", r#","postback":{"data":"ship:express"}"#));
    let outcome = Line::handle_webhook_with_choices(&ctx(VECTOR_SECRET), signed(&body)).unwrap();
    let [InboundEvent::Choice(choice)] = &outcome.events[..] else { panic!("{:?}", outcome.events) };
    assert_eq!((choice.provider_message_id.as_str(), choice.id.as_str(), choice.title.as_deref()), ("p2", "ship:express", None));
    assert!(choice.properties.iter().any(|(k, v)| k == "reply_token" && v == "rt-p2"), "the tap can be answered for free");
}

#[test]
fn quick_replies_and_buttons_are_postback_actions_showing_their_titles() {
    let option = |id: &str, title: &str| ChoiceOption { id: id.into(), title: title.into(), description: None };
    let content = |action| InteractiveContent { header: None, body: "Mau dikirim pakai apa?".into(), footer: None, action };
    let quick = buttons::messages(&content(InteractiveAction::QuickReplies(vec![option("ship:express", "Express")])));
    assert_eq!(quick, [json!({"type": "text", "text": "Mau dikirim pakai apa?", "quickReply": {"items": [
        {"type": "action", "action": {"type": "postback", "label": "Express", "data": "ship:express", "displayText": "Express"}}]}})]);
    let template = buttons::messages(&content(InteractiveAction::UrlButtons(vec![UrlButton { title: "Lacak".into(), url: "https://tokobudi.id/t/1".into() }])));
    assert_eq!(template, [json!({"type": "template", "altText": "Mau dikirim pakai apa?", "template": {"type": "buttons", "text": "Mau dikirim pakai apa?",
        "actions": [{"type": "uri", "label": "Lacak", "uri": "https://tokobudi.id/t/1"}]}})]);
}
