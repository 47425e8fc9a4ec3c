//! The host's own outbound HTTP (registries, event webhook receivers) under the rule plugins
//! live by: public addresses only, unless the operator allows the host (`--allow-outbound`).
//! The addresses are checked when the client is made and the client connects to those very
//! addresses (no second lookup a DNS answer could change), and follows no redirect itself.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::runtime::HostPattern;

#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The address is not one the host may reach.
    #[error("{0}")]
    Refused(String),
    /// The host's name cannot be found.
    #[error("{0}")]
    Unresolved(String),
}

/// `url`'s host and its addresses, looked up now and each checked: public, unless the operator
/// allows the host. `what` names the kind of host in a refusal ("registries", "webhook endpoints").
pub async fn checked_addresses(url: &reqwest::Url, allowed: &[HostPattern], what: &str) -> Result<(String, Vec<SocketAddr>), EgressError> {
    let host = url.host_str().ok_or_else(|| EgressError::Refused(format!("`{url}` has no host")))?.trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> =
        tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| EgressError::Unresolved(format!("{host} cannot be found: {e}")))?.collect();
    if !allowed.iter().any(|p| p.matches(&host, port)) {
        for address in &addresses {
            crate::runtime::check_global(address.ip()).map_err(|why| {
                EgressError::Refused(format!(
                    "{host}:{port} is at {}, {why}: {what} are reached at public addresses only, unless the operator allows the host (--allow-outbound {host}:{port})",
                    address.ip()
                ))
            })?;
        }
    }
    Ok((host, addresses))
}

/// A client whose every connection goes to `url`'s host at addresses checked now.
pub async fn pinned_client(url: &reqwest::Url, allowed: &[HostPattern], what: &str, connect: Duration, read: Duration) -> Result<reqwest::Client, EgressError> {
    let (host, addresses) = checked_addresses(url, allowed, what).await?;
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(&host, &addresses)
        .connect_timeout(connect)
        .read_timeout(read)
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| EgressError::Refused(format!("cannot set up an HTTP client: {e}")))
}

/// How long a kept client (its addresses checked, its connections open) is used before its
/// host's name is looked up and checked again.
const CLIENT_LIFETIME: Duration = Duration::from_secs(60);

/// Pinned clients kept per host and port for [`CLIENT_LIFETIME`]: connections are reused between
/// requests to one host (a new client each time costs a TLS setup and a connection).
#[derive(Default)]
pub struct PinnedClients {
    clients: std::sync::Mutex<HashMap<(String, u16), (reqwest::Client, Instant)>>,
}

impl PinnedClients {
    pub async fn client(&self, url: &reqwest::Url, allowed: &[HostPattern], what: &str, connect: Duration, read: Duration) -> Result<reqwest::Client, EgressError> {
        let key = (url.host_str().unwrap_or_default().to_owned(), url.port_or_known_default().unwrap_or(443));
        if let Some((client, made)) = self.clients.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned()
            && made.elapsed() < CLIENT_LIFETIME
        {
            return Ok(client);
        }
        // Made without the lock: one host's slow name lookup holds up no other.
        let client = pinned_client(url, allowed, what, connect, read).await?;
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.retain(|_, (_, made)| made.elapsed() < CLIENT_LIFETIME);
        clients.insert(key, (client.clone(), Instant::now()));
        Ok(client)
    }
}

/// At most `limit` bytes of an answer (a far end could answer without end), and whether it
/// had more.
pub async fn read_at_most(response: reqwest::Response, limit: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = response.bytes_stream();
    let mut read = Vec::new();
    while let Some(chunk) = body.next().await {
        read.extend_from_slice(&chunk?);
        if read.len() > limit {
            read.truncate(limit);
            return Ok((read, true));
        }
    }
    Ok((read, false))
}

/// The reasons of an HTTP error, outermost first ("error sending request: connection refused").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
