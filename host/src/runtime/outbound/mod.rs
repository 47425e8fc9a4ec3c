//! Outbound HTTP policy: a plugin reaches only the hosts its manifest declares and the hosts
//! the operator allowed (`--allow-outbound`); everything else is denied.
//!
//! The name is resolved once ([`Resolver`]); a host the plugin declared must resolve to public
//! addresses only ([`check_global`] is the rule), and the connection goes to an address that
//! passed (`send`), never to a second lookup: a name whose DNS answer changes between the check
//! and the connection (rebinding) cannot lead inside. Hosts the operator allowed are trusted as
//! they are (that is how tests and on-premise APIs are reached). Redirects are never followed.

mod addresses;
mod send;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http_body_util::BodyExt;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks, WasiHttpView};

pub use addresses::{Resolver, SystemResolver, check_global};
/// The body of an answer to a request the host made for a plugin ([`OutboundPolicy::request`]).
pub type ResponseBody = send::IncomingBody;

/// Why a request the host makes for a plugin got no answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestRefusal {
    /// By the outbound rules (as the plugin's own request would have been).
    #[error("{0}")]
    Denied(String),
    /// Not sent or not answered (a bad URL, DNS, the network, a time-out).
    #[error("{0}")]
    Failed(String),
}

use super::capability::CallSetup;
use super::doubles::{DoubleRequest, ImportDoubles};

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

/// Requests one call may make (a login listing its accounts page by page makes a handful): past
/// them the plugin's requests are refused, so that a call cannot open thousands of
/// connections, and the process's file descriptors with them, within its time.
pub(super) const REQUESTS_PER_CALL: usize = 100;

