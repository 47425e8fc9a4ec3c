//! The host's own words for what crosses the contract: plain Rust types the rest of the host
//! uses. The generated bindings stay private to `runtime::bindings`, which converts at the edge,
//! so a new major contract version changes one conversion module, not every caller (Zed's
//! extension host keeps its WIT types behind the same kind of wall).
//!
//! Each type mirrors the `switchboard:channel` 0.1 record or variant of the same name.

/// A `(key, value)` pair: settings, headers, provider properties.
pub type Property = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FieldKind {
    Text,
    Secret,
    Url,
    Email,
    Number,
    Boolean,
    Select,
    Textarea,
}

impl FieldKind {
    /// The kind as the API and the CLI name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Secret => "secret",
            Self::Url => "url",
            Self::Email => "email",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Select => "select",
            Self::Textarea => "textarea",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
}

/// One setting of a plugin's settings schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Field {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
    pub secret: bool,
    pub immutable: bool,
    pub help: Option<String>,
    pub default_value: Option<String>,
    pub options: Vec<SelectOption>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Capability {
    Templates,
    OauthConnect,
    SendMedia,
    SendTemplates,
    FixedName,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PluginManifest {
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub capabilities: Vec<Capability>,
    pub outbound_hosts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct WindowPolicy {
    pub free_form_seconds: Option<u64>,
    pub human_agent_seconds: Option<u64>,
    pub templates_outside_window: bool,
}

/// Served as `unrestricted`, `open`, `human_agent`, `closed`.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    Unrestricted,
    Open,
    HumanAgent,
    Closed,
}

/// What a plugin call about one channel gets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelContext {
    pub channel_id: String,
    pub webhook_url: String,
    pub webhook_secret: String,
    pub settings: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub key: String,
    pub message: String,
}

/// A plugin's own typed error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ChannelError {
    InvalidSettings(Vec<FieldError>),
    Unauthorized(String),
    RateLimited(Option<u64>),
    WindowClosed(String),
    Unsupported(String),
    Provider(String),
    Transient(String),
    BadRequest(String),
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidSettings(fields) => {
                let parts: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.key, f.message)).collect();
                write!(f, "invalid settings ({})", parts.join("; "))
            }
            Self::Unauthorized(reason) => write!(f, "the provider refused the credentials: {reason}"),
            Self::RateLimited(Some(seconds)) => write!(f, "rate limited by the provider; retry after {seconds} s"),
            Self::RateLimited(None) => f.write_str("rate limited by the provider"),
            Self::WindowClosed(reason) => write!(f, "the messaging window is closed: {reason}"),
            Self::Unsupported(what) => write!(f, "not supported by this channel: {what}"),
            Self::Provider(reason) => f.write_str(reason),
            Self::Transient(reason) => write!(f, "temporary failure: {reason}"),
            Self::BadRequest(reason) => write!(f, "bad request: {reason}"),
        }
    }
}

