//! Email channel: the business's mailbox forwards every incoming mail to a forwarding
//! address the host gives the channel; agents' replies go out by SMTP from the business's
//! own address, threaded so the customer's answer comes back to the same conversation.
//!
//! Mail in arrives at `handle_webhook` as raw MIME: from the host's SMTP listener, or POSTed
//! by an MTA to the relay URL (`<webhook url>/<webhook secret>`, `message/rfc822`, or a
//! Mailgun-style form with the message in `body-mime`). Mail out goes through the host's
//! `smtp` import to the server in the channel's settings. Threading: [`threading`].

mod config;
mod inbound;
mod outbound;
mod threading;

use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_sdk::guide::Guide;
use switchboard_sdk::*;

use config::Config;
use inbound::{Envelope, Verdict};

struct Email;

impl Channel for Email {
    fn manifest() -> Manifest {
        Manifest {
            id: "email".into(),
            name: "Email".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "A mailbox: mail forwarded to a Switchboard address in, threaded replies out by the mailbox's SMTP server".into(),
            capabilities: vec![Capability::SendMedia],
            // No HTTP at all: SMTP goes through the host's `smtp` import.
            outbound_hosts: vec![],
        }
    }

    fn settings_schema() -> Vec<Field> {
        config::schema()
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        let config = Config::read(ctx)?;
        let forwarding = smtp::forwarding_address().ok_or_else(|| {
            ChannelError::Provider(
                "this Switchboard has no inbound mail domain, so it cannot give the channel a forwarding address; \
                 the operator sets one with --inbound-domain"
                    .into(),
            )
        })?;
        smtp::verify(&config.server)?;
        Ok(Connection {
            display_name: format!("{} <{}>", config.display_name, config.email),
            external_account_id: config.email.clone(),
            setup: setup(ctx, &config, &forwarding),
        })
    }

    /// The form's checks without the server (the same as connect's first step), so every
    /// field's problem shows at once beside the host's.
    fn check_settings(settings: &[Property]) -> Vec<FieldError> {
        let ctx = ChannelContext { channel_id: String::new(), webhook_url: String::new(), webhook_secret: String::new(), settings: settings.to_vec() };
        match Config::read(&ctx) {
            Err(ChannelError::InvalidSettings(fields)) => fields,
            _ => Vec::new(),
        }
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        let mime_form = relay_path(ctx, &request.path)?;
        if !request.method.eq_ignore_ascii_case("POST") {
            return Err(ChannelError::BadRequest("POST the raw message (Content-Type: message/rfc822)".into()));
        }
        let raw = relayed_message(&request, mime_form)?;
        let envelope = Envelope {
            from: request.header("x-envelope-from").map(str::to_owned),
            to: request.header("x-envelope-to").map(|to| to.split(',').map(|a| a.trim().to_owned()).collect()).unwrap_or_default(),
        };
        let forwarding = smtp::forwarding_address();
        let known = |id: &str| state::get(&threading::state_key(id));
        let context = inbound::Context {
            webhook_secret: &ctx.webhook_secret,
            inbound_domain: forwarding.as_deref().and_then(|a| a.rsplit_once('@')).map(|(_, domain)| domain),
            known: &known,
            now_ms: now_ms(),
        };
        let event = match inbound::read(&raw, &envelope, &context)? {
            Verdict::Message(message) => {
                state::set(&threading::state_key(&message.provider_message_id), &message.conversation);
                Event::Message(message)
            }
            Verdict::Bounce(status) => Event::Status(status),
            Verdict::Ignored(why) => {
                log::info(format!("mail not stored: {why}"));
                return Ok(WebhookOutcome::ok(vec![]));
            }
        };
        Ok(WebhookOutcome::ok(vec![event]))
    }

    fn send(ctx: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        let config = Config::read(ctx)?;
        let (text, attachment) = match &message.content {
            OutboundContent::Text(text) => (text.as_str(), None),
            // The file itself goes in the mail: read from the host in bounded pieces.
            OutboundContent::Media(media) => {
                let bytes = files::read_all(&media.url, MAX_ATTACHMENT_BYTES).map_err(|reason| ChannelError::Provider(format!("the file cannot be attached: {reason}")))?;
                let name = media.filename.clone().unwrap_or_else(|| "attachment".into());
                let mime_type = media.mime_type.clone().unwrap_or_else(|| "application/octet-stream".into());
                (media.caption.as_deref().unwrap_or_default(), Some(outbound::File { name, mime_type, bytes }))
            }
            OutboundContent::Template(_) => return Err(ChannelError::Unsupported("email has no message templates".into())),
        };
        let built = outbound::build(&outbound::Reply {
            config: &config,
            conversation: &message.recipient,
            host_message_id: &message.message_id,
            text,
            last_inbound: message.last_inbound.as_ref(),
            reply_address: smtp::reply_address(&message.recipient),
            attachment,
        })?;
        smtp::send(&config.server, &config.email, std::slice::from_ref(&built.recipient), &built.bytes)?;
        Ok(Receipt { provider_message_id: built.message_id })
    }

