//! A message's content, typed: what the API builds, the store keeps (as JSON in
//! `messages.content`) and the outbox sends. The JSON is the shape stored before this type
//! existed, so rows written by earlier versions read unchanged; a row this version cannot read
//! shows as plain text (its `text`) rather than failing the conversation.
//!
//! Converted at the edges only: the API's send request ([`MessageContent::template`] etc.), the
//! plugin's inbound event (`ingest`), the plugin's outbound content (`outbox`).

use serde::{Deserialize, Serialize};

pub use crate::interactive::model::{ChoiceContent, ChoiceSource, InteractiveContent};

/// Everything of a message beyond its text. An inbound message has attachments, or a choice; an
/// outbound one a template, interactive content, or media (by URL or an uploaded file) shown as
/// one attachment.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct MessageContent {
    /// A message template (outbound, outside the messaging window too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateContent>,
    /// Media the provider is handed (outbound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaContent>,
    /// Options the customer can tap (outbound); the message's `text` is its text rendering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<InteractiveContent>,
    /// The option the customer picked (inbound); the message's `text` is its title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<ChoiceContent>,
    /// What the message carries, as people see it: an inbound message's attachments, an
    /// outbound message's file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentContent>,
}

/// A provider template sent (its name, language, values).
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct TemplateContent {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub params: Vec<String>,
    /// Values for the template's buttons (plugins with `template-buttons`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<TemplateButtonValue>,
}

/// What one send puts into the template's button at `index` (0-based): a quick reply's
/// `payload` (the choice's id when the customer taps it) or a URL button's `url_suffix` (the
/// end of its address, the template's `{{1}}`). Exactly one of the two.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TemplateButtonValue {
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_suffix: Option<String>,
    /// The button's label, as the template has it: written by the host when the message is
    /// queued (for the inbox), whatever a request says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Outbound media: `url` for media by link, `file_id` for an uploaded file (a link to it is made
/// for each attempt). `kind` is one of `image`, `video`, `audio`, `document`, `sticker`.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct MediaContent {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<i64>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
}

/// One attachment as the plugin reported it (inbound) or as an agent sent it (outbound).
/// `kind`: `image`, `video`, `audio`, `document`, `sticker`, `location`, `contact`, `unsupported`.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct AttachmentContent {
    pub kind: String,
    #[serde(default)]
    pub provider_media_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub location: Option<LocationContent>,
    #[serde(default)]
    pub description: Option<String>,
    /// The stored file, when the host keeps its bytes (added when served, never stored).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub file: Option<serde_json::Value>,
}

/// A place shared on a map.
#[derive(utoipa::ToSchema, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct LocationContent {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

impl MessageContent {
    /// As stored in `messages.content`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// A stored row's content. Unreadable content (not written by any version of this host) is
    /// logged and read as none, so the message still shows its text.
    pub fn from_json(stored: &str) -> Self {
        serde_json::from_str(stored).unwrap_or_else(|e| {
            tracing::warn!("a message's stored content is unreadable and is shown as text only: {e}");
            Self::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What versions before the typed content stored reads back, and is written again the same.
    #[test]
    fn content_stored_by_earlier_versions_reads_and_writes_back_the_same() {
        for stored in [
            r#"{}"#,
            r#"{"template":{"name":"order_update","language":"id","params":["Budi","A-17"]}}"#,
            r#"{"media":{"kind":"image","url":"https://cdn.example.com/a.jpg","caption":"Promo","filename":null,"mime_type":null}}"#,
            r#"{"media":{"kind":"document","file_id":7,"caption":null,"filename":"invoice.pdf","mime_type":"application/pdf"},"attachments":[{"kind":"document","provider_media_id":null,"url":null,"mime_type":"application/pdf","filename":"invoice.pdf","size":1234,"location":null,"description":null}]}"#,
            r#"{"attachments":[{"kind":"location","provider_media_id":null,"url":null,"mime_type":null,"filename":null,"size":null,"location":{"latitude":-6.2,"longitude":106.8,"name":"Monas","address":null},"description":null}]}"#,
        ] {
            let content = MessageContent::from_json(stored);
            let again: serde_json::Value = serde_json::from_str(&content.to_json()).unwrap();
            let before: serde_json::Value = serde_json::from_str(stored).unwrap();
            assert_eq!(again, before, "{stored}");
        }
    }

    #[test]
    fn unreadable_content_reads_as_none() {
        assert_eq!(MessageContent::from_json(r#"{"template":"not an object"}"#), MessageContent::default());
        assert_eq!(MessageContent::from_json("not json"), MessageContent::default());
    }
}