impl std::error::Error for ChannelError {}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetupItem {
    pub key: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Connection {
    pub display_name: String,
    pub external_account_id: String,
    pub setup: Vec<SetupItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<Property>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<Property>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContactProfile {
    pub id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum AttachmentKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Contact,
    Unsupported,
}

impl AttachmentKind {
    const ALL: [Self; 8] = [Self::Image, Self::Video, Self::Audio, Self::Document, Self::Sticker, Self::Location, Self::Contact, Self::Unsupported];

    /// The kind [`AttachmentKind::name`] names.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Sticker => "sticker",
            Self::Location => "location",
            Self::Contact => "contact",
            Self::Unsupported => "unsupported",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub provider_media_id: Option<String>,
    pub url: Option<String>,
    pub mime_type: Option<String>,
    pub filename: Option<String>,
    pub size: Option<u64>,
    pub location: Option<Location>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InboundMessage {
    pub provider_message_id: String,
    pub conversation: String,
    pub conversation_name: Option<String>,
    pub sender: ContactProfile,
    pub timestamp_ms: u64,
    pub text: Option<String>,
    pub attachments: Vec<Attachment>,
    pub reply_to: Option<String>,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DeliveryState {
    Sent,
    Delivered,
    Read,
    Failed,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum StatusTarget {
    Message(String),
    /// Every message of the conversation up to this time (ms).
    Watermark((String, u64)),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryStatus {
    pub target: StatusTarget,
    pub state: DeliveryState,
    pub timestamp_ms: u64,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Event {
    Message(InboundMessage),
    Status(DeliveryStatus),
    Contact(ContactProfile),
    /// A customer picked an option (0.1.4 `interactive`).
    Choice(Choice),
}

pub use crate::interactive::model::{
    Card, CardButton, ChoiceOption, InteractiveAction, InteractiveContent, InteractiveKind, InteractiveSupport, KindLimits, ListSection,
    OptionList, UrlButton,
};

/// A customer's pick of an option, as the plugin reported it (0.1.4 `interactive-types.choice`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Choice {
    pub provider_message_id: String,
    pub conversation: String,
    pub conversation_name: Option<String>,
    pub sender: ContactProfile,
    pub timestamp_ms: u64,
    /// The option's id as the provider returned it (maybe a short id the host issued).
    pub id: String,
    pub title: Option<String>,
    /// The provider's id of the message the option was on.
    pub answers: Option<String>,
    pub properties: Vec<Property>,
}

/// An outbound message with interactive content (0.1.4 `interactive-message`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InteractiveMessage {
    pub message_id: String,
    pub conversation_id: String,
    pub recipient: String,
    pub content: InteractiveContent,
    pub reply_to: Option<String>,
    pub last_inbound: Option<InboundSummary>,
    pub window: WindowState,
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebhookOutcome {
    pub response: HttpResponse,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Media {
    pub kind: MediaKind,
    pub url: String,
    pub caption: Option<String>,
    pub filename: Option<String>,
    pub mime_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateMessage {
    pub name: String,
    pub language: String,
    pub params: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum OutboundContent {
    Text(String),
    Media(Media),
    Template(TemplateMessage),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InboundSummary {
    pub provider_message_id: String,
    pub timestamp_ms: u64,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboundMessage {
    pub message_id: String,
    pub conversation_id: String,
    pub recipient: String,
    pub content: OutboundContent,
    pub reply_to: Option<String>,
    pub last_inbound: Option<InboundSummary>,
    pub window: WindowState,
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    pub provider_message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewTemplate {
    pub name: String,
    pub language: String,
    pub category: String,
    pub body: String,
}

/// A template's button (0.1.4 `template-buttons`), as the API shows and takes it:
/// `{"type":"quick_reply","text":…}`, `{"type":"url","text":…,"url":…,"example":…}`,
/// `{"type":"phone_number","text":…,"phone_number":…}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TemplateButton {
    /// A tap comes back as a choice whose id is the payload the send gave this button.
    QuickReply { text: String },
    /// Opens `url`; a `{{1}}` at its end is completed by each send's `url_suffix`.
    Url {
        text: String,
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        example: Option<String>,
    },
    PhoneNumber { text: String, phone_number: String },
}

impl TemplateButton {
    /// The label the customer sees.
    pub fn text(&self) -> &str {
        match self {
            Self::QuickReply { text } | Self::Url { text, .. } | Self::PhoneNumber { text, .. } => text,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ButtonTemplate {
    pub template: Template,
    pub buttons: Vec<TemplateButton>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewButtonTemplate {
    pub template: NewTemplate,
    pub buttons: Vec<TemplateButton>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ButtonValue {
    Payload(String),
    UrlSuffix(String),
}

/// What one send puts into the template's button at `index` (0-based).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ButtonParameter {
    pub index: u32,
    pub value: ButtonValue,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthStartRequest {
    pub redirect_url: String,
    pub state: String,
    pub settings: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthRedirect {
    pub authorize_url: String,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthFinishRequest {
    pub redirect_url: String,
    pub callback_query: Vec<Property>,
    pub properties: Vec<Property>,
    pub settings: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthAccount {
    pub id: String,
    pub name: String,
    pub settings: Vec<Property>,
}

/// What an app-level call gets (0.1.3): the provider app's callback URL, verify token and
/// the operator's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppContext {
    pub callback_url: String,
    pub verify_token: String,
    pub settings: Vec<Property>,
}

/// An event of one provider account, routed by the host to that account's channel.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccountEvent {
    pub account: String,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AppWebhookOutcome {
    pub response: HttpResponse,
    pub events: Vec<AccountEvent>,
}

/// A request the host makes for a plugin to get an inbound attachment's bytes (0.1.3 `media`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// How an inbound attachment's bytes are got (0.1.3 `media.fetch-media`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum MediaSource {
    Request(MediaRequest),
    /// Still being prepared at the provider: ask again after this many seconds.
    NotReady(u32),
}

/// How fast a channel's provider takes sends (0.1.3 `delivery`); `None`: the host's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendLimits {
    pub per_second: Option<u32>,
    pub concurrency: Option<u32>,
}

// ---- the connect form's guide (0.1.3 `guide-types`) -----------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// Inline text of a guide. Strings only: whoever draws it escapes them (no HTML from plugins).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Inline {
    Text(String),
    Strong(String),
    Code(String),
    Link(Link),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Steps(Vec<Vec<Inline>>),
    Note(Vec<Inline>),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Widget {
    Color,
}

impl Widget {
    pub fn name(self) -> &'static str {
        match self {
            Self::Color => "color",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldWidget {
    pub key: String,
    pub widget: Widget,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Guide {
    pub sections: Vec<Section>,
    pub field_widgets: Vec<FieldWidget>,
}

/// A guide's text is read once at load and kept for every page view: bounded.
pub const MAX_GUIDE_BYTES: usize = 64 * 1024;

impl Guide {
    /// The guide as the host serves it: a link that is not `https:` becomes plain text (the
    /// pages make nothing else clickable), and a widget must name a setting of the schema.
    /// Refused (with the reason) when it is larger than [`MAX_GUIDE_BYTES`].
    pub fn checked(mut self, schema: &[Field]) -> Result<Self, String> {
        let mut bytes = 0;
        for section in &mut self.sections {
            bytes += section.title.len();
            for block in &mut section.blocks {
                let lines: Vec<&mut Vec<Inline>> = match block {
                    Block::Paragraph(line) | Block::Note(line) => vec![line],
                    Block::Steps(steps) => steps.iter_mut().collect(),
                };
                for inline in lines.into_iter().flatten() {
                    bytes += match inline {
                        Inline::Text(text) | Inline::Strong(text) | Inline::Code(text) => text.len(),
                        Inline::Link(link) => link.label.len() + link.url.len(),
                    };
                    if let Inline::Link(link) = inline
                        && !link.url.starts_with("https://")
                    {
                        *inline = Inline::Text(format!("{} ({})", link.label, link.url));
                    }
                }
            }
        }
        if bytes > MAX_GUIDE_BYTES {
            return Err(format!("its connect guide holds {bytes} bytes of text; at most {MAX_GUIDE_BYTES}"));
        }
        if let Some(unknown) = self.field_widgets.iter().find(|w| !schema.iter().any(|f| f.key == w.key)) {
            return Err(format!("its connect guide draws a `{}` widget for `{}`, which is not a setting", unknown.widget.name(), unknown.key));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str) -> Field {
        Field {
            key: key.into(),
            label: key.into(),
            kind: FieldKind::Text,
            required: false,
            secret: false,
            immutable: false,
            help: None,
            default_value: None,
            options: vec![],
        }
    }

    fn guide(inlines: Vec<Inline>, widgets: Vec<FieldWidget>) -> Guide {
        Guide { sections: vec![Section { title: "Steps".into(), blocks: vec![Block::Steps(vec![inlines])] }], field_widgets: widgets }
    }

    #[test]
    fn only_https_links_stay_links() {
        let link = |url: &str| Inline::Link(Link { label: "here".into(), url: url.into() });
        let checked = guide(vec![link("https://t.me/BotFather"), link("javascript:alert(1)"), link("http://example.com")], vec![]).checked(&[]).unwrap();
        let Block::Steps(steps) = &checked.sections[0].blocks[0] else { panic!() };
        assert_eq!(
            steps[0],
            vec![link("https://t.me/BotFather"), Inline::Text("here (javascript:alert(1))".into()), Inline::Text("here (http://example.com)".into())]
        );
    }

    #[test]
    fn a_widget_must_name_a_setting_and_a_guide_is_bounded() {
        let color = |key: &str| vec![FieldWidget { key: key.into(), widget: Widget::Color }];
        assert!(guide(vec![], color("color")).checked(&[field("color")]).is_ok());
        let refused = guide(vec![], color("colour")).checked(&[field("color")]).unwrap_err();
        assert!(refused.contains("`colour`, which is not a setting"), "{refused}");
        let long = guide(vec![Inline::Text("x".repeat(MAX_GUIDE_BYTES + 1))], vec![]).checked(&[]).unwrap_err();
        assert!(long.contains("at most"), "{long}");
    }
}
