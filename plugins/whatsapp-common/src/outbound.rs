//! Send bodies. Both APIs take `{"to","type":T,T:{...},"context"?}`; the Cloud API adds
//! `messaging_product` and `recipient_type`, and the two name templates differently
//! (Cloud `template`, On-Premises `hsm` with the account's namespace).

use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde_json::{Value, json};
use switchboard_sdk::*;

/// Which API a body is for.
#[derive(Debug, Clone, Copy)]
pub enum Api<'a> {
    Cloud,
    /// The namespace of the template being sent, when the message is a template.
    OnPremises { namespace: Option<&'a str> },
}

/// The body of `POST .../messages` for one outbound message.
pub fn message_body(api: Api<'_>, message: &OutboundMessage) -> Result<Value, ChannelError> {
    let mut body = match api {
        Api::Cloud => json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.recipient}),
        Api::OnPremises { .. } => json!({"to": message.recipient}),
    };
    let (kind, object) = match &message.content {
        OutboundContent::Text(text) => match api {
            Api::Cloud => ("text", json!({"body": text, "preview_url": false})),
            Api::OnPremises { .. } => ("text", json!({"body": text})),
        },
        OutboundContent::Media(media) => media_object(media),
        OutboundContent::Template(template) => match api {
            Api::Cloud => ("template", cloud_template(template)),
            Api::OnPremises { namespace } => {
                let namespace = namespace.ok_or_else(|| {
                    ChannelError::Provider(format!(
                        "template `{}` has no namespace: register it with the channel or set the channel's template namespace",
                        template.name
                    ))
                })?;
                ("hsm", hsm(namespace, template))
            }
        },
    };
    body["type"] = kind.into();
    body[kind] = object;
    if let Some(id) = &message.reply_to {
        body["context"] = json!({"message_id": id});
    }
    Ok(body)
}

/// The body of `POST .../messages` for interactive content: `type: interactive` with a
/// `button` (reply buttons), a `list` or (Cloud only) a `cta_url`; a text header, body, footer.
pub fn interactive_body(api: Api<'_>, message: &InteractiveMessage) -> Result<Value, ChannelError> {
    let content = &message.content;
    let mut interactive = match &content.action {
        InteractiveAction::ReplyButtons(options) => {
            let buttons: Vec<Value> = options.iter().map(|o| json!({"type": "reply", "reply": {"id": o.id, "title": o.title}})).collect();
            json!({"type": "button", "action": {"buttons": buttons}})
        }
        InteractiveAction::OptionList(list) => {
            let sections: Vec<Value> = list
                .sections
                .iter()
                .map(|section| {
                    let rows: Vec<Value> = section
                        .rows
                        .iter()
                        .map(|row| {
                            let mut object = json!({"id": row.id, "title": row.title});
                            if let Some(description) = &row.description {
                                object["description"] = description.clone().into();
                            }
                            object
                        })
                        .collect();
                    let mut object = json!({"rows": rows});
                    if let Some(title) = &section.title {
                        object["title"] = title.clone().into();
                    }
                    object
                })
                .collect();
            json!({"type": "list", "action": {"button": list.button, "sections": sections}})
        }
        InteractiveAction::UrlButtons(buttons) if matches!(api, Api::Cloud) && buttons.len() == 1 => {
            json!({"type": "cta_url", "action": {"name": "cta_url", "parameters": {"display_text": buttons[0].title, "url": buttons[0].url}}})
        }
        _ => return Err(ChannelError::Unsupported("WhatsApp draws reply buttons, lists and (Cloud API) one URL button".into())),
    };
    interactive["body"] = json!({"text": content.body});
    if let Some(header) = &content.header {
        interactive["header"] = json!({"type": "text", "text": header});
    }
    if let Some(footer) = &content.footer {
        interactive["footer"] = json!({"text": footer});
    }
    let mut body = match api {
        Api::Cloud => json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.recipient}),
        Api::OnPremises { .. } => json!({"recipient_type": "individual", "to": message.recipient}),
    };
    body["type"] = "interactive".into();
    body["interactive"] = interactive;
    if let Some(id) = &message.reply_to {
        body["context"] = json!({"message_id": id});
    }
    Ok(body)
}

