//! Webhook parsing, signature checks, send decisions, error mapping and the login's URLs,
//! natively (the Graph calls need the host; the end-to-end tests cover them).

use switchboard_sdk::serde_json::{self, Value, json};
use switchboard_sdk::*;

use crate::graph::{Graph, GraphError};
use crate::{Account, Page, Product, login, send, webhook};

const PAGE_ID: &str = "104729382957341";
const IG_ID: &str = "17841400123456789";
const CUSTOMER: &str = "6512384071234567";

fn product(object: &'static str, account_setting: &'static str) -> Product {
    Product {
        id: "test",
        name: "Test",
        version: "0.1.0",
        description: "",
        object,
        account_setting,
        account_label: "",
        account_help: "",
        page_fields: "id,name",
        account_of: |page| Some(Account { id: page.id.clone(), name: page.name.clone() }),
        no_account: "Page",
        subscribed_fields: "messages",
        scopes: "pages_messaging,pages_show_list",
        webhook_setup: "",
        media_kinds: &[MediaKind::Image, MediaKind::Document],
    }
}

fn messenger() -> Product {
    product("page", "page_id")
}

fn instagram() -> Product {
    product("instagram", "instagram_account_id")
}

/// Events of a delivery of `object` for `account` with these `messaging` items.
fn events_of(product: &Product, account: &str, items: Vec<Value>) -> webhook::Parsed {
    let body = json!({"object": product.object, "entry": [{"id": account, "time": 1_763_600_000_500u64, "messaging": items}]});
    webhook::events(product, account, serde_json::from_value(body).unwrap())
}

fn messaging(account: &str, rest: Value) -> Value {
    let mut item = json!({"sender": {"id": CUSTOMER}, "recipient": {"id": account}, "timestamp": 1_763_600_000_000u64});
    item.as_object_mut().unwrap().extend(rest.as_object().unwrap().clone());
    item
}

fn message(event: &InboundEvent) -> &InboundMessage {
    match event {
        InboundEvent::Event(Event::Message(message)) => message,
        other => panic!("not a message: {other:?}"),
    }
}

fn status(event: &InboundEvent) -> &DeliveryStatus {
    match event {
        InboundEvent::Event(Event::Status(status)) => status,
        other => panic!("not a status: {other:?}"),
    }
}

fn choice(event: &InboundEvent) -> &Choice {
    match event {
        InboundEvent::Choice(choice) => choice,
        other => panic!("not a choice: {other:?}"),
    }
}

fn ctx(app_secret: &str) -> ChannelContext {
    ChannelContext {
        channel_id: "ch_meta".into(),
        webhook_url: "https://switchboard.test/webhooks/ch_meta".into(),
        webhook_secret: "V3rifyT0kenV3rifyT0kenV3rifyT0ke".into(),
        settings: vec![
            ("page_id".into(), PAGE_ID.into()),
            ("page_access_token".into(), "EAAPagetoken".into()),
            ("app_secret".into(), app_secret.into()),
        ],
    }
}

