//! Outbound HTTP policy: a plugin reaches only the hosts its manifest declares and the hosts
//! the operator allowed (`--allow-outbound`); everything else is denied.
//!
//! A host the plugin declared must also resolve to a public address, so a public name
//! pointing at loopback or a private network cannot be used to reach inside. Hosts the
//! operator allowed are trusted as they are (that is how tests and on-premise APIs are reached).

use std::net::IpAddr;
use std::sync::Arc;

use http_body_util::BodyExt;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks, WasiHttpView};

use super::call::CallSetup;

/// `host`, `host:port` or `*.domain[:port]`; no port means any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    port: Option<u16>,
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.starts_with('[') => {
                let port = port.parse::<u16>().map_err(|_| format!("`{text}`: the port must be a number"))?;
                (host.to_owned(), Some(port))
            }
            _ => (text.clone(), None),
        };
        let bare = host.trim_start_matches("*.");
        if bare.is_empty() || bare.contains(['/', '*', ' ', '@']) {
            return Err(format!("`{text}` is not a host name (expected host, host:port or *.domain)"));
        }
        Ok(Self { host, port })
    }

    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host.to_ascii_lowercase();
        match self.host.strip_prefix("*.") {
            Some(domain) => host.len() > domain.len() && host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.'),
            None => self.host == host,
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// The outbound rules of one call: the plugin's declared hosts plus the operator's.
#[derive(Clone)]
pub(super) struct OutboundPolicy {
    plugin_id: String,
    declared: Arc<Vec<HostPattern>>,
    operator_allowed: Arc<Vec<HostPattern>>,
}

/// wasi:http's outgoing handler, with [`OutboundPolicy`] as its `send_request` hook.
pub(super) fn add_to_linker<T: WasiHttpView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}

enum Verdict {
    /// Allowed by the operator: no address check.
    Trusted,
    /// Declared by the plugin: allowed if the name resolves to public addresses only.
    Declared,
    Denied,
}

impl OutboundPolicy {
    pub(super) fn for_call(setup: &CallSetup, declared: Arc<Vec<HostPattern>>, operator_allowed: Arc<Vec<HostPattern>>) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), declared, operator_allowed }
    }

    fn verdict(&self, host: &str, port: u16) -> Verdict {
        if self.operator_allowed.iter().any(|p| p.matches(host, port)) {
            Verdict::Trusted
        } else if self.declared.iter().any(|p| p.matches(host, port)) {
            Verdict::Declared
        } else {
            Verdict::Denied
        }
    }
}

/// An address a declared host must not resolve to.
pub(super) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast()
                || v4.is_multicast() || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

async fn resolves_to_public(host: &str, port: u16) -> bool {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return !is_internal(ip);
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| !is_internal(a.ip()))
        }
        Err(_) => true, // let the real send report the DNS failure
    }
}

/// Most of a denied request's body we read, so the guest sees the deny code, not a reset.
const DENIED_BODY_DRAIN_LIMIT: usize = 1 << 20;

type SendFuture = Box<
    dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>)>>
        + Send,
>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_error: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let policy = self.clone();
        Box::new(async move {
            let uri = request.uri().clone();
            let host = uri.host().unwrap_or_default().to_owned();
            let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
            let allowed = match policy.verdict(&host, port) {
                Verdict::Trusted => true,
                Verdict::Declared => resolves_to_public(&host, port).await,
                Verdict::Denied => false,
            };
            if !allowed {
                tracing::warn!(plugin = %policy.plugin_id, %host, port, "outbound request denied: host not declared by the plugin nor allowed by the operator");
                let body = http_body_util::Limited::new(request.into_body(), DENIED_BODY_DRAIN_LIMIT);
                let _ = body.collect().await;
                return Err(HttpError::HttpRequestDenied);
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_host_port_and_wildcards() {
        let exact = HostPattern::parse("api.telegram.org").unwrap();
        assert!(exact.matches("api.telegram.org", 443));
        assert!(exact.matches("API.Telegram.org", 80));
        assert!(!exact.matches("evil.org", 443));
        let with_port = HostPattern::parse("127.0.0.1:8080").unwrap();
        assert!(with_port.matches("127.0.0.1", 8080));
        assert!(!with_port.matches("127.0.0.1", 8081));
        let wildcard = HostPattern::parse("*.facebook.com").unwrap();
        assert!(wildcard.matches("graph.facebook.com", 443));
        assert!(!wildcard.matches("facebook.com", 443));
        assert!(!wildcard.matches("evilfacebook.com", 443));
        assert!(HostPattern::parse("http://x/y").is_err());
        assert!(HostPattern::parse("host:notaport").is_err());
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.5", "169.254.169.254", "::1", "fd00::1", "::ffff:127.0.0.1", "100.64.0.1"] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["149.154.167.220", "8.8.8.8", "2001:4860:4860::8888"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
