//! The SMTP listener (`serve --smtp-listen ADDR`): receives mail for the channels' forwarding
//! and reply addresses, the way a mailbox's forwarding or an MX delivers it.
//!
//! A small ESMTP receiver on tokio over Stalwart's `smtp-proto` (command parsing, dot-unstuffed
//! DATA): EHLO/HELO, MAIL (with SIZE), RCPT, DATA, RSET, NOOP, VRFY, QUIT. A recipient that is
//! not a known address is refused at RCPT (550), a message over the size limit at MAIL (when
//! it says its SIZE) or after DATA (552). After DATA the message goes to each recipient
//! channel's plugin; the answer waits for it, so "250" means stored. No AUTH (the listener
//! only takes mail for its own addresses, like any MX) and no STARTTLS (put a TLS-terminating
//! MTA in front where mail must be encrypted in transit).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver, RequestReceiver};
use smtp_proto::{EXT_8BIT_MIME, EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8, EhloResponse, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::Refusal;
use crate::app::App;
use crate::store::Scope;

/// Sessions served at once; more wait for a slot.
const MAX_SESSIONS: usize = 64;
/// How long a client may stay silent (RFC 5321 suggests at least 5 minutes).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Recipients in one transaction.
const MAX_RECIPIENTS: usize = 100;
/// Protocol errors before the session is closed.
const MAX_ERRORS: u32 = 10;

/// Accepts SMTP sessions until `stop` turns true.
pub async fn run(app: Arc<App>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_SESSIONS));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(connection) => connection,
            Err(e) => {
                tracing::warn!("SMTP accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(e) = Session::new(&app, peer).serve(stream).await {
                tracing::debug!(%peer, "SMTP session ended: {e}");
            }
            drop(slot);
        });
    }
}

/// One message being collected.
#[derive(Default)]
struct Transaction {
    /// `MAIL FROM`; empty for a bounce.
    from: String,
    /// Accepted recipients by channel id.
    recipients: BTreeMap<String, Vec<String>>,
}

struct Session<'a> {
    app: &'a App,
    peer: SocketAddr,
    domain: String,
    max_bytes: usize,
    greeted: bool,
    transaction: Option<Transaction>,
    errors: u32,
}

/// What the command loop does next.
enum Next {
    Continue,
    Data,
    Close,
}

impl<'a> Session<'a> {
    fn new(app: &'a App, peer: SocketAddr) -> Self {
        let domain = app.inbound_domain.clone().unwrap_or_else(|| "localhost".into());
        Self { app, peer, domain, max_bytes: app.max_mail_bytes, greeted: false, transaction: None, errors: 0 }
    }

