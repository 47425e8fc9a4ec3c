//! Website chat: a chat bubble on the business's own website. The "provider" is the host
//! itself: it serves the widget script, gives each visitor an unguessable token, checks the
//! page's origin and the widget's on/off switch, and pushes agents' replies to the open page
//! (see `host/src/api/webchat`). This plugin is the channel's part, as for any provider:
//! the settings and their checks, the embed snippet, turning a visitor's message (handed in
//! by the host, signed with the channel's webhook secret) into an inbound message, and
//! accepting replies, which the host shows to the visitor once this plugin has sent them.

use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_sdk::guide::{Guide, Widget};
use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::*;

/// Longest visitor message, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest option id a click sends back (the host shows the widget short ids only).
const MAX_CHOICE_ID_BYTES: usize = 64;
/// Longest greeting, in characters.
const MAX_GREETING_CHARS: usize = 500;
/// The header carrying hex HMAC-SHA256 of the body under the channel's webhook secret.
const SIGNATURE_HEADER: &str = "x-webchat-signature";

struct Webchat;

impl Channel for Webchat {
    fn manifest() -> Manifest {
        Manifest {
            id: "webchat".into(),
            name: "Website chat".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "A chat bubble on your website: visitors write, agents answer from the inbox, live both ways".into(),
            // Agents' files: the host shows them to the visitor by a signed link.
            capabilities: vec![Capability::SendMedia],
            outbound_hosts: vec![],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![
            Field::new("domain", "Website domain", FieldKind::Text).required().help(
                "Where the widget may run: tokobudi.co.id (also allows www.tokobudi.co.id), *.tokobudi.co.id for every \
                 subdomain, or host:port; several separated by commas. Pages elsewhere are refused.",
            ),
            Field::new("enabled", "Widget on", FieldKind::Boolean)
                .default_value("true")
                .help("Off: the bubble no longer appears and visitors cannot write"),
            Field::new("color", "Colour", FieldKind::Text).default_value("#1f6feb").help("Bubble and header colour, #RRGGBB"),
            Field::new("greeting", "Greeting", FieldKind::Textarea)
                .default_value("Hi! How can we help you today?")
                .help("The first thing visitors read when they open the chat"),
            Field::new("position", "Position", FieldKind::Select)
                .default_value("right")
                .options([("right", "Bottom right"), ("left", "Bottom left")]),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        let domains = check_settings(ctx)?;
        let front = front_url(ctx)?;
        let snippet = format!(r#"<script src="{}" async></script>"#, escape_attribute(&format!("{front}/widget.js")));
        Ok(Connection {
            display_name: domains.join(", "),
            external_account_id: domains[0].clone(),
            setup: vec![
                SetupItem::new(
                    "embed_snippet",
                    "Paste this tag before </body> on every page of your website where the chat should appear",
                    snippet,
                ),
                SetupItem::new("preview_url", "Preview of the widget with the saved settings (frame it beside this form)", format!("{front}/preview")),
                SetupItem::new("domains", "The widget runs on", domains.join(", ")),
            ],
        })
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        Self::handle_webhook_with_choices(ctx, request).map(InteractiveWebhookOutcome::plain)
    }

    /// A visitor's message, or their click on an option: the widget sends the option's id as
    /// the host showed it (a short id; the host maps it back) with its title as the text.
    fn handle_webhook_with_choices(ctx: &ChannelContext, request: HttpRequest) -> Result<InteractiveWebhookOutcome, ChannelError> {
        let signature = request.header(SIGNATURE_HEADER).unwrap_or_default();
        if ctx.webhook_secret.is_empty() || !verify_hmac_sha256_hex(&ctx.webhook_secret, &request.body, signature) {
            return Err(ChannelError::Unauthorized(format!("missing or wrong {SIGNATURE_HEADER}: visitors write through the widget")));
        }
        if request.method != "POST" || request.path != "messages" {
            return Err(ChannelError::BadRequest(format!("no visitor action {} /{}", request.method, request.path)));
        }
        let mut message: VisitorMessage = request.json()?;
        let picked = message.choice.take();
        let inbound = inbound(message, now_ms())?;
        let event = match picked {
            None => InboundEvent::Event(Event::Message(inbound)),
            Some(id) if (1..=MAX_CHOICE_ID_BYTES).contains(&id.len()) => InboundEvent::Choice(Choice {
                provider_message_id: inbound.provider_message_id,
                conversation: inbound.conversation,
                conversation_name: None,
                sender: inbound.sender,
                timestamp_ms: inbound.timestamp_ms,
                id,
                title: inbound.text,
                answers: None,
                properties: inbound.properties,
            }),
            Some(_) => return Err(ChannelError::BadRequest(format!("`choice` must be 1 to {MAX_CHOICE_ID_BYTES} bytes"))),
        };
        Ok(InteractiveWebhookOutcome::ok(vec![event]))
    }

    /// The widget draws every kind: buttons, quick replies (until a newer message), a list as
    /// buttons under section titles, links, and cards with their picture.
    fn interactive_support() -> InteractiveSupport {
        let kind = |kind, max_choices| KindLimits {
            max_choices,
            max_title_chars: 80,
            max_description_chars: 200,
            max_body_chars: MAX_TEXT_CHARS as u32,
            max_header_chars: 200,
            max_footer_chars: 200,
            max_sections: 10,
            max_button_chars: 80,
            max_card_buttons: 3,
            ..KindLimits::new(kind)
        };
        InteractiveSupport {
            kinds: vec![
                kind(InteractiveKind::ReplyButtons, 10),
                kind(InteractiveKind::QuickReplies, 13),
                kind(InteractiveKind::OptionList, 20),
                kind(InteractiveKind::UrlButtons, 5),
                kind(InteractiveKind::Cards, 10),
            ],
            max_id_bytes: MAX_CHOICE_ID_BYTES as u32,
        }
    }

    /// Shown by the host, as any reply.
    fn send_interactive(_ctx: &ChannelContext, message: InteractiveMessage) -> Result<Receipt, ChannelError> {
        Ok(Receipt { provider_message_id: format!("webchat-out-{}", message.message_id) })
    }

    fn send(_ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        // The host shows the stored message to the visitor once it is sent: there is no
        // third party to call. The receipt's id is ours, stable across retries.
        match message.content {
            OutboundContent::Text(_) | OutboundContent::Media(_) => Ok(Receipt { provider_message_id: format!("webchat-out-{}", message.message_id) }),
            OutboundContent::Template(_) => Err(ChannelError::Unsupported("the website chat has no message templates".into())),
        }
    }

    fn connect_guide() -> Guide {
        Guide::new()
            .section("Set up the widget")
            .steps([
                "In **Website domain**, list where the chat may run: `tokobudi.co.id` (also allows `www.`), `*.tokobudi.co.id` for every subdomain, several separated by commas. Pages on other sites are refused.",
                "Choose the **Colour**, the **Greeting** visitors read first and the bubble's **Position**.",
                "Connect: a snippet and a preview of the widget are shown.",
            ])
            .section("Put it on your website")
            .steps([
                "Copy the `<script>` tag shown after connecting.",
                "Paste it just before `</body>` on every page where the chat should appear (or once in your site's shared template or footer).",
                "Open your website: the chat bubble appears, and visitors' messages arrive in the inbox.",
            ])
            .note("Untick **Widget on** in the channel's settings to hide the bubble without removing the snippet.")
            .widget("color", Widget::Color)
    }

    /// The plugin's texts in other languages: `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
}

export_channel!(Webchat);

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// What the host hands in for one visitor message.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct VisitorMessage {
    /// The host's id for the visitor (derived from their token; never the token itself).
    visitor: String,
    /// The widget's id for this message: a resend after a lost answer carries the same one.
    client_id: String,
    #[serde(default)]
    text: String,
    /// A file the visitor attached, already kept by the host (its `files.keep` reference).
    file: Option<VisitorFile>,
    /// The option the visitor clicked (its id as the widget got it); `text` is its title.
    choice: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct VisitorFile {
    reference: String,
    mime_type: String,
    filename: Option<String>,
    size: u64,
}

impl VisitorFile {
    fn attachment(self) -> Attachment {
        let kind = match self.mime_type.split('/').next().unwrap_or_default() {
            "image" if self.mime_type != "image/svg+xml" => AttachmentKind::Image,
            "video" => AttachmentKind::Video,
            "audio" => AttachmentKind::Audio,
            _ => AttachmentKind::Document,
        };
        Attachment { provider_media_id: Some(self.reference), mime_type: Some(self.mime_type), filename: self.filename, size: Some(self.size), ..Attachment::new(kind) }
    }
}

fn inbound(message: VisitorMessage, now_ms: u64) -> Result<InboundMessage, ChannelError> {
    let text = message.text.trim();
    if text.is_empty() && message.file.is_none() {
        return Err(ChannelError::BadRequest("the message is empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ChannelError::BadRequest(format!("the message is longer than {MAX_TEXT_CHARS} characters")));
    }
    let id_like = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !id_like(&message.visitor, 1..=64) {
        return Err(ChannelError::BadRequest("`visitor` is not a visitor id".into()));
    }
    if !id_like(&message.client_id, 8..=64) {
        return Err(ChannelError::BadRequest("`client_id` must be 8 to 64 letters, digits, `-` or `_`".into()));
    }
    let short = message.visitor.trim_start_matches("v_").chars().take(4).collect::<String>().to_uppercase();
    Ok(InboundMessage {
        // Scoped to the visitor: one visitor's ids never collide with another's.
        provider_message_id: format!("{}:{}", message.visitor, message.client_id),
        conversation: message.visitor.clone(),
        conversation_name: None,
        sender: ContactProfile { id: message.visitor, name: Some(format!("Website visitor {short}")), handle: None },
        timestamp_ms: now_ms,
        text: (!text.is_empty()).then(|| text.to_owned()),
        attachments: message.file.map(VisitorFile::attachment).into_iter().collect(),
        reply_to: None,
        properties: vec![("client_id".into(), message.client_id)],
    })
}

/// Checks every setting; the allowed domains, normalized, on success.
fn check_settings(ctx: &ChannelContext) -> Result<Vec<String>, ChannelError> {
    let mut errors = Vec::new();
    let domains = match parse_domains(ctx.setting("domain").unwrap_or_default()) {
        Ok(domains) => domains,
        Err(problem) => {
            errors.push(FieldError { key: "domain".into(), message: problem });
            vec![]
        }
    };
    if let Some(color) = ctx.setting("color")
        && !is_hex_color(color)
    {
        errors.push(FieldError { key: "color".into(), message: "must be a colour like #1f6feb".into() });
    }
    if ctx.setting("greeting").is_some_and(|g| g.chars().count() > MAX_GREETING_CHARS) {
        errors.push(FieldError { key: "greeting".into(), message: format!("must be at most {MAX_GREETING_CHARS} characters") });
    }
    if errors.is_empty() { Ok(domains) } else { Err(ChannelError::InvalidSettings(errors)) }
}

/// `#rgb` or `#rrggbb`.
fn is_hex_color(value: &str) -> bool {
    value.strip_prefix('#').is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The domain setting's entries, lowercased: `name`, `*.name` or either with `:port`,
/// separated by commas or spaces. The host matches page origins against the same grammar.
fn parse_domains(value: &str) -> Result<Vec<String>, String> {
    let entries: Vec<String> = value.split([',', ' ', '\n', '\t']).filter(|e| !e.is_empty()).map(str::to_lowercase).collect();
    if entries.is_empty() {
        return Err("field is required".into());
    }
    for entry in &entries {
        if entry.contains("://") || entry.contains('/') {
            return Err(format!("`{entry}`: give the domain alone, like tokobudi.co.id (no https://, no path)"));
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry.as_str(), None),
        };
        if port.is_some_and(|p| !matches!(p.parse::<u16>(), Ok(1..))) {
            return Err(format!("`{entry}`: the port must be a number from 1 to 65535"));
        }
        let name = host.strip_prefix("*.").unwrap_or(host);
        let label_ok = |label: &str| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(format!("`{entry}` is not a domain name like tokobudi.co.id or *.tokobudi.co.id"));
        }
    }
    Ok(entries)
}

/// Where the host serves this channel's widget: beside its webhook URL
/// (`<public URL>/webhooks/<id>` -> `<public URL>/webchat/<id>`).
fn front_url(ctx: &ChannelContext) -> Result<String, ChannelError> {
    let suffix = format!("/webhooks/{}", ctx.channel_id);
    let base = ctx
        .webhook_url
        .strip_suffix(&suffix)
        .ok_or_else(|| ChannelError::Provider(format!("unexpected webhook URL {}: the host serves the widget", ctx.webhook_url)))?;
    Ok(format!("{base}/webchat/{}", ctx.channel_id))
}

/// Text for a double-quoted HTML attribute.
fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests;
