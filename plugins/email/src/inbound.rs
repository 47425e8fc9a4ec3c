//! Mail in: a raw RFC 5322 message (from the host's SMTP listener or an HTTP relay) as what
//! the inbox stores: the sender as the contact, text (HTML-only mail converted), attachments
//! by name, type and size, threading (see [`crate::threading`]). Bounces become a failed
//! status on the message that bounced; auto-replies and our own mail are dropped.

use mail_parser::{Address, Message, MessageParser, MimeHeaders, PartType};
use switchboard_sdk::{
    Attachment, AttachmentKind, ChannelError, ContactProfile, DeliveryState, DeliveryStatus, InboundMessage, StatusTarget,
    hex,
};

use crate::threading;

/// What the plugin knows besides the message.
pub struct Context<'a> {
    pub webhook_secret: &'a str,
    /// The host's inbound domain (of the forwarding address), for `reply+` addresses.
    pub inbound_domain: Option<&'a str>,
    /// The conversation an earlier inbound Message-ID belongs to (the channel's state).
    pub known: &'a dyn Fn(&str) -> Option<String>,
    pub now_ms: u64,
}

/// The SMTP envelope, when the mail came with one.
#[derive(Default)]
pub struct Envelope {
    /// `None`: unknown; `Some("")`: the null sender of bounces and auto-replies.
    pub from: Option<String>,
    pub to: Vec<String>,
}

/// What a message is to the inbox.
pub enum Verdict {
    /// A customer's mail.
    Message(InboundMessage),
    /// A bounce of one of our messages.
    Bounce(DeliveryStatus),
    /// Stored nowhere, for this reason.
    Ignored(&'static str),
}

pub fn read(raw: &[u8], envelope: &Envelope, ctx: &Context<'_>) -> Result<Verdict, ChannelError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ChannelError::BadRequest("the body is empty: POST the raw message (message/rfc822)".into()));
    }
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or_else(|| ChannelError::BadRequest("the body is not an RFC 5322 message".into()))?;

    if message.message_id().is_some_and(|id| threading::key_of_message_id(id).is_some()) {
        return Ok(Verdict::Ignored("one of our own messages came back"));
    }
    if is_bounce(&message, envelope) {
        return Ok(match bounced_status(&message, ctx.now_ms) {
            Some(status) => Verdict::Bounce(status),
            None => Verdict::Ignored("a bounce of no message of ours"),
        });
    }
    if is_automatic(&message) {
        return Ok(Verdict::Ignored("an auto-reply"));
    }

    let sender = sender(&message, envelope)
        .ok_or_else(|| ChannelError::BadRequest("the message has no sender (From)".into()))?;
    let message_id = match message.message_id() {
        Some(id) if !id.trim().is_empty() => id.trim().to_owned(),
        // Without a Message-ID the content is the identity: a redelivery is still stored once.
        _ => format!("sha256-{}@switchboard", &hex::encode(switchboard_sdk::hmac_sha256("message", raw))[..32]),
    };
    let in_reply_to = ids(message.in_reply_to());
    let references = ids(message.references());
    let existing = thread_of(&message, envelope, &in_reply_to, &references, ctx);
    let subject = message.subject().map(one_line).filter(|s| !s.is_empty());
    let conversation_name = match existing {
        Some(_) => None,
        None => subject.clone().or_else(|| Some("(no subject)".into())),
    };
    let conversation = existing.unwrap_or_else(|| threading::new_key(ctx.webhook_secret, &message_id));

    let reply_to_address = message.reply_to().and_then(Address::first).and_then(|a| a.address.as_deref()).map(str::to_owned);
    let mut properties = vec![("message_id".to_owned(), message_id.clone())];
    if !references.is_empty() {
        properties.push(("references".into(), references.join(" ")));
    }
    if let Some(subject) = &subject {
        properties.push(("subject".into(), subject.clone()));
    }
    properties.push(("reply_address".into(), reply_to_address.unwrap_or_else(|| sender.address.clone())));
    if let Some(name) = &sender.name {
        properties.push(("reply_name".into(), name.clone()));
    }

