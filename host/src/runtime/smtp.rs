//! The `smtp` import (contract 0.1.2): mail out with lettre (tokio, rustls) to the server the
//! channel's own settings name, and the addresses the host receives the channel's mail at.
//!
//! Which servers: the plugin passes the server, but its host must be the value of one of the
//! channel's settings (the admin typed it), so a plugin cannot reach a host of its choosing.
//! Such a host is then treated like a host a plugin declares: it must resolve to public
//! addresses only (the connection goes to the address that was checked, TLS still verifies
//! the name), unless the operator allowed it with `--allow-outbound`, which is how a company
//! server on the LAN, a local relay or a test server is reached.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};

use super::CallState;
use super::bindings::smtp::{Host, Security, SmtpServer};
use super::outbound::{HostPattern, is_internal};
use super::types::{ChannelContext, ChannelError};

/// The interface's name without version: a plugin importing it receives mail.
pub(super) const INTERFACE: &str = "switchboard:channel/smtp";

/// The longest one SMTP read or write may wait.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Left to the plugin after an SMTP exchange ends for lack of time, to answer with a typed
/// error before the host stops the call.
const ANSWER_MARGIN: Duration = Duration::from_millis(300);

/// How the host receives mail.
#[derive(Debug, Clone, Default)]
pub struct MailConfig {
    /// Forwarding addresses are `<id>@<inbound_domain>`; `None`: the host gives none out.
    pub inbound_domain: Option<String>,
    /// The host runs an SMTP listener, so `reply+<conversation>@<inbound domain>` reaches it.
    pub smtp_listener: bool,
}

impl MailConfig {
    /// The channel's forwarding address, when the host has an inbound domain.
    pub fn forwarding_address(&self, webhook_secret: &str) -> Option<String> {
        let domain = self.inbound_domain.as_deref()?;
        Some(format!("{}@{domain}", forwarding_id(webhook_secret)))
    }

    /// `reply+<conversation>@<inbound domain>`, when the host's listener receives it.
    pub fn reply_address(&self, conversation: &str) -> Option<String> {
        let domain = self.inbound_domain.as_deref().filter(|_| self.smtp_listener)?;
        is_reply_token(conversation).then(|| format!("{REPLY_PREFIX}{conversation}@{domain}"))
    }

    /// The name the host gives in EHLO.
    fn hello_name(&self) -> String {
        self.inbound_domain.clone().unwrap_or_else(|| "localhost".into())
    }
}

/// Local parts starting with this name a conversation: `reply+<conversation>`.
pub const REPLY_PREFIX: &str = "reply+";