fn post(signature: Option<&str>, body: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "".into(),
        query: "".into(),
        headers: signature.map(|s| ("x-hub-signature-256".to_string(), s.to_string())).into_iter().collect(),
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn the_known_answer_signature_passes_and_everything_else_is_refused_before_parsing() {
    // ../shared/providers.md: Meta, app secret `appsecret`, this body.
    let body = r#"{"destination":"U123","events":[]}"#;
    let good = "sha256=b43553c0321627a3468834dfbd28b53f9722629a6a468619c77e849a23c8a15c";
    // Verified, then refused as what it is: not a Meta delivery.
    let verified = webhook::handle(&messenger(), &ctx("appsecret"), post(Some(good), body));
    assert!(matches!(verified, Err(ChannelError::BadRequest(_))), "{verified:?}");
    for (secret, signature) in [("othersecret", Some(good)), ("appsecret", None), ("appsecret", Some(&good[7..])), ("", Some(good))] {
        let refused = webhook::handle(&messenger(), &ctx(secret), post(signature, body));
        assert!(matches!(refused, Err(ChannelError::Unauthorized(_))), "{secret} {signature:?}: {refused:?}");
    }
}

#[test]
fn the_verify_challenge_echoes_only_for_the_channels_verify_token() {
    let check = |token: &str| HttpRequest {
        method: "GET".into(),
        query: format!("hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"),
        ..post(None, "")
    };
    let ctx = ctx("appsecret");
    let answer = webhook::handle(&messenger(), &ctx, check(&ctx.webhook_secret)).unwrap();
    assert_eq!((answer.response.status, answer.response.body), (200, b"1158201444".to_vec()));
    assert!(answer.events.is_empty());
    assert_eq!(webhook::handle(&messenger(), &ctx, check("guess")).unwrap().response.status, 403);
}

#[test]
fn texts_attachments_and_quick_replies_become_messages_and_echoes_are_dropped() {
    let parsed = events_of(
        &messenger(),
        PAGE_ID,
        vec![
            messaging(PAGE_ID, json!({"message": {"mid": "m_1", "text": "Halo, kak", "reply_to": {"mid": "m_0"}}})),
            messaging(PAGE_ID, json!({"message": {"mid": "m_2", "text": "Ukuran M", "quick_reply": {"payload": "SIZE_M"}}})),
            messaging(PAGE_ID, json!({"message": {"mid": "m_3", "attachments": [
                {"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/photo.jpg"}},
                {"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/sticker.png", "sticker_id": 369239263222822u64}},
                {"type": "file", "payload": {"url": "https://cdn.fbsbx.com/v/invoice.pdf"}},
                {"type": "location", "payload": {"coordinates": {"lat": -6.2, "long": 106.8}}},
                {"type": "fallback", "payload": {"url": "https://tokobudi.id/p/1", "title": "Kaos"}}
            ]}})),
            messaging(PAGE_ID, json!({"message": {"mid": "m_echo", "text": "our own reply", "is_echo": true, "app_id": 1517}})),
        ],
    );
    assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
    assert_eq!(parsed.events.len(), 3, "the echo is dropped");
    let text = message(&parsed.events[0]);
    assert_eq!((text.provider_message_id.as_str(), text.text.as_deref()), ("m_1", Some("Halo, kak")));
    assert_eq!((text.conversation.as_str(), text.sender.id.as_str()), (CUSTOMER, CUSTOMER));
    assert_eq!(text.timestamp_ms, 1_763_600_000_000, "the provider's time of the message");
    assert_eq!(text.reply_to.as_deref(), Some("m_0"));
    let quick = choice(&parsed.events[1]);
    assert_eq!((quick.provider_message_id.as_str(), quick.id.as_str(), quick.title.as_deref()), ("m_2", "SIZE_M", Some("Ukuran M")));
    let media = &message(&parsed.events[2]).attachments;
    let kinds: Vec<AttachmentKind> = media.iter().map(|a| a.kind).collect();
    use AttachmentKind::*;
    assert_eq!(kinds, [Image, Sticker, Document, Location, Unsupported]);
    assert_eq!(media[0].url.as_deref(), Some("https://scontent.xx.fbcdn.net/v/photo.jpg"));
    assert_eq!(media[1].provider_media_id.as_deref(), Some("369239263222822"));
    let location = media[3].location.as_ref().unwrap();
    assert_eq!((location.latitude, location.longitude), (-6.2, 106.8));
    assert_eq!(media[4].description.as_deref(), Some("fallback"));
    assert_eq!(media[4].url.as_deref(), Some("https://tokobudi.id/p/1"));
}

#[test]
fn postbacks_are_choices_with_their_title_and_payload() {
    let parsed = events_of(
        &messenger(),
        PAGE_ID,
        vec![
            messaging(PAGE_ID, json!({"postback": {"title": "Lacak pesanan", "payload": "TRACK_ORDER", "mid": "m_pb1"}})),
            messaging(PAGE_ID, json!({"postback": {"title": "Mulai", "payload": "GET_STARTED"}})),
        ],
    );
    let first = choice(&parsed.events[0]);
    assert_eq!((first.provider_message_id.as_str(), first.id.as_str(), first.title.as_deref()), ("m_pb1", "TRACK_ORDER", Some("Lacak pesanan")));
    let second = choice(&parsed.events[1]);
    assert_eq!(second.provider_message_id, format!("postback:{CUSTOMER}:1763600000000"), "stable across redeliveries");
}