/// What WhatsApp draws, with its documented limits (`providers-interactive.md`): reply buttons
/// (1-3, titles 20), lists (10 rows over 10 sections; row titles 24, descriptions 72, the
/// button 20) and, on the Cloud API, one URL button; bodies 1024 (the lower of the two
/// documented limits), text headers and footers 60. Ids: list rows take 200 bytes, buttons 256.
pub fn interactive_support(api: Api<'_>) -> InteractiveSupport {
    let common = |kind, max_choices, max_title_chars| KindLimits {
        max_choices,
        max_title_chars,
        max_body_chars: 1024,
        max_header_chars: 60,
        max_footer_chars: 60,
        ..KindLimits::new(kind)
    };
    let mut kinds = vec![
        common(InteractiveKind::ReplyButtons, 3, 20),
        KindLimits { max_description_chars: 72, max_sections: 10, max_button_chars: 20, ..common(InteractiveKind::OptionList, 10, 24) },
    ];
    if matches!(api, Api::Cloud) {
        kinds.push(common(InteractiveKind::UrlButtons, 1, 20));
    }
    InteractiveSupport { kinds, max_id_bytes: 200 }
}

/// Media by URL: `{"link"}` plus a caption (image, video, document) and a file name (document).
fn media_object(media: &Media) -> (&'static str, Value) {
    let kind = match media.kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
    };
    let mut object = json!({"link": media.url});
    if let Some(caption) = media.caption.as_ref().filter(|_| matches!(media.kind, MediaKind::Image | MediaKind::Video | MediaKind::Document)) {
        object["caption"] = caption.as_str().into();
    }
    if let Some(filename) = media.filename.as_ref().filter(|_| media.kind == MediaKind::Document) {
        object["filename"] = filename.as_str().into();
    }
    (kind, object)
}

fn language(code: &str) -> Value {
    json!({"policy": "deterministic", "code": code})
}

/// A Cloud API template message whose buttons get this send's values (`templates::button_components`).
pub fn template_with_buttons_body(message: &OutboundMessage, buttons: &[ButtonParameter]) -> Result<Value, ChannelError> {
    if !matches!(message.content, OutboundContent::Template(_)) {
        return Err(ChannelError::BadRequest("button values go with a template".into()));
    }
    let mut body = message_body(Api::Cloud, message)?;
    let mut components = body["template"]["components"].as_array().cloned().unwrap_or_default();
    components.extend(crate::templates::button_components(buttons));
    body["template"]["components"] = components.into();
    Ok(body)
}

fn cloud_template(template: &TemplateMessage) -> Value {
    let mut object = json!({"name": template.name, "language": language(&template.language)});
    if !template.params.is_empty() {
        let parameters: Vec<Value> = template.params.iter().map(|p| json!({"type": "text", "text": p})).collect();
        object["components"] = json!([{"type": "body", "parameters": parameters}]);
    }
    object
}

fn hsm(namespace: &str, template: &TemplateMessage) -> Value {
    let params: Vec<Value> = template.params.iter().map(|p| json!({"default": p})).collect();
    json!({
        "namespace": namespace,
        "element_name": template.name,
        "language": language(&template.language),
        "localizable_params": params,
    })
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Sent {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct SentMessage {
    id: String,
}

/// The provider's id from a successful send, `{"messages":[{"id":"wamid..."}]}` on both APIs.
pub fn receipt(response: &http::Response) -> Result<Receipt, ChannelError> {
    let sent: Sent = response.json()?;
    let id = sent.messages.into_iter().next().map(|m| m.id);
    let id = id.ok_or_else(|| ChannelError::Provider("the provider accepted the message but returned no id".into()))?;
    Ok(Receipt { provider_message_id: id })
}
