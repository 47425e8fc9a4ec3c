//! The shared wire code against the shapes in providers.md and Meta's documented examples.

use switchboard_sdk::serde_json::{self, json};
use switchboard_sdk::*;

use crate::errors::ProviderError;
use crate::inbound::Notification;
use crate::outbound::{Api, message_body};
use crate::templates;

/// The events as a host before contract 0.1.4 gets them (a tap as a text message).
fn events_of(body: serde_json::Value) -> Vec<Event> {
    InteractiveWebhookOutcome::ok(serde_json::from_value::<Notification>(body).unwrap().into_events()).plain().events
}

fn messages_of(body: serde_json::Value) -> Vec<InboundMessage> {
    events_of(body)
        .into_iter()
        .map(|event| match event {
            Event::Message(message) => message,
            _ => panic!("expected messages only"),
        })
        .collect()
}

#[test]
fn text_with_profile_name_timestamp_and_reply_context() {
    let [message] = <[InboundMessage; 1]>::try_from(messages_of(json!({
        "contacts": [{"profile": {"name": "Siti Rahma"}, "wa_id": "6281234567890"}],
        "messages": [{"from": "6281234567890", "id": "wamid.HBgL1", "timestamp": "1763600000", "type": "text",
                      "text": {"body": "Halo kak"}, "context": {"from": "6280000000001", "id": "wamid.OURS"}}]
    })))
    .unwrap();
    assert_eq!(message.provider_message_id, "wamid.HBgL1");
    assert_eq!(message.conversation, "6281234567890");
    assert_eq!(message.sender.id, "6281234567890");
    assert_eq!(message.sender.name.as_deref(), Some("Siti Rahma"));
    assert_eq!(message.sender.handle.as_deref(), Some("+6281234567890"));
    assert_eq!(message.timestamp_ms, 1_763_600_000_000);
    assert_eq!(message.text.as_deref(), Some("Halo kak"));
    assert_eq!(message.reply_to.as_deref(), Some("wamid.OURS"));
    assert!(message.attachments.is_empty());
}

#[test]
fn every_content_type_is_read_and_unknown_ones_are_kept() {
    let message = |id: &str, kind: &str, content: serde_json::Value| {
        let mut m = json!({"from": "628111", "id": id, "timestamp": 1763600000, "type": kind});
        if let serde_json::Value::Object(fields) = content {
            m.as_object_mut().unwrap().extend(fields);
        }
        m
    };
    let list = messages_of(json!({"messages": [
        message("1", "image", json!({"image": {"id": "media-1", "mime_type": "image/jpeg", "sha256": "x", "caption": "bukti transfer"}})),
        message("2", "video", json!({"video": {"id": "media-2", "mime_type": "video/mp4"}})),
        message("3", "audio", json!({"audio": {"id": "media-3", "mime_type": "audio/ogg; codecs=opus", "voice": true}})),
        message("4", "document", json!({"document": {"id": "media-4", "mime_type": "application/pdf", "filename": "invoice.pdf", "caption": "invoice"}})),
        message("5", "sticker", json!({"sticker": {"id": "media-5", "mime_type": "image/webp", "animated": false}})),
        message("6", "location", json!({"location": {"latitude": -6.2, "longitude": 106.8, "name": "Toko Budi", "address": "Jl. Sudirman 1"}})),
        message("7", "contacts", json!({"contacts": [{"name": {"formatted_name": "Budi Santoso", "first_name": "Budi"}, "phones": [{"phone": "+62 812 0000", "type": "CELL", "wa_id": "628120000"}]}]})),
        message("8", "button", json!({"button": {"text": "Lacak pesanan", "payload": "TRACK_ORDER"}})),
        message("9", "interactive", json!({"interactive": {"type": "list_reply", "list_reply": {"id": "size_m", "title": "Ukuran M", "description": "M"}}})),
        message("10", "interactive", json!({"interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Ya"}}})),
        message("11", "voice", json!({"voice": {"id": "media-11", "mime_type": "audio/ogg"}})),
        message("12", "reaction", json!({"reaction": {"message_id": "wamid.X", "emoji": "👍"}})),
        message("13", "unsupported", json!({"errors": [{"code": 131051, "title": "Message type unknown"}]})),
        message("14", "image", json!({})),
    ]}));
    assert_eq!(list.len(), 14, "no message is dropped");
    let kinds: Vec<AttachmentKind> = list.iter().map(|m| m.attachments.first().map_or(AttachmentKind::Unsupported, |a| a.kind)).collect();
    use AttachmentKind::*;
    assert_eq!(&kinds[..7], &[Image, Video, Audio, Document, Sticker, Location, Contact]);

    let image = &list[0];
    assert_eq!(image.text.as_deref(), Some("bukti transfer"));
    assert_eq!(image.attachments[0].provider_media_id.as_deref(), Some("media-1"));
    assert_eq!(image.attachments[0].mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(list[3].attachments[0].filename.as_deref(), Some("invoice.pdf"));
    let place = list[5].attachments[0].location.as_ref().unwrap();
    assert_eq!((place.latitude, place.longitude, place.name.as_deref()), (-6.2, 106.8, Some("Toko Budi")));
    assert_eq!(list[6].attachments[0].description.as_deref(), Some("Budi Santoso +62 812 0000"));

    // Taps read as their titles by a host before 0.1.4 (`taps_are_choices` has them typed).
    assert_eq!(list[7].text.as_deref(), Some("Lacak pesanan"));
    assert_eq!(list[8].text.as_deref(), Some("Ukuran M"));
    assert_eq!(list[9].text.as_deref(), Some("Ya"));
    assert_eq!(list[10].attachments[0].kind, Audio);

    for (message, raw) in [(&list[11], "reaction"), (&list[12], "unsupported"), (&list[13], "image")] {
        let [attachment] = &message.attachments[..] else { panic!("{:?}", message.attachments) };
        assert_eq!((attachment.kind, attachment.description.as_deref()), (Unsupported, Some(raw)));
    }
}