    Ok(Verdict::Message(InboundMessage {
        provider_message_id: message_id,
        conversation,
        conversation_name,
        sender: ContactProfile { id: sender.address.clone(), name: sender.name, handle: Some(sender.address) },
        timestamp_ms: timestamp_ms(&message, ctx.now_ms),
        text: text(&message),
        attachments: attachments(&message),
        reply_to: in_reply_to.into_iter().next(),
        properties,
    }))
}

struct Sender {
    /// Lowercase: the contact's id.
    address: String,
    name: Option<String>,
}

fn sender(message: &Message<'_>, envelope: &Envelope) -> Option<Sender> {
    let from = message.from().and_then(Address::first);
    let address = from
        .and_then(|a| a.address.as_deref())
        .or(envelope.from.as_deref())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'))?;
    let name = from.and_then(|a| a.name.as_deref()).map(one_line).filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&address));
    Some(Sender { address, name })
}

/// The conversation this mail answers: a `reply+` recipient, else the newest message it
/// names (In-Reply-To, then References from the end) that is ours or known.
fn thread_of(
    message: &Message<'_>,
    envelope: &Envelope,
    in_reply_to: &[String],
    references: &[String],
    ctx: &Context<'_>,
) -> Option<String> {
    if let Some(domain) = ctx.inbound_domain {
        let headers = ["Delivered-To", "X-Original-To"].into_iter().flat_map(|name| message.header_values(name)).filter_map(|v| v.as_text());
        let listed = [message.to(), message.cc()].into_iter().flatten().flat_map(Address::iter).filter_map(|a| a.address.as_deref());
        let found = envelope.to.iter().map(String::as_str).chain(headers).chain(listed).find_map(|a| threading::key_of_reply_address(a, domain));
        if found.is_some() {
            return found;
        }
    }
    in_reply_to
        .iter()
        .chain(references.iter().rev())
        .find_map(|id| threading::key_of_message_id(id).or_else(|| (ctx.known)(id)))
}

/// Message-IDs of In-Reply-To or References, without angle brackets.
fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        mail_parser::HeaderValue::Text(id) => vec![id.as_ref()],
        mail_parser::HeaderValue::TextList(ids) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter().map(|id| id.trim().trim_matches(['<', '>']).to_owned()).filter(|id| !id.is_empty()).collect()
}

/// Auto-replies and bulk mail (RFC 3834 `Auto-Submitted`, `Precedence`, the common
/// vendor headers): they never start a conversation and are not stored.
fn is_automatic(message: &Message<'_>) -> bool {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let auto_submitted = header("Auto-Submitted").is_some_and(|v| !v.is_empty() && !v.starts_with("no"));
    let bulk = header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"));
    let vendor = header("X-Autoreply").is_some() || header("X-Autorespond").is_some() || header("X-Auto-Response-Suppress").is_some_and(|v| v.contains("all"));
    auto_submitted || bulk || vendor
}

