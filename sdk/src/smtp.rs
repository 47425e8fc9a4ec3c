//! Email through the host (contract 0.1.2): sending by SMTP to the server the channel's
//! settings name, and the addresses the host receives the channel's mail at.
//!
//! The host connects only to a server whose host is the value of one of the channel's
//! settings, and holds it to the outbound policy (public addresses, or allowed by the
//! operator). Mail the host receives for the channel arrives at `handle_webhook` as a relay
//! delivery: `POST`, path = the webhook secret, `content-type: message/rfc822`, the envelope
//! in `x-envelope-from` / `x-envelope-to` (see `wit/v0.1.3`, interface `smtp`).

use crate::ChannelError;
use crate::bindings::switchboard::channel::smtp;

pub use smtp::{Security, SmtpServer};

/// Connects, secures, logs in and quits: whether the server takes these settings.
/// `Unauthorized`: the login was refused; `Transient`: unreachable; `Provider`: the rest.
pub fn verify(server: &SmtpServer) -> Result<(), ChannelError> {
    smtp::verify(server)
}

/// Sends `message` (a whole RFC 5322 message) to `recipients`, `envelope_from` as `MAIL FROM`.
pub fn send(server: &SmtpServer, envelope_from: &str, recipients: &[String], message: &[u8]) -> Result<(), ChannelError> {
    smtp::send(server, envelope_from, recipients, message)
}

/// `<unguessable id>@<inbound domain>`: where the host receives this channel's mail;
/// `None` when the host has no inbound mail domain.
pub fn forwarding_address() -> Option<String> {
    smtp::forwarding_address()
}

/// `reply+<conversation>@<inbound domain>` when the host receives mail by SMTP itself (mail
/// to it reaches this channel while it has that conversation); `None` otherwise, or when
/// the string has characters other than letters, digits, `-`, `_` and `.`.
pub fn reply_address(conversation: &str) -> Option<String> {
    smtp::reply_address(conversation)
}
