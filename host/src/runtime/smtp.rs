//! The `smtp` import (contract 0.1.2): mail out with lettre (tokio, rustls) to the server the
//! channel's own settings name, and the addresses the host receives the channel's mail at
//! (which the host's `mail` module decides, behind [`MailAddressing`]).
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
use wasmtime::component::{HasSelf, Linker};

use super::bindings::smtp::{self, ChannelError, Host, Security, SmtpServer};
use super::capability::CallSetup;
use super::doubles::{DoubleMail, ImportDoubles};
use super::outbound::{HostPattern, Resolver, check_global};
use super::types::ChannelContext;

/// The interface's name without version: a plugin importing it receives mail.
pub(super) const INTERFACE: &str = "switchboard:channel/smtp";

/// The longest one SMTP read or write may wait.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Left to the plugin after an SMTP exchange ends for lack of time, to answer with a typed
/// error before the host stops the call.
const ANSWER_MARGIN: Duration = Duration::from_millis(300);

/// Where the host receives a channel's mail. The host's `mail` module owns the addressing
/// scheme; the runtime only hands its answers to the plugin.
pub trait MailAddressing: Send + Sync {
    /// The channel's forwarding address, if the host gives one out.
    fn forwarding_address(&self, channel: &ChannelContext) -> Option<String>;
    /// The address replies in `conversation` reach the host at, if it receives them.
    fn reply_address(&self, conversation: &str) -> Option<String>;
    /// The name the host gives in EHLO.
    fn hello_name(&self) -> String;
}

/// A host that receives no mail.
pub struct NoMail;

impl MailAddressing for NoMail {
    fn forwarding_address(&self, _channel: &ChannelContext) -> Option<String> {
        None
    }
    fn reply_address(&self, _conversation: &str) -> Option<String> {
        None
    }
    fn hello_name(&self) -> String {
        "localhost".into()
    }
}

/// The channel an SMTP call acts for: its settings (which name the servers it may use) and
/// its webhook secret (from which its forwarding address derives).
struct CallChannel {
    context: ChannelContext,
}

impl CallChannel {
    /// Whether the admin entered `host` as one of the channel's settings.
    fn configured(&self, host: &str) -> bool {
        self.context.settings.iter().any(|(_, value)| value.trim().eq_ignore_ascii_case(host))
    }
}

/// What the `smtp` import needs from the whole host: where mail is received, and the hosts
/// the operator trusts.
#[derive(Clone)]
pub(super) struct SmtpConfig {
    pub(super) addressing: Arc<dyn MailAddressing>,
    pub(super) operator_allowed: Arc<Vec<HostPattern>>,
    /// Looks the SMTP host up once; the connection goes to the address that passed.
    pub(super) resolver: Arc<dyn Resolver>,
    /// Takes the mail instead of a server (the test kit).
    pub(super) doubles: Option<Arc<dyn ImportDoubles>>,
}

/// One call's view of SMTP.
pub(super) struct SmtpCtx {
    plugin_id: String,
    channel: Option<CallChannel>,
    config: SmtpConfig,
    /// When the call's time is up (an exchange ends before it).
    deadline: Instant,
}

impl SmtpCtx {
    pub(super) fn for_call(setup: &CallSetup, config: SmtpConfig) -> Self {
        Self {
            plugin_id: setup.plugin_id.to_owned(),
            channel: setup.channel.map(|context| CallChannel { context: context.clone() }),
            config,
            deadline: setup.deadline,
        }
    }

    fn channel_id(&self) -> &str {
        self.channel.as_ref().map_or("-", |c| c.context.channel_id.as_str())
    }

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
            operator_allowed: self.config.operator_allowed.clone(),
            resolver: self.config.resolver.clone(),
            hello_name: self.config.addressing.hello_name(),
            deadline: self.deadline,
        })
    }
}

/// Links the import for a store whose data holds a [`SmtpCtx`] (`get` finds it).
pub(super) fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut SmtpCtx) -> wasmtime::Result<()> {
    smtp::add_to_linker::<T, HasSelf<SmtpCtx>>(linker, get)
}

impl Host for SmtpCtx {
    async fn verify(&mut self, server: SmtpServer) -> Result<(), ChannelError> {
        let call = self.smtp_call(server)?;
        if self.config.doubles.is_some() {
            return Ok(());
        }
        let outcome = call
            .within_deadline(async {
                match call.transport().await?.test_connection().await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(ChannelError::Transient(format!("the SMTP server {} stopped answering", call.at))),
                    Err(error) => Err(classify(&call.at, &error)),
                }
            })
            .await;
        tracing::info!(plugin = %self.plugin_id, channel = self.channel_id(), server = %call.at, ok = outcome.is_ok(), "SMTP login checked");
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
        if let Some(doubles) = &self.config.doubles {
            let mail = DoubleMail { server: call.at.clone(), envelope_from, recipients: envelope.to().iter().map(ToString::to_string).collect(), message };
            return doubles.smtp(mail).map_err(|reason| ChannelError::Provider(format!("the SMTP server {} refused the message: {reason}", call.at)));
        }
        let outcome = call
            .within_deadline(async {
                call.transport().await?.send_raw(&envelope, &message).await.map_err(|error| classify(&call.at, &error))?;
                Ok(())
            })
            .await;
        let channel = self.channel_id();
        match &outcome {
            Ok(()) => tracing::info!(plugin = %self.plugin_id, channel, server = %call.at, bytes = message.len(), "mail sent"),
            Err(error) => tracing::info!(plugin = %self.plugin_id, channel, server = %call.at, "mail not sent: {error:?}"),
        }
        outcome
    }

    fn forwarding_address(&mut self) -> Option<String> {
        self.config.addressing.forwarding_address(&self.channel.as_ref()?.context)
    }

    fn reply_address(&mut self, conversation: String) -> Option<String> {
        self.channel.as_ref()?;
        self.config.addressing.reply_address(&conversation)
    }
}

/// One SMTP exchange with a server the channel's admin configured.
struct SmtpCall {
    /// `host:port`, for messages.
    at: String,
    host: String,
    server: SmtpServer,
    operator_allowed: Arc<Vec<HostPattern>>,
    resolver: Arc<dyn Resolver>,
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
        let bare = host.trim_matches(['[', ']']);
        let addresses = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
            Err(_) => self
                .resolver
                .lookup(bare, port)
                .await
                .map_err(|e| ChannelError::Transient(format!("cannot resolve the SMTP host {host}: {e}")))?,
        };
        if let Some(refusal) = addresses.iter().find_map(|a| check_global(a.ip()).err()) {
            return Err(ChannelError::Provider(format!(
                "the SMTP host {host} is not on a public address ({refusal}); the operator must allow it (--allow-outbound {host})"
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
