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