/// The outbound rules of one call: the plugin's declared hosts plus the operator's.
#[derive(Clone)]
pub(super) struct OutboundPolicy {
    plugin_id: String,
    declared: Arc<Vec<HostPattern>>,
    operator_allowed: Arc<Vec<HostPattern>>,
    resolver: Arc<dyn Resolver>,
    /// Answers in place of the network (the test kit), after the same verdict.
    doubles: Option<Arc<dyn ImportDoubles>>,
    /// Requests made so far by the call (the policy's clones share it).
    requests: Arc<std::sync::atomic::AtomicUsize>,
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
    pub(super) fn for_call(
        setup: &CallSetup,
        declared: Arc<Vec<HostPattern>>,
        operator_allowed: Arc<Vec<HostPattern>>,
        resolver: Arc<dyn Resolver>,
        doubles: Option<Arc<dyn ImportDoubles>>,
    ) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), declared, operator_allowed, resolver, doubles, requests: Arc::default() }
    }

    /// The rules of a plugin for a request the host makes on its behalf, outside any call.
    pub(super) fn for_host(
        plugin_id: &str,
        declared: Arc<Vec<HostPattern>>,
        operator_allowed: Arc<Vec<HostPattern>>,
        resolver: Arc<dyn Resolver>,
        doubles: Option<Arc<dyn ImportDoubles>>,
    ) -> Self {
        Self { plugin_id: plugin_id.to_owned(), declared, operator_allowed, resolver, doubles, requests: Arc::default() }
    }

    /// Makes `request` (no body) held to these rules, as the plugin's own request would be:
    /// the same check of the host and its addresses, the same connection to a checked
    /// address, no redirect followed. The answer's body streams; `silence` bounds every wait.
    pub(super) async fn request(&self, request: &crate::runtime::types::MediaRequest, silence: std::time::Duration) -> Result<http::Response<ResponseBody>, RequestRefusal> {
        let uri: http::Uri = request.url.parse().map_err(|e| RequestRefusal::Failed(format!("`{}` is not a URL: {e}", request.url)))?;
        let scheme_port = match uri.scheme_str() {
            Some("https") => 443,
            Some("http") => 80,
            _ => return Err(RequestRefusal::Failed(format!("`{}` is not an http(s) URL", request.url))),
        };
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().unwrap_or(scheme_port);
        let verdict = self.verdict(&host, port);
        let addresses = addresses(self.resolver.as_ref(), &verdict, &host, port).await.map_err(|refusal| match refusal {
            Refusal::Denied(reason) => {
                tracing::warn!(plugin = %self.plugin_id, %host, port, "media request denied: {reason}");
                RequestRefusal::Denied(format!("{host}: {reason}"))
            }
            Refusal::Unresolved => RequestRefusal::Failed(format!("{host} does not resolve")),
        })?;
        let method = http::Method::from_bytes(request.method.as_bytes()).map_err(|_| RequestRefusal::Failed(format!("`{}` is not an HTTP method", request.method)))?;
        let mut builder = http::Request::builder().method(method).uri(uri.clone());
        let authority = uri.authority().map(|a| a.as_str().to_owned()).unwrap_or_else(|| host.clone());
        builder = builder.header(http::header::HOST, authority);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = http_body_util::Empty::<bytes::Bytes>::new().map_err(|never| match never {});
        let built = builder.body(body).map_err(|e| RequestRefusal::Failed(format!("the request cannot be made: {e}")))?;
        let options = RequestOptions { connect_timeout: Some(silence), first_byte_timeout: Some(silence), between_bytes_timeout: Some(silence) };
        let (response, io) = send::send_to(built, Some(options), &host, &addresses).await.map_err(|e| RequestRefusal::Failed(e.to_string()))?;
        // The connection is driven beside the body being read.
        tokio::spawn(async move {
            let _ = Box::into_pin(io).await;
        });
        Ok(response)
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

/// Why a request does not leave the host.
enum Refusal {
    /// By policy (logged, the guest sees "request denied").
    Denied(String),
    /// The name does not resolve.
    Unresolved,
}

/// Where a request may go: the addresses of one lookup, all public for a declared host.
async fn addresses(resolver: &dyn Resolver, verdict: &Verdict, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    if matches!(verdict, Verdict::Denied) {
        return Err(Refusal::Denied("host not declared by the plugin nor allowed by the operator".into()));
    }
    let addresses = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolver.lookup(host, port).await.map_err(|_| Refusal::Unresolved)?,
    };
    if addresses.is_empty() {
        return Err(Refusal::Unresolved);
    }
    if matches!(verdict, Verdict::Declared)
        && let Some(refusal) = addresses.iter().find_map(|a| check_global(a.ip()).err())
    {
        return Err(Refusal::Denied(format!("a declared host must resolve to public addresses only; {refusal}")));
    }
    Ok(addresses)
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
        let made = self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::new(async move {
            if made >= REQUESTS_PER_CALL {
                if made == REQUESTS_PER_CALL {
                    tracing::warn!(plugin = %policy.plugin_id, "the call made more than {REQUESTS_PER_CALL} outbound requests: the rest are refused");
                }
                return Err(HttpError::HttpRequestDenied);
            }
            let uri = request.uri().clone();
            let host = uri.host().unwrap_or_default().to_owned();
            let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
            let verdict = policy.verdict(&host, port);
            if let Some(doubles) = policy.doubles.clone()
                && !matches!(verdict, Verdict::Denied)
            {
                return answer_from_double(doubles.as_ref(), request).await;
            }
            match addresses(policy.resolver.as_ref(), &verdict, &host, port).await {
                Ok(addresses) => {
                    let (response, io) = send::send_to(request, options, &host, &addresses).await?;
                    Ok((response.map(BodyExt::boxed_unsync), io))
                }
                Err(Refusal::Unresolved) => Err(HttpError::DnsError { rcode: Some("NXDOMAIN".into()), info_code: None }),
                Err(Refusal::Denied(reason)) => {
                    tracing::warn!(plugin = %policy.plugin_id, %host, port, "outbound request denied: {reason}");
                    let body = http_body_util::Limited::new(request.into_body(), DENIED_BODY_DRAIN_LIMIT);
                    let _ = body.collect().await;
                    Err(HttpError::HttpRequestDenied)
                }
            }
        })
    }
}