#[test]
fn taps_are_choices_with_the_id_title_and_the_message_tapped() {
    let tap = |id: &str, kind: &str, content: serde_json::Value| {
        let mut m = json!({"context": {"from": "15550783881", "id": "wamid.OURS"}, "from": "16505551234", "id": id, "timestamp": "1714510003", "type": kind});
        m.as_object_mut().unwrap().extend(content.as_object().unwrap().clone());
        m
    };
    let events = serde_json::from_value::<Notification>(json!({
        "contacts": [{"profile": {"name": "Budi"}, "wa_id": "16505551234"}],
        "messages": [
            tap("wamid.1", "interactive", json!({"interactive": {"type": "button_reply", "button_reply": {"id": "change-button", "title": "Change"}}})),
            tap("wamid.2", "interactive", json!({"interactive": {"type": "list_reply", "list_reply": {"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"}}})),
            tap("wamid.3", "button", json!({"button": {"payload": "stop:860198", "text": "Stop updates"}})),
            tap("wamid.4", "interactive", json!({"interactive": {"type": "nfm_reply"}})),
        ]
    }))
    .unwrap()
    .into_events();
    let picked: Vec<(String, Option<String>, Option<String>)> = events
        .iter()
        .filter_map(|e| match e {
            InboundEvent::Choice(c) => Some((c.id.clone(), c.title.clone(), c.answers.clone())),
            _ => None,
        })
        .collect();
    let ours = Some("wamid.OURS".to_string());
    assert_eq!(
        picked,
        [
            ("change-button".into(), Some("Change".into()), ours.clone()),
            ("priority_express".into(), Some("Priority Mail Express".into()), ours.clone()),
            ("stop:860198".into(), Some("Stop updates".into()), ours),
        ]
    );
    let InboundEvent::Choice(first) = &events[0] else { panic!() };
    assert_eq!((first.provider_message_id.as_str(), first.timestamp_ms, first.sender.name.as_deref()), ("wamid.1", 1_714_510_003_000, Some("Budi")));
    let InboundEvent::Event(Event::Message(flow)) = &events[3] else { panic!("{:?}", events[3]) };
    assert_eq!(flow.attachments[0].description.as_deref(), Some("interactive"), "a reply this channel does not read is kept");
}