    fn connect_guide() -> Guide {
        Guide::new()
            .section("Fill in the form")
            .steps([
                "Put the address customers write to, such as `support@tokobudi.co.id`, in **Business email address**, and the sender name customers see in **Display name**.",
                "Fill in your mailbox's outgoing server for replies: **SMTP server** (Gmail: `smtp.gmail.com`), **SMTP port** and **SMTP security** (`587` with STARTTLS, `465` with TLS).",
                "Give **SMTP username** (usually the address) and **SMTP password**. Gmail and Outlook with two-step verification need an app password.",
                "Connect: the SMTP login is checked, then a forwarding address is shown.",
            ])
            .section("Forward your mail")
            .steps([
                "In the mailbox, add the forwarding address shown. Gmail: **Settings** → **See all settings** → **Forwarding and POP/IMAP** → **Add a forwarding address**.",
                "The provider mails a confirmation to the forwarding address: it arrives in the inbox as a conversation. Open it and follow its link, or type its code back at the provider.",
                "Turn forwarding on for every incoming message (Gmail: **Forward a copy of incoming mail to** the forwarding address, then **Save Changes**).",
            ])
            .note("Outlook: **Settings** → **Mail** → **Forwarding**. On a company mail server, a forwarding rule or alias for the address does the same.")
    }

    /// The plugin's texts in other languages: `i18n/<language>.json`, a file translators edit.
    fn translations(language: &str) -> Vec<(String, String)> {
        switchboard_sdk::texts_for(language, &[("id", include_str!("../i18n/id.json"))])
    }
}

export_channel!(Email);

/// The largest file attached to a reply: Gmail and Outlook take 25 MB per message, base64
/// makes a file a third larger on the wire, so 18 MB is what reliably arrives.
const MAX_ATTACHMENT_BYTES: usize = 18 << 20;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// What the admin must do: the seed flow's steps.
fn setup(ctx: &ChannelContext, config: &Config, forwarding: &str) -> Vec<SetupItem> {
    let server = format!("{}:{}", config.server.host, config.server.port);
    vec![
        SetupItem::new("forwarding_address", "Forwarding address", forwarding),
        SetupItem::new(
            "forward",
            "Forward your mail",
            format!(
                "In the mailbox of {email}, forward every incoming message to {forwarding}. Gmail: Settings → See all \
                 settings → Forwarding and POP/IMAP → Add a forwarding address. Outlook: Settings → Mail → Forwarding. \
                 A company server: a forwarding rule or alias for {email}. The mail service may first send a \
                 confirmation message to {forwarding}: it normally shows up in the Switchboard inbox, where you can read \
                 the code or follow the link.",
                email = config.email,
            ),
        ),
        SetupItem::new(
            "replies",
            "Replies",
            format!("Agents' replies go out from \"{}\" <{}> through {server}, threaded onto the customer's mail.", config.display_name, config.email),
        ),
        SetupItem::new("relay_url", "Relay URL (for an MTA that posts raw mail instead of forwarding)", relay_url(ctx)),
    ]
}

/// Where an MTA POSTs raw mail: the webhook URL with the channel's secret as the path.
fn relay_url(ctx: &ChannelContext) -> String {
    format!("{}/{}", ctx.webhook_url.trim_end_matches('/'), ctx.webhook_secret)
}

/// Checks the relay path, `<secret>` or `<secret>/mime`; returns whether it is the latter
/// (a Mailgun-style form).
fn relay_path(ctx: &ChannelContext, path: &str) -> Result<bool, ChannelError> {
    let path = path.trim_matches('/');
    let (secret, rest) = path.split_once('/').unwrap_or((path, ""));
    if ctx.webhook_secret.is_empty() || !secure_eq(secret, &ctx.webhook_secret) || !matches!(rest, "" | "mime") {
        return Err(ChannelError::Unauthorized("missing or wrong relay secret in the URL".into()));
    }
    Ok(rest == "mime")
}

/// The raw message of a relay delivery: the body itself (`message/rfc822`), or the
/// `body-mime` field of a form (Mailgun's routes to a URL ending in `mime`).
fn relayed_message(request: &HttpRequest, mime_form: bool) -> Result<Vec<u8>, ChannelError> {
    let content_type = request.header("content-type").unwrap_or("message/rfc822").trim();
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "multipart/form-data" => form_field(content_type, &request.body, "body-mime")
            .ok_or_else(|| ChannelError::BadRequest("the form has no `body-mime` field with the message".into())),
        "message/rfc822" | "application/octet-stream" | "text/plain" | "" => Ok(request.body.clone()),
        _ if mime_form => Err(ChannelError::BadRequest("post the form as multipart/form-data".into())),
        other => Err(ChannelError::BadRequest(format!("send the raw message as message/rfc822, not {other}"))),
    }
}

/// One field of a `multipart/form-data` body (a MIME multipart, read as one).
fn form_field(content_type: &str, body: &[u8], name: &str) -> Option<Vec<u8>> {
    use mail_parser::MimeHeaders;
    let mut whole = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
    whole.extend_from_slice(body);
    let form = mail_parser::MessageParser::default().parse(&whole)?;
    form.parts.iter().skip(1).find_map(|part| {
        let disposition = part.content_disposition()?;
        (disposition.attribute("name") == Some(name)).then(|| part.contents().to_vec())
    })
}

#[cfg(test)]
mod tests;