/// The most of a request body a double is shown (what a provider would take is far less).
const DOUBLE_BODY_LIMIT: usize = 64 << 20;

/// A request the rules allowed, answered by the test double instead of the network.
async fn answer_from_double(
    doubles: &dyn ImportDoubles,
    request: http::Request<WasiBody>,
) -> wasmtime_wasi_http::Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>)> {
    let (parts, body) = request.into_parts();
    let body = http_body_util::Limited::new(body, DOUBLE_BODY_LIMIT).collect().await.map_err(|_| HttpError::HttpRequestBodySize(None))?.to_bytes();
    let headers = parts.headers.iter().map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned())).collect();
    let asked = DoubleRequest { method: parts.method.to_string(), url: parts.uri.to_string(), headers, body: body.to_vec() };
    let answer = doubles.http(asked).map_err(|_| HttpError::ConnectionRefused)?;
    let mut response = http::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    let body = http_body_util::Full::new(bytes::Bytes::from(answer.body)).map_err(|never| match never {}).boxed_unsync();
    let response = response.body(body).map_err(|e| HttpError::InternalError(Some(format!("the test double's answer is not HTTP: {e}"))))?;
    let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
    Ok((response, done))
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

    /// Answers from a script, one per lookup, and counts the lookups (as an attacker's DNS
    /// server would see them).
    struct ScriptedDns {
        answers: std::sync::Mutex<Vec<Vec<SocketAddr>>>,
        lookups: std::sync::atomic::AtomicUsize,
    }

    impl Resolver for ScriptedDns {
        fn lookup<'a>(&'a self, _: &'a str, _: u16) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>> {
            self.lookups.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = self.answers.lock().unwrap().remove(0);
            Box::pin(async move { Ok(answer) })
        }
    }

    fn dns(answers: &[&[&str]]) -> ScriptedDns {
        let answers = answers.iter().map(|a| a.iter().map(|ip| SocketAddr::new(ip.parse().unwrap(), 443)).collect()).collect();
        ScriptedDns { answers: std::sync::Mutex::new(answers), lookups: Default::default() }
    }

    #[tokio::test]
    async fn a_rebinding_answer_is_never_asked_for_the_connection_goes_where_the_check_passed() {
        // First answer public, every later one loopback: the classic rebinding attack.
        let attacker = dns(&[&["149.154.167.220"], &["127.0.0.1"], &["127.0.0.1"]]);
        let checked = addresses(&attacker, &Verdict::Declared, "api.telegram.org", 443).await.ok().unwrap();
        assert_eq!(checked, vec![SocketAddr::new("149.154.167.220".parse().unwrap(), 443)]);
        assert_eq!(attacker.lookups.load(std::sync::atomic::Ordering::SeqCst), 1, "one lookup per request, none at connect time");
    }

    #[tokio::test]
    async fn a_declared_name_with_any_internal_answer_is_refused() {
        for answer in [&["149.154.167.220", "10.0.0.5"][..], &["::ffff:169.254.169.254"], &["64:ff9b::7f00:1"], &["2002:7f00:1::1"], &["::127.0.0.1"]] {
            let attacker = dns(&[answer]);
            let refused = addresses(&attacker, &Verdict::Declared, "api.telegram.org", 443).await;
            assert!(matches!(refused, Err(Refusal::Denied(_))), "{answer:?}");
        }
        // The operator's hosts are trusted as given; literal addresses are not looked up.
        let resolver = dns(&[&["10.0.0.5"]]);
        assert!(addresses(&resolver, &Verdict::Trusted, "crm.internal", 443).await.is_ok());
        let resolver = dns(&[]);
        assert!(matches!(addresses(&resolver, &Verdict::Declared, "[::1]", 443).await, Err(Refusal::Denied(_))));
        assert!(matches!(addresses(&resolver, &Verdict::Denied, "evil.example", 443).await, Err(Refusal::Denied(_))));
        assert_eq!(resolver.lookups.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