    async fn serve(mut self, mut stream: TcpStream) -> std::io::Result<()> {
        write_reply(&mut stream, 220, "", &format!("{} Switchboard ESMTP ready", self.domain)).await?;
        let mut requests = RequestReceiver::default();
        let mut buffer = vec![0u8; 16 * 1024];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            // Commands: everything already read first (pipelining), then more from the client.
            let mut bytes = pending.iter();
            let mut replies = Vec::new();
            let mut next = Next::Continue;
            let mut rest: &[u8] = &[];
            while bytes.len() > 0 && matches!(next, Next::Continue) {
                match requests.ingest(&mut bytes) {
                    Ok(request) => next = self.command(request.into_owned(), &mut replies).await,
                    // The receiver keeps a partial line itself.
                    Err(smtp_proto::Error::NeedsMoreData { .. }) => break,
                    Err(error) => next = self.protocol_error(&error, &mut replies),
                }
                rest = bytes.as_slice();
            }
            // Bytes after a command that switches state (DATA's message, or nothing after QUIT).
            pending = if matches!(next, Next::Continue) { Vec::new() } else { rest.to_vec() };
            stream.write_all(&replies).await?;
            match next {
                Next::Close => return stream.shutdown().await,
                Next::Data => {
                    let rest = std::mem::take(&mut pending);
                    let (reply, left) = self.data(&mut stream, rest, &mut buffer).await?;
                    stream.write_all(reply.as_bytes()).await?;
                    pending = left;
                    continue;
                }
                Next::Continue => {}
            }
            let read = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut buffer)).await;
            match read {
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(n)) => pending.extend_from_slice(&buffer[..n]),
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    write_reply(&mut stream, 421, "4.4.2", "idle for too long, closing").await?;
                    return Ok(());
                }
            }
        }
    }

    async fn command(&mut self, request: Request<String>, out: &mut Vec<u8>) -> Next {
        match request {
            Request::Ehlo { host } => {
                self.greeted = true;
                self.transaction = None;
                tracing::debug!(peer = %self.peer, %host, "EHLO");
                let mut ehlo = EhloResponse::new(self.domain.as_str());
                ehlo.capabilities = EXT_SIZE | EXT_8BIT_MIME | EXT_PIPELINING | EXT_ENHANCED_STATUS_CODES | EXT_SMTP_UTF8;
                ehlo.size = self.max_bytes;
                let _ = ehlo.write(&mut *out);
            }
            Request::Helo { .. } | Request::Lhlo { .. } => {
                self.greeted = true;
                self.transaction = None;
                reply(out, 250, "", &self.domain);
            }
            Request::Mail { from } => {
                if !self.greeted {
                    return self.refuse(out, 503, "5.5.1", "say EHLO first");
                }
                if self.transaction.is_some() {
                    return self.refuse(out, 503, "5.5.1", "a message is already started (RSET to start over)");
                }
                if from.size > self.max_bytes {
                    reply(out, 552, "5.3.4", &format!("messages are limited to {} bytes", self.max_bytes));
                    return Next::Continue;
                }
                self.transaction = Some(Transaction { from: from.address, ..Default::default() });
                reply(out, 250, "2.1.0", "sender ok");
            }
            Request::Rcpt { to } => {
                let Some(transaction) = &mut self.transaction else {
                    return self.refuse(out, 503, "5.5.1", "MAIL first");
                };
                if transaction.recipients.values().map(Vec::len).sum::<usize>() >= MAX_RECIPIENTS {
                    reply(out, 452, "4.5.3", "too many recipients");
                    return Next::Continue;
                }
                match super::channel_for(self.app, &to.address).await {
                    Some(channel) => {
                        transaction.recipients.entry(channel.id).or_default().push(to.address);
                        reply(out, 250, "2.1.5", "recipient ok");
                    }
                    None => {
                        tracing::info!(peer = %self.peer, recipient = %to.address, "SMTP recipient refused: not a known address");
                        reply(out, 550, "5.1.1", "no such mailbox here");
                    }
                }
            }
            Request::Data => match &self.transaction {
                Some(transaction) if !transaction.recipients.is_empty() => {
                    reply(out, 354, "", "send the message, end with <CRLF>.<CRLF>");
                    return Next::Data;
                }
                Some(_) => return self.refuse(out, 554, "5.5.1", "no valid recipients"),
                None => return self.refuse(out, 503, "5.5.1", "MAIL first"),
            },
            Request::Rset => {
                self.transaction = None;
                reply(out, 250, "2.0.0", "reset");
            }
            Request::Noop { .. } => reply(out, 250, "2.0.0", "ok"),
            Request::Vrfy { .. } => reply(out, 252, "2.5.2", "cannot verify the user, but will take the message"),
            Request::Quit => {
                reply(out, 221, "2.0.0", "bye");
                return Next::Close;
            }
            other => return self.refuse(out, 502, "5.5.1", &format!("{} is not implemented here", other.name())),
        }
        Next::Continue
    }

    fn protocol_error(&mut self, error: &smtp_proto::Error, out: &mut Vec<u8>) -> Next {
        use smtp_proto::Error as E;
        match error {
            E::UnknownCommand => self.refuse(out, 500, "5.5.1", "unknown command"),
            E::InvalidSenderAddress => self.refuse(out, 501, "5.1.7", "bad sender address"),
            E::InvalidRecipientAddress => self.refuse(out, 501, "5.1.3", "bad recipient address"),
            E::SyntaxError { syntax } => self.refuse(out, 501, "5.5.4", &format!("syntax: {syntax}")),
            E::InvalidParameter { param } => self.refuse(out, 501, "5.5.4", &format!("invalid parameter {param}")),
            E::UnsupportedParameter { param } => self.refuse(out, 555, "5.5.4", &format!("unsupported parameter {param}")),
            E::ResponseTooLong => self.refuse(out, 500, "5.5.2", "line too long"),
            E::NeedsMoreData { .. } | E::InvalidResponse { .. } => self.refuse(out, 500, "5.5.2", "syntax error"),
        }
    }

    /// A refusal that counts towards closing a misbehaving session.
    fn refuse(&mut self, out: &mut Vec<u8>, code: u16, status: &str, text: &str) -> Next {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            reply(out, 421, "4.7.0", "too many errors, closing");
            return Next::Close;
        }
        reply(out, code, status, text);
        Next::Continue
    }

    /// Reads the message after `354`, delivers it and returns the reply, with any bytes the
    /// client sent after the message's end.
    async fn data(&mut self, stream: &mut TcpStream, mut pending: Vec<u8>, buffer: &mut [u8]) -> std::io::Result<(String, Vec<u8>)> {
        let transaction = self.transaction.take().unwrap_or_default();
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        let mut discard: Option<DummyDataReceiver> = None;
        loop {
            let mut bytes = pending.iter();
            let done = match &mut discard {
                Some(discarding) => discarding.ingest(&mut bytes),
                None => {
                    let done = receiver.ingest(&mut bytes, &mut message);
                    if !done && message.len() > self.max_bytes {
                        discard = Some(DummyDataReceiver::new_data(&receiver));
                        message = Vec::new();
                    }
                    done
                }
            };
            let rest = bytes.as_slice().to_vec();
            if done {
                let reply = match discard {
                    Some(_) => format_reply(552, "5.3.4", &format!("messages are limited to {} bytes", self.max_bytes)),
                    None if message.len() > self.max_bytes => {
                        format_reply(552, "5.3.4", &format!("messages are limited to {} bytes", self.max_bytes))
                    }
                    None => self.deliver(&transaction, &message).await,
                };
                return Ok((reply, rest));
            }
            pending = rest;
            match tokio::time::timeout(IDLE_TIMEOUT, stream.read(buffer)).await {
                Ok(Ok(0)) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(Ok(n)) => pending.extend_from_slice(&buffer[..n]),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
            }
        }
    }

    /// Hands the message to every recipient channel: 250 once each took it (a channel that
    /// refused for good is logged), 451 when one failed for now (the sender retries; the
    /// channels that took it drop the copy by its Message-ID), 554 when all refused.
    async fn deliver(&self, transaction: &Transaction, message: &[u8]) -> String {
        let mut taken = 0;
        let mut temporary = None;
        let mut permanent = None;
        for (channel_id, recipients) in &transaction.recipients {
            let channel = match self.app.store.channel(channel_id, Scope::Every).await {
                Ok(Some(channel)) => channel,
                Ok(None) => continue, // deleted meanwhile
                Err(e) => {
                    temporary = Some(format!("storage: {e}"));
                    continue;
                }
            };
            match super::deliver(self.app, &channel, &transaction.from, recipients, message).await {
                Ok(_) => taken += 1,
                Err(Refusal::Temporary(reason)) => {
                    tracing::warn!(channel = %channel_id, peer = %self.peer, %reason, "mail deferred");
                    temporary = Some(reason);
                }
                Err(Refusal::Permanent(reason)) => {
                    tracing::warn!(channel = %channel_id, peer = %self.peer, %reason, "mail refused");
                    permanent = Some(reason);
                }
            }
        }
        match (temporary, permanent) {
            (Some(reason), _) => format_reply(451, "4.3.0", &format!("try again later: {}", one_line(&reason))),
            (None, Some(reason)) if taken == 0 => format_reply(554, "5.6.0", &format!("message refused: {}", one_line(&reason))),
            _ => format_reply(250, "2.0.0", "message accepted"),
        }
    }
}

fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(400).collect()
}

fn format_reply(code: u16, status: &str, text: &str) -> String {
    if status.is_empty() { format!("{code} {text}\r\n") } else { format!("{code} {status} {text}\r\n") }
}

fn reply(out: &mut Vec<u8>, code: u16, status: &str, text: &str) {
    out.extend_from_slice(format_reply(code, status, text).as_bytes());
}

async fn write_reply(stream: &mut TcpStream, code: u16, status: &str, text: &str) -> std::io::Result<()> {
    stream.write_all(format_reply(code, status, text).as_bytes()).await
}