/// Delivery status notifications (RFC 3464) and what mailer daemons send.
fn is_bounce(message: &Message<'_>, envelope: &Envelope) -> bool {
    let report = message
        .content_type()
        .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report")));
    let daemon = message
        .from()
        .and_then(Address::first)
        .and_then(|a| a.address.as_deref())
        .and_then(|a| a.split('@').next())
        .is_some_and(|local| local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster"));
    let null_sender = envelope.from.as_deref().is_some_and(|from| from.trim().trim_matches(['<', '>']).is_empty());
    report || daemon || (null_sender && !message.header_raw("Auto-Submitted").is_some_and(|v| v.trim().starts_with("auto-replied")))
}

/// For a bounce of one of our messages, that message's failed status: the original's
/// Message-ID from the returned headers (or the bounce's own references), the reason from
/// the delivery-status report.
fn bounced_status(message: &Message<'_>, now_ms: u64) -> Option<DeliveryStatus> {
    let mut candidates = Vec::new();
    let mut status_code = None;
    let mut diagnostic = None;
    let mut delayed_only = false;
    for part in message.parts.iter() {
        let Some(content_type) = part.content_type() else { continue };
        let kind = format!("{}/{}", content_type.ctype(), content_type.subtype().unwrap_or_default()).to_ascii_lowercase();
        match (&part.body, kind.as_str()) {
            (PartType::Message(returned), _) => candidates.extend(returned.message_id().map(str::to_owned)),
            (_, "text/rfc822-headers" | "message/rfc822-headers") => {
                let headers = MessageParser::default().parse_headers(part.contents());
                candidates.extend(headers.as_ref().and_then(|h| h.message_id()).map(str::to_owned));
            }
            (_, "message/delivery-status" | "message/global-delivery-status") => {
                let report = String::from_utf8_lossy(part.contents()).into_owned();
                for line in report.lines() {
                    let Some((name, value)) = line.split_once(':') else { continue };
                    let value = value.trim();
                    match name.trim().to_ascii_lowercase().as_str() {
                        "status" => status_code = Some(value.to_owned()),
                        "diagnostic-code" => diagnostic = Some(value.trim_start_matches("smtp;").trim().to_owned()),
                        "action" => delayed_only = !value.eq_ignore_ascii_case("failed"),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if delayed_only {
        return None; // "delayed", "relayed", "delivered": not a failure
    }
    candidates.extend(ids(message.in_reply_to()));
    candidates.extend(ids(message.references()));
    let ours = candidates.into_iter().map(|id| id.trim().trim_matches(['<', '>']).to_owned()).find(|id| threading::key_of_message_id(id).is_some())?;
    let reason = diagnostic.or_else(|| message.subject().map(one_line)).unwrap_or_else(|| "the message bounced".into());
    Some(DeliveryStatus {
        target: StatusTarget::Message(ours),
        state: DeliveryState::Failed,
        timestamp_ms: timestamp_ms(message, now_ms),
        error_code: status_code,
        error_message: Some(reason),
    })
}

/// The text: the first text part, else the HTML converted to text; trailing space trimmed.
fn text(message: &Message<'_>) -> Option<String> {
    let text = message.body_text(0)?;
    let text = text.trim_end();
    let text = text.trim_start_matches(['\r', '\n']);
    (!text.is_empty()).then(|| text.replace("\r\n", "\n"))
}

/// Every attachment by kind, type, name and size, its content kept by the host as the
/// message's file (`files::keep`; natively, in unit tests, metadata only).
fn attachments(message: &Message<'_>) -> Vec<Attachment> {
    message
        .attachments()
        .map(|part| {
            let (ctype, subtype) = part
                .content_type()
                .map(|ct| (ct.ctype().to_ascii_lowercase(), ct.subtype().unwrap_or("octet-stream").to_ascii_lowercase()))
                .unwrap_or_else(|| ("application".into(), "octet-stream".into()));
            let kind = match ctype.as_str() {
                "image" => AttachmentKind::Image,
                "video" => AttachmentKind::Video,
                "audio" => AttachmentKind::Audio,
                _ => AttachmentKind::Document,
            };
            let description = match &part.body {
                PartType::Message(attached) => attached.subject().map(|s| format!("attached message: {}", one_line(s))),
                _ => part.content_description().map(one_line),
            };
            let mime_type = format!("{ctype}/{subtype}");
            let filename = part.attachment_name().map(one_line);
            let kept = switchboard_sdk::files::keep(part.contents(), Some(&mime_type), filename.as_deref())
                .inspect_err(|reason| switchboard_sdk::log::warn(format!("an attachment was not kept: {reason}")))
                .ok();
            Attachment {
                provider_media_id: kept,
                mime_type: Some(mime_type),
                filename,
                size: Some(part.len() as u64),
                description,
                ..Attachment::new(kind)
            }
        })
        .collect()
}

/// The Date header in ms; the time of arrival when it is missing or more than a day ahead.
fn timestamp_ms(message: &Message<'_>, now_ms: u64) -> u64 {
    const DAY_MS: u64 = 24 * 3600 * 1000;
    match message.date().map(|d| d.to_timestamp()) {
        Some(seconds) if seconds > 0 && (seconds as u64) * 1000 <= now_ms + DAY_MS => seconds as u64 * 1000,
        _ => now_ms,
    }
}

/// Header text on one line, runs of white space as one space (folded or encoded text may
/// carry line breaks).
pub fn one_line(text: &str) -> String {
    let spaced: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}