/// Whether a conversation string can stand in a `reply+` address (and be found again).
pub fn is_reply_token(conversation: &str) -> bool {
    !conversation.is_empty()
        && conversation.len() <= 64
        && conversation.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The unguessable local part of a channel's forwarding address: derived from the channel's
/// webhook secret, so it is fixed for the channel's life with nothing to store, and it gives
/// nothing of the secret away. 24 hex digits (96 bits).
pub fn forwarding_id(webhook_secret: &str) -> String {
    let digest = Sha256::new().chain_update(b"switchboard forwarding address\0").chain_update(webhook_secret).finalize();
    hex::encode(&digest[..12])
}

/// What an import acting for a channel needs to know about it.
pub(super) struct CallChannel {
    settings: Vec<(String, String)>,
    webhook_secret: String,
}

impl CallChannel {
    pub(super) fn of(ctx: &ChannelContext) -> Self {
        Self { settings: ctx.settings.clone(), webhook_secret: ctx.webhook_secret.clone() }
    }

    /// Whether the admin entered `host` as one of the channel's settings.
    fn configured(&self, host: &str) -> bool {
        self.settings.iter().any(|(_, value)| value.trim().eq_ignore_ascii_case(host))
    }
}

impl Host for CallState {
    async fn verify(&mut self, server: SmtpServer) -> Result<(), ChannelError> {
        let call = self.smtp_call(server)?;
        let outcome = call
            .within_deadline(async {
                match call.transport().await?.test_connection().await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(ChannelError::Transient(format!("the SMTP server {} stopped answering", call.at))),
                    Err(error) => Err(classify(&call.at, &error)),
                }
            })
            .await;
        tracing::info!(plugin = %self.plugin_id, channel = self.channel_id.as_deref().unwrap_or("-"), server = %call.at, ok = outcome.is_ok(), "SMTP login checked");
        outcome
    }

    async fn send(
        &mut self,
        server: SmtpServer,
        envelope_from: String,
        recipients: Vec<String>,
        message: Vec<u8>,
    ) -> Result<(), ChannelError> {
        let sender = match envelope_from.trim() {
            "" => None,
            from => Some(parse_address(from)?),
        };
        let recipients = recipients.iter().map(|r| parse_address(r.trim())).collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(sender, recipients)
            .map_err(|e| ChannelError::Provider(format!("the message has no recipient: {e}")))?;
        let call = self.smtp_call(server)?;
        let outcome = call
            .within_deadline(async {
                call.transport().await?.send_raw(&envelope, &message).await.map_err(|error| classify(&call.at, &error))?;
                Ok(())
            })
            .await;
        let channel = self.channel_id.as_deref().unwrap_or("-");
        match &outcome {
            Ok(()) => tracing::info!(plugin = %self.plugin_id, channel, server = %call.at, bytes = message.len(), "mail sent"),
            Err(error) => tracing::info!(plugin = %self.plugin_id, channel, server = %call.at, "mail not sent: {error:?}"),
        }
        outcome
    }

    fn forwarding_address(&mut self) -> Option<String> {
        self.mail.forwarding_address(&self.channel.as_ref()?.webhook_secret)
    }

    fn reply_address(&mut self, conversation: String) -> Option<String> {
        self.channel.as_ref()?;
        self.mail.reply_address(&conversation)
    }
}

impl CallState {
    /// Checks that the channel's admin configured this server and takes what the exchange
    /// needs, so waiting on the network holds no borrow of the store.
    fn smtp_call(&self, server: SmtpServer) -> Result<SmtpCall, ChannelError> {
        let channel = self
            .channel
            .as_ref()
            .ok_or_else(|| ChannelError::Unsupported("SMTP is only available in a call about a channel".into()))?;
        let host = server.host.trim();
        if host.is_empty() || !channel.configured(host) {
            return Err(ChannelError::Provider(format!(
                "SMTP host `{host}` is not one of the channel's settings: a plugin sends mail only through the server its admin configured"
            )));
        }
        Ok(SmtpCall {
            at: format!("{host}:{}", server.port),
            host: host.to_owned(),
            server,
            operator_allowed: self.outbound.operator_allowed.clone(),
            hello_name: self.mail.hello_name(),
            deadline: self.deadline,
        })
    }
}

/// One SMTP exchange with a server the channel's admin configured.
struct SmtpCall {
    /// `host:port`, for messages.
    at: String,
    host: String,
    server: SmtpServer,
    operator_allowed: Arc<Vec<HostPattern>>,
    hello_name: String,
    /// The plugin call's deadline.
    deadline: Instant,
}