#[test]
fn interactive_bodies_are_exactly_the_documented_shapes() {
    let message = |action| InteractiveMessage {
        message_id: "9".into(),
        conversation_id: "1".into(),
        recipient: "16505551234".into(),
        content: InteractiveContent { header: Some("Workshop".into()), body: "Change it?".into(), footer: Some("Lucky Shrub".into()), action },
        reply_to: None,
        last_inbound: None,
        window: WindowState::Open,
        attempt: 0,
    };
    let option = |id: &str, title: &str, description: Option<&str>| ChoiceOption { id: id.into(), title: title.into(), description: description.map(Into::into) };
    let buttons = message(InteractiveAction::ReplyButtons(vec![option("change-button", "Change", None), option("cancel-button", "Cancel", None)]));
    assert_eq!(
        crate::outbound::interactive_body(Api::Cloud, &buttons).unwrap(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234", "type": "interactive",
               "interactive": {"type": "button", "header": {"type": "text", "text": "Workshop"}, "body": {"text": "Change it?"},
                               "footer": {"text": "Lucky Shrub"},
                               "action": {"buttons": [{"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                                                      {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}}]}}})
    );
    let list = message(InteractiveAction::OptionList(OptionList {
        button: "Shipping Options".into(),
        sections: vec![ListSection { title: Some("I want it ASAP!".into()), rows: vec![option("priority_express", "Priority Mail Express", Some("Next Day to 2 Days"))] }],
    }));
    assert_eq!(
        crate::outbound::interactive_body(Api::OnPremises { namespace: None }, &list).unwrap()["interactive"]["action"],
        json!({"button": "Shipping Options", "sections": [{"title": "I want it ASAP!", "rows": [{"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"}]}]})
    );
    let url = message(InteractiveAction::UrlButtons(vec![UrlButton { title: "See Dates".into(), url: "https://example.com/dates?c=42".into() }]));
    assert_eq!(
        crate::outbound::interactive_body(Api::Cloud, &url).unwrap()["interactive"]["action"],
        json!({"name": "cta_url", "parameters": {"display_text": "See Dates", "url": "https://example.com/dates?c=42"}})
    );
    assert!(crate::outbound::interactive_body(Api::OnPremises { namespace: None }, &url).is_err(), "no CTA URL on the On-Premises API");
}

#[test]
fn statuses_carry_state_time_and_the_provider_error() {
    let events = events_of(json!({"statuses": [
        {"id": "wamid.A", "recipient_id": "628111", "status": "delivered", "timestamp": "1763600100"},
        {"id": "wamid.B", "recipient_id": "628111", "status": "failed", "timestamp": "1763600200",
         "errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                     "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]},
        {"id": "wamid.C", "status": "read", "timestamp": "1763600300"},
        {"id": "wamid.D", "status": "warning", "timestamp": "1763600300"},
    ]}));
    let statuses: Vec<DeliveryStatus> = events.into_iter().map(|e| match e { Event::Status(s) => s, _ => panic!() }).collect();
    assert_eq!(statuses.len(), 3, "a state the contract has no word for is left out");
    assert!(matches!(&statuses[0].target, StatusTarget::Message(id) if id == "wamid.A"));
    assert_eq!((statuses[0].state, statuses[0].timestamp_ms), (DeliveryState::Delivered, 1_763_600_100_000));
    assert_eq!(statuses[1].state, DeliveryState::Failed);
    assert_eq!(statuses[1].error_code.as_deref(), Some("131047"));
    assert_eq!(statuses[1].error_message.as_deref(), Some("Re-engagement message"));
    assert_eq!((statuses[2].state, statuses[2].error_code.as_deref()), (DeliveryState::Read, None));
}

#[test]
fn malformed_notifications_do_not_parse() {
    for bad in [
        json!({"messages": [{"id": "1", "timestamp": "1", "type": "text"}]}),
        json!({"messages": [{"from": "6", "id": "1", "timestamp": "yesterday", "type": "text"}]}),
        json!({"statuses": [{"id": "1", "status": "sent"}]}),
    ] {
        assert!(serde_json::from_value::<Notification>(bad.clone()).is_err(), "{bad}");
    }
    assert!(events_of(json!({})).is_empty());
}

fn outbound(content: OutboundContent, reply_to: Option<&str>) -> OutboundMessage {
    OutboundMessage {
        message_id: "9".into(),
        conversation_id: "1".into(),
        recipient: "6281234567890".into(),
        content,
        reply_to: reply_to.map(Into::into),
        last_inbound: None,
        window: WindowState::Open,
        attempt: 0,
    }
}

fn template(params: &[&str]) -> OutboundContent {
    OutboundContent::Template(TemplateMessage {
        name: "order_update".into(),
        language: "id".into(),
        params: params.iter().map(|p| p.to_string()).collect(),
    })
}

#[test]
fn cloud_bodies_are_exactly_the_documented_shapes() {
    let text = message_body(Api::Cloud, &outbound(OutboundContent::Text("hi".into()), Some("wamid.IN"))).unwrap();
    assert_eq!(text, json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "6281234567890",
        "type": "text", "text": {"body": "hi", "preview_url": false}, "context": {"message_id": "wamid.IN"}}));
    let sent = message_body(Api::Cloud, &outbound(template(&["Budi", "INV-7"]), None)).unwrap();
    assert_eq!(sent, json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "6281234567890",
        "type": "template", "template": {"name": "order_update", "language": {"policy": "deterministic", "code": "id"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Budi"}, {"type": "text", "text": "INV-7"}]}]}}));
    let bare = message_body(Api::Cloud, &outbound(template(&[]), None)).unwrap();
    assert!(bare["template"].get("components").is_none(), "a template without variables sends no components");
}

#[test]
fn on_premises_bodies_use_hsm_with_the_namespace() {
    let api = Api::OnPremises { namespace: Some("ns_toko_budi") };
    let text = message_body(api, &outbound(OutboundContent::Text("hi".into()), None)).unwrap();
    assert_eq!(text, json!({"to": "6281234567890", "type": "text", "text": {"body": "hi"}}));
    let hsm = message_body(api, &outbound(template(&["Budi"]), None)).unwrap();
    assert_eq!(hsm, json!({"to": "6281234567890", "type": "hsm", "hsm": {"namespace": "ns_toko_budi", "element_name": "order_update",
        "language": {"policy": "deterministic", "code": "id"}, "localizable_params": [{"default": "Budi"}]}}));
    let missing = message_body(Api::OnPremises { namespace: None }, &outbound(template(&[]), None));
    assert!(matches!(missing, Err(ChannelError::Provider(reason)) if reason.contains("namespace")));
}

#[test]
fn media_by_url_keeps_captions_and_file_names_where_whatsapp_takes_them() {
    let media = |kind, filename: Option<&str>| {
        OutboundContent::Media(Media { kind, url: "https://cdn.test/f".into(), caption: Some("lihat".into()), filename: filename.map(Into::into), mime_type: None })
    };
    let document = message_body(Api::Cloud, &outbound(media(MediaKind::Document, Some("invoice.pdf")), None)).unwrap();
    assert_eq!(document["type"], "document");
    assert_eq!(document["document"], json!({"link": "https://cdn.test/f", "caption": "lihat", "filename": "invoice.pdf"}));
    let audio = message_body(Api::OnPremises { namespace: None }, &outbound(media(MediaKind::Audio, Some("a.ogg")), None)).unwrap();
    assert_eq!(audio, json!({"to": "6281234567890", "type": "audio", "audio": {"link": "https://cdn.test/f"}}));
}

#[test]
fn provider_errors_of_both_apis_map_to_the_contract() {
    let graph = |code: i64, message: &str| {
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": "more detail"}, "fbtrace_id": "AbC"}}).to_string()
    };
    let window = ProviderError::parse(400, graph(131047, "(#131047) Re-engagement message").as_bytes());
    assert_eq!(window.reason(), "131047: Re-engagement message (more detail)");
    assert!(matches!(window.into_channel_error(400, None), ChannelError::WindowClosed(r) if r.starts_with("131047: Re-engagement")));
    let limited = ProviderError::parse(429, graph(130429, "(#130429) Rate limit hit").as_bytes());
    assert!(matches!(limited.into_channel_error(429, Some(3)), ChannelError::RateLimited(Some(3))));
    let token = ProviderError::parse(401, graph(190, "Invalid OAuth access token - Cannot parse access token").as_bytes());
    assert!(matches!(token.into_channel_error(401, None), ChannelError::Unauthorized(r) if r.contains("Invalid OAuth access token")));

    let on_premises = |code: i64, title: &str| json!({"errors": [{"code": code, "title": title, "details": "d"}]}).to_string();
    let login = ProviderError::parse(401, on_premises(1005, "Access denied").as_bytes());
    assert!(matches!(login.into_channel_error(401, None), ChannelError::Unauthorized(r) if r == "1005: Access denied (d)"));
    let old_window = ProviderError::parse(400, on_premises(470, "Message failed to send because more than 24 hours have passed").as_bytes());
    assert!(matches!(old_window.into_channel_error(400, None), ChannelError::WindowClosed(r) if r.starts_with("470: ")));
    let unknown = ProviderError::parse(400, on_premises(1006, "Resource not found").as_bytes());
    assert!(matches!(unknown.into_channel_error(400, None), ChannelError::Provider(r) if r == "1006: Resource not found (d)"));
    assert!(matches!(ProviderError::parse(503, b"<html>").into_channel_error(503, None), ChannelError::Transient(r) if r == "HTTP 503"));
}

fn new_template(name: &str, category: &str, body: &str) -> NewTemplate {
    NewTemplate { name: name.into(), language: "id".into(), category: category.into(), body: body.into() }
}

fn field_errors(result: Result<NewTemplate, ChannelError>) -> Vec<(String, String)> {
    match result {
        Err(ChannelError::InvalidSettings(errors)) => errors.into_iter().map(|e| (e.key, e.message)).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn templates_are_checked_field_by_field() {
    let ok = templates::validate(&new_template(" order_update ", "utility", "Halo {{1}}, pesanan {{2}} sudah dikirim")).unwrap();
    assert_eq!((ok.name.as_str(), ok.category.as_str()), ("order_update", "UTILITY"));
    assert_eq!(templates::placeholders(&ok.body), Ok(2));

    let errors = field_errors(templates::validate(&NewTemplate { language: "".into(), ..new_template("", "PROMO", "") }));
    let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["name", "language", "category", "body"]);
    assert_eq!(errors[0].1, "field is required");
    assert_eq!(errors[2].1, "must be one of: UTILITY, MARKETING, AUTHENTICATION");

    assert_eq!(field_errors(templates::validate(&new_template("Order Update", "UTILITY", "x")))[0].0, "name");
    let gap = field_errors(templates::validate(&new_template("a", "UTILITY", "Halo {{1}} {{3}}")));
    assert_eq!(gap[0], ("body".to_string(), "variables must run from {{1}} without gaps; {{2}} is missing".to_string()));
    let named = field_errors(templates::validate(&new_template("a", "UTILITY", "Halo {{name}}")));
    assert!(named[0].1.contains("`{{name}}` is not"), "{named:?}");
    assert!(templates::placeholders("Halo {{1").is_err());
}

#[test]
fn provider_template_refusals_land_on_a_field() {
    let on = |reason: &str| match templates::rejection(reason.into()) {
        ChannelError::InvalidSettings(errors) => errors[0].key.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(on("100: Invalid parameter (Message template with the same name already exists)"), "name");
    assert_eq!(on("100: Invalid parameter (Content in this language already exists for template order_update)"), "name");
    assert_eq!(on("100: Invalid parameter (Language not supported)"), "language");
    assert_eq!(on("100: Invalid parameter (Category MARKETING does not match the content)"), "category");
    assert_eq!(on("100: Invalid parameter (Body contains invalid characters)"), "body");
}