#[test]
fn delivery_and_read_receipts_become_watermark_statuses() {
    let parsed = events_of(
        &messenger(),
        PAGE_ID,
        vec![
            messaging(PAGE_ID, json!({"delivery": {"mids": ["m_out1"], "watermark": 1_763_600_100_000u64}})),
            messaging(PAGE_ID, json!({"read": {"watermark": 1_763_600_200_000u64}})),
        ],
    );
    assert_eq!(parsed.events.len(), 3);
    let by_mid = status(&parsed.events[0]);
    assert!(matches!(&by_mid.target, StatusTarget::Message(mid) if mid == "m_out1"));
    assert_eq!(by_mid.state, DeliveryState::Delivered);
    let delivered = status(&parsed.events[1]);
    assert!(matches!(&delivered.target, StatusTarget::Watermark((who, 1_763_600_100_000)) if who == CUSTOMER));
    assert_eq!(delivered.state, DeliveryState::Delivered);
    let read = status(&parsed.events[2]);
    assert!(matches!(&read.target, StatusTarget::Watermark((who, 1_763_600_200_000)) if who == CUSTOMER));
    assert_eq!(read.state, DeliveryState::Read);
}

#[test]
fn instagram_reads_name_a_message_and_unsent_messages_are_dropped() {
    let parsed = events_of(
        &instagram(),
        IG_ID,
        vec![
            messaging(IG_ID, json!({"read": {"mid": "aWdfZAG1faXRlbToxOklH"}})),
            messaging(IG_ID, json!({"message": {"mid": "aWdfZAG1fZAXRlbTo2", "is_deleted": true}})),
            messaging(IG_ID, json!({"message": {"mid": "aWdfZAG1fZAXRlbTo3", "attachments": [{"type": "story_mention", "payload": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"}}]}})),
        ],
    );
    assert_eq!(parsed.events.len(), 2);
    assert!(matches!(&status(&parsed.events[0]).target, StatusTarget::Message(mid) if mid == "aWdfZAG1faXRlbToxOklH"));
    let mention = &message(&parsed.events[1]).attachments[0];
    assert_eq!((mention.kind, mention.description.as_deref()), (AttachmentKind::Unsupported, Some("story_mention")));
}

#[test]
fn other_objects_other_accounts_and_unreadable_items_are_passed_over() {
    let body = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [messaging(PAGE_ID, json!({"message": {"mid": "m_1", "text": "x"}}))]}]});
    let parsed = webhook::events(&instagram(), IG_ID, serde_json::from_value(body).unwrap());
    assert!(parsed.events.is_empty() && parsed.skipped[0].contains("`page`"), "{parsed:?}");

    let body = json!({"object": "page", "entry": [
        {"id": "999", "time": 1, "messaging": [messaging("999", json!({"message": {"mid": "m_9", "text": "x"}}))]},
        {"id": PAGE_ID, "time": 1, "messaging": [{"sender": "not an object"}, messaging(PAGE_ID, json!({"message": {"mid": "m_1", "text": "x"}}))]}
    ]});
    let parsed = webhook::events(&messenger(), PAGE_ID, serde_json::from_value(body).unwrap());
    assert_eq!(parsed.events.len(), 1, "{parsed:?}");
    assert_eq!(message(&parsed.events[0]).provider_message_id, "m_1");
    assert_eq!(parsed.skipped.len(), 2, "{:?}", parsed.skipped);
}

#[test]
fn each_window_band_has_its_messaging_type() {
    let part = json!({"text": "Sudah dikirim, kak"});
    let open = send::body(CUSTOMER, WindowState::Open, &part).unwrap();
    assert_eq!(open, json!({"recipient": {"id": CUSTOMER}, "messaging_type": "RESPONSE", "message": {"text": "Sudah dikirim, kak"}}));
    let late = send::body(CUSTOMER, WindowState::HumanAgent, &part).unwrap();
    assert_eq!((late["messaging_type"].as_str(), late["tag"].as_str()), (Some("MESSAGE_TAG"), Some("HUMAN_AGENT")));
    assert!(matches!(send::body(CUSTOMER, WindowState::Closed, &part), Err(ChannelError::WindowClosed(_))));
    let policy = crate::window_policy();
    assert_eq!((policy.free_form_seconds, policy.human_agent_seconds), (Some(86_400), Some(604_800)));
    assert!(!policy.templates_outside_window);
}

#[test]
fn media_goes_as_an_attachment_then_its_caption() {
    let media = |kind, caption: Option<&str>| {
        OutboundContent::Media(Media { kind, url: "https://tokobudi.id/kaos.jpg".into(), caption: caption.map(Into::into), filename: None, mime_type: None })
    };
    let parts = send::message_parts(&messenger(), &media(MediaKind::Image, Some("Kaos merah"))).unwrap();
    assert_eq!(parts, [json!({"attachment": {"type": "image", "payload": {"url": "https://tokobudi.id/kaos.jpg"}}}), json!({"text": "Kaos merah"})]);
    let file = send::message_parts(&messenger(), &media(MediaKind::Document, None)).unwrap();
    assert_eq!(file.len(), 1);
    assert_eq!(file[0]["attachment"]["type"], "file");
    assert!(matches!(send::message_parts(&messenger(), &media(MediaKind::Video, None)), Err(ChannelError::Unsupported(_))));
    let template = OutboundContent::Template(TemplateMessage { name: "x".into(), language: "id".into(), params: vec![] });
    assert!(matches!(send::message_parts(&messenger(), &template), Err(ChannelError::Unsupported(_))));
}

#[test]
fn graph_errors_map_to_the_contracts_errors() {
    let error = |status: u16, body: Value| GraphError::parse(status, body.to_string().as_bytes()).into_channel_error(None);
    let graph = |code: i64, subcode: Option<i64>, message: &str| {
        json!({"error": {"message": message, "type": "OAuthException", "code": code, "error_subcode": subcode, "fbtrace_id": "AbC"}})
    };
    match error(400, graph(190, Some(460), "Error validating access token: The session has been invalidated")) {
        ChannelError::Unauthorized(reason) => assert_eq!(reason, "Error validating access token: The session has been invalidated (code 190, subcode 460)"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(error(400, graph(10, Some(2018278), "(#10) This message is sent outside of allowed window.")), ChannelError::WindowClosed(_)));
    assert!(matches!(error(400, graph(10, Some(2534022), "This message is sent outside of allowed window.")), ChannelError::WindowClosed(_)));
    assert!(matches!(error(400, graph(10, None, "(#10) Application does not have permission for this action")), ChannelError::Provider(_)));
    assert!(matches!(error(400, graph(613, None, "Calls to this api have exceeded the rate limit.")), ChannelError::RateLimited(None)));
    assert!(matches!(error(503, json!("down")), ChannelError::Transient(_)));
    assert!(matches!(error(400, graph(100, Some(2018001), "No matching user found")), ChannelError::Provider(_)));
    match error(400, graph(100, None, "Invalid appsecret_proof provided in the API argument")) {
        ChannelError::InvalidSettings(fields) => assert_eq!(fields[0].key, "app_secret"),
        other => panic!("{other:?}"),
    }
    match error(400, graph(1, None, "Error validating client secret.")) {
        ChannelError::InvalidSettings(fields) => assert_eq!(fields[0].key, "app_secret"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn graph_urls_carry_the_token_and_its_appsecret_proof() {
    let graph = Graph::new(Some("http://127.0.0.1:9/"), "EAAPage token", "appsecret").unwrap();
    let url = url::Url::parse(&graph.url("me/accounts", &[("fields", "id,name,instagram_business_account{id,username}")])).unwrap();
    let proof = hex::encode(hmac_sha256("appsecret", "EAAPage token"));
    assert_eq!(url.path(), "/v21.0/me/accounts");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        [
            ("fields".to_string(), "id,name,instagram_business_account{id,username}".to_string()),
            ("access_token".to_string(), "EAAPage token".to_string()),
            ("appsecret_proof".to_string(), proof),
        ]
    );
    assert!(matches!(Graph::anonymous(Some("ftp://x")), Err(ChannelError::InvalidSettings(_))));
}

#[test]
fn the_login_starts_at_the_dialog_with_the_apps_id_and_the_hosts_state() {
    let start = |settings: Vec<(&str, &str)>| {
        login::start(
            &messenger(),
            &AuthStartRequest {
                redirect_url: "https://switchboard.test/oauth/callback".into(),
                state: "St4te".into(),
                settings: settings.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            },
        )
    };
    let redirect = start(vec![("app_id", "1517"), ("app_secret", "s")]).unwrap();
    let url = url::Url::parse(&redirect.authorize_url).unwrap();
    assert_eq!(format!("{}{}", url.origin().ascii_serialization(), url.path()), "https://www.facebook.com/v21.0/dialog/oauth");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let expected = [
        ("client_id", "1517"),
        ("redirect_uri", "https://switchboard.test/oauth/callback"),
        ("state", "St4te"),
        ("response_type", "code"),
        ("scope", "pages_messaging,pages_show_list"),
    ];
    assert_eq!(pairs, expected.map(|(k, v)| (k.to_string(), v.to_string())));
    assert!(redirect.properties.is_empty());
    let proxied = start(vec![("app_id", "1517"), ("app_secret", "s"), ("api_base_url", "http://127.0.0.1:8/")]).unwrap();
    assert!(proxied.authorize_url.starts_with("http://127.0.0.1:8/v21.0/dialog/oauth?"), "{}", proxied.authorize_url);
    match start(vec![]) {
        Err(ChannelError::InvalidSettings(fields)) => {
            assert_eq!(fields.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["app_id", "app_secret"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cancelled_login_or_a_callback_without_code_is_refused_before_any_call() {
    let finish = |query: Vec<(&str, &str)>| {
        login::finish(
            &messenger(),
            &AuthFinishRequest {
                redirect_url: "https://switchboard.test/oauth/callback".into(),
                callback_query: query.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                properties: vec![],
                settings: vec![("app_id".into(), "1517".into()), ("app_secret".into(), "s".into())],
            },
        )
    };
    let denied = vec![("error", "access_denied"), ("error_reason", "user_denied"), ("error_description", "Permissions error"), ("state", "s")];
    match finish(denied) {
        Err(ChannelError::Unauthorized(reason)) => assert!(reason.contains("Permissions error"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(finish(vec![("state", "s")]), Err(ChannelError::BadRequest(_))));
}

#[test]
fn accounts_carry_the_settings_that_connect_them() {
    let pages = vec![
        Page { id: PAGE_ID.into(), name: "Toko Budi".into(), access_token: Some("EAAPage1".into()), instagram_business_account: None },
        Page { id: "2".into(), name: "No token".into(), access_token: None, instagram_business_account: None },
    ];
    let accounts = login::accounts(&messenger(), pages);
    assert_eq!(accounts.len(), 1, "a Page without a token cannot be connected");
    assert_eq!((accounts[0].id.as_str(), accounts[0].name.as_str()), (PAGE_ID, "Toko Budi"));
    assert_eq!(accounts[0].settings, [("page_id".to_string(), PAGE_ID.to_string()), ("page_access_token".to_string(), "EAAPage1".to_string())]);
}

#[test]
fn interactive_content_is_a_button_template_quick_replies_or_a_generic_template() {
    let option = |id: &str, title: &str| ChoiceOption { id: id.into(), title: title.into(), description: None };
    let content = |action| InteractiveContent { header: None, body: "What do you want to do next?".into(), footer: None, action };
    let buttons = send::interactive_parts(&content(InteractiveAction::ReplyButtons(vec![option("AGENT", "Talk to an agent")]))).unwrap();
    assert_eq!(buttons, [json!({"attachment": {"type": "template", "payload": {"template_type": "button", "text": "What do you want to do next?",
        "buttons": [{"type": "postback", "title": "Talk to an agent", "payload": "AGENT"}]}}})]);
    let quick = send::interactive_parts(&content(InteractiveAction::QuickReplies(vec![option("COLOR_RED", "Red")]))).unwrap();
    assert_eq!(quick, [json!({"text": "What do you want to do next?", "quick_replies": [{"content_type": "text", "title": "Red", "payload": "COLOR_RED"}]})]);
    let cards = send::interactive_parts(&content(InteractiveAction::Cards(vec![Card {
        title: "Welcome!".into(),
        subtitle: Some("We have the right hat for everyone.".into()),
        image_url: Some("https://example.com/hat.jpg".into()),
        buttons: vec![CardButton::Url(UrlButton { title: "View Website".into(), url: "https://example.com/".into() }), CardButton::Reply(option("START", "Start Chatting"))],
    }])))
    .unwrap();
    assert_eq!(cards[0], json!({"text": "What do you want to do next?"}));
    assert_eq!(cards[1], json!({"attachment": {"type": "template", "payload": {"template_type": "generic", "elements": [{
        "title": "Welcome!", "subtitle": "We have the right hat for everyone.", "image_url": "https://example.com/hat.jpg",
        "buttons": [{"type": "web_url", "url": "https://example.com/", "title": "View Website"}, {"type": "postback", "title": "Start Chatting", "payload": "START"}]}]}}}));
}