impl SmtpCall {
    /// Runs the exchange in the time left to the call, less a margin for the plugin to answer.
    async fn within_deadline<T>(&self, exchange: impl Future<Output = Result<T, ChannelError>>) -> Result<T, ChannelError> {
        let left = self.deadline.saturating_duration_since(Instant::now()).saturating_sub(ANSWER_MARGIN);
        match tokio::time::timeout(left, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ChannelError::Transient(format!("the SMTP server {} did not answer in time", self.at))),
        }
    }

    /// A one-connection client, connecting to the checked address.
    async fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, ChannelError> {
        let host = self.host.as_str();
        let address = self.checked_address().await?;
        let tls = |name: &str| {
            TlsParameters::new(name.to_owned()).map_err(|e| ChannelError::Provider(format!("cannot set up TLS for {host}: {e}")))
        };
        let tls_name = host.trim_matches(['[', ']']);
        let tls = match self.server.security {
            Security::None => Tls::None,
            Security::Starttls => Tls::Required(tls(tls_name)?),
            Security::Tls => Tls::Wrapper(tls(tls_name)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address)
            .port(self.server.port)
            .timeout(Some(IO_TIMEOUT))
            .hello_name(ClientId::Domain(self.hello_name.clone()))
            .tls(tls);
        if let (Some(username), Some(password)) = (&self.server.username, &self.server.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        Ok(builder.build())
    }

    /// Where to connect: the host as given when the operator allowed it; otherwise the
    /// address it resolves to, provided every address it has is public.
    async fn checked_address(&self) -> Result<String, ChannelError> {
        let (host, port) = (self.host.as_str(), self.server.port);
        if self.operator_allowed.iter().any(|pattern| pattern.matches(host, port)) {
            return Ok(host.to_owned());
        }
        let addresses: Vec<_> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|e| ChannelError::Transient(format!("cannot resolve the SMTP host {host}: {e}")))?
            .collect();
        if let Some(inside) = addresses.iter().find(|a| is_internal(a.ip())) {
            return Err(ChannelError::Provider(format!(
                "the SMTP host {host} is on a private or loopback address ({}); the operator must allow it (--allow-outbound {host})",
                inside.ip()
            )));
        }
        let first = addresses.first().ok_or_else(|| ChannelError::Transient(format!("the SMTP host {host} has no address")))?;
        Ok(first.ip().to_string())
    }
}

fn parse_address(text: &str) -> Result<Address, ChannelError> {
    text.parse().map_err(|e| ChannelError::Provider(format!("`{text}` is not an email address: {e}")))
}

/// An SMTP failure as the contract's error: a refused login is `unauthorized`, other
/// permanent (5xx) refusals and TLS failures are `provider`, the rest passes (`transient`).
fn classify(at: &str, error: &lettre::transport::smtp::Error) -> ChannelError {
    let detail = error.source().map(|s| s.to_string()).unwrap_or_default();
    if let Some(code) = error.status() {
        let code = u16::from(code);
        let answer = format!("{code} {detail}").trim().to_owned();
        return match code {
            // 530 authentication required, 534 mechanism too weak, 535 credentials invalid,
            // 538 encryption required for the mechanism
            530 | 534 | 535 | 538 => ChannelError::Unauthorized(format!("the SMTP server {at} refused the login: {answer}")),
            500..=599 => ChannelError::Provider(format!("the SMTP server {at} refused: {answer}")),
            _ => ChannelError::Transient(format!("the SMTP server {at} answered: {answer}")),
        };
    }
    if error.is_tls() {
        return ChannelError::Provider(format!("TLS with the SMTP server {at} failed: {detail}"));
    }
    if error.is_client() {
        // e.g. STARTTLS required but not offered, no login mechanism in common
        return ChannelError::Provider(format!("the SMTP server {at} cannot be used: {detail}"));
    }
    if error.is_timeout() {
        return ChannelError::Transient(format!("the SMTP server {at} did not answer in time"));
    }
    ChannelError::Transient(format!("could not talk to the SMTP server {at}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_ids_are_fixed_per_secret_and_unrelated_across_secrets() {
        let a = forwarding_id("Xk2pQ9v0aBcDeFgHiJkLmNoPqRsTuVwX");
        assert_eq!(a, forwarding_id("Xk2pQ9v0aBcDeFgHiJkLmNoPqRsTuVwX"));
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(a, forwarding_id("Xk2pQ9v0aBcDeFgHiJkLmNoPqRsTuVwY"));
    }

    #[test]
    fn addresses_need_an_inbound_domain_and_reply_addresses_a_listener() {
        let none = MailConfig::default();
        assert_eq!(none.forwarding_address("s"), None);
        let relay_only = MailConfig { inbound_domain: Some("in.example.com".into()), smtp_listener: false };
        assert!(relay_only.forwarding_address("s").unwrap().ends_with("@in.example.com"));
        assert_eq!(relay_only.reply_address("c1"), None);
        let listening = MailConfig { smtp_listener: true, ..relay_only };
        assert_eq!(listening.reply_address("k3j-9.x_1").as_deref(), Some("reply+k3j-9.x_1@in.example.com"));
        for bad in ["", "a b", "a@b", "a+b", "<x>", &"x".repeat(65)] {
            assert_eq!(listening.reply_address(bad), None, "{bad:?}");
        }
    }
}
