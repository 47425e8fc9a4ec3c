//! The host's own outbound HTTP (registries, event webhook receivers) under the rule plugins
//! live by: public addresses only, unless the operator allows the host (`--allow-outbound`).
//! The addresses are checked when the client is made and the client connects to those very
//! addresses (no second lookup a DNS answer could change), and follows no redirect itself.

use std::net::SocketAddr;
use std::time::Duration;

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

/// A client whose every connection goes to `url`'s host at addresses checked now; `what` names
/// the kind of host in a refusal ("registries", "webhook endpoints").
pub async fn pinned_client(url: &reqwest::Url, allowed: &[HostPattern], what: &str, connect: Duration, read: Duration) -> Result<reqwest::Client, EgressError> {
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
