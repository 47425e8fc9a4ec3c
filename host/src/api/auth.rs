//! Bearer tokens, roles and workspaces: no or unknown token -> 401, a role too low -> 403,
//! another workspace's ids -> 404 (as if they did not exist).
//!
//! A bot token (role `bot`) is the bot of some channels: it reads and answers their
//! conversations and hands them to people, and nothing else. Which routes it may call at all is
//! decided here, before any route runs ([`BOT_ROUTES`]: a new route is closed to bots until it
//! is listed); which conversations, by its scope ([`Caller::scope`], a `Scope::Bot` the store puts in its SQL).
//!
//! The operator acts on the whole installation; to act inside one workspace (connect a channel
//! there, read its inbox only) it names it with the `X-Workspace: <id>` header. A header is
//! used rather than a path prefix so every workspace route stays one route for all roles.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use super::ApiError;
use crate::app::App;
use crate::store::model::Role;

/// The header the operator names a workspace with.
pub const WORKSPACE_HEADER: &str = "x-workspace";
/// The session cookie of people who signed in.
pub const SESSION_COOKIE: &str = "sb_session";
/// Cookie-authenticated writes must carry the session's CSRF token in this header.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends after this long without a request…
pub const SESSION_IDLE_MS: i64 = 12 * 3600 * 1000;
/// …and after this long in any case.
pub const SESSION_ABSOLUTE_MS: i64 = 7 * 24 * 3600 * 1000;

/// The routes a bot token may call (method, route pattern): its channels' conversations, their
/// messages (reading and sending) and files, handing one over (`PATCH`), live events, and who it
/// is. Every other route answers it 403.
pub const BOT_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/conversations"),
    ("GET", "/api/v1/conversations/{id}"),
    ("PATCH", "/api/v1/conversations/{id}"),
    ("GET", "/api/v1/conversations/{id}/messages"),
    ("POST", "/api/v1/conversations/{id}/messages"),
    ("GET", "/api/v1/media/{id}"),
    ("GET", "/api/v1/events"),
];

/// Whether a bot token may call the route `route` (its pattern, as matched) with `method`.
fn bot_may_call(method: &axum::http::Method, route: Option<&str>) -> bool {
    // HEAD is served by the GET route.
    let method = if *method == axum::http::Method::HEAD { "GET" } else { method.as_str() };
    route.is_some_and(|route| BOT_ROUTES.iter().any(|(m, r)| *m == method && *r == route))
}

/// Who is calling, and in which workspace.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub role: Role,
    /// The caller's workspace; for the operator, the one named by `X-Workspace`, if any.
    pub workspace: Option<i64>,
    /// The person signed in with a session cookie (`None`: an API token).
    pub person: Option<i64>,
    /// The API token used (`None`: a session).
    pub token: Option<i64>,
    /// Where the request came from (audit entries).
    pub address: Option<std::net::IpAddr>,
    /// The reader's language for plugins' texts (`Accept-Language`: `en`, `id`).
    pub language: &'static str,
}

impl Caller {
    /// Workspace admin actions: connect, change and disconnect channels, templates. The
    /// operator may do them too.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if matches!(self.role, Role::Admin | Role::Operator) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs the admin role; your token is {}", self.role.as_str())))
        }
    }

    /// The installation's actions: plugins, workspaces, provider apps.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.role == Role::Operator {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs the operator role; your token is {}", self.role.as_str())))
        }
    }

    /// The operator outside any workspace: sees every workspace (read-only pages).
    pub fn sees_every_workspace(&self) -> bool {
        self.role == Role::Operator && self.workspace.is_none()
    }

    /// The workspace what the caller creates goes to.
    pub fn target_workspace(&self) -> Result<i64, ApiError> {
        self.workspace.ok_or_else(|| {
            ApiError::unprocessable("workspace_required", "name the workspace to act in with the `X-Workspace: <id>` header")
        })
    }

    /// The rows the caller may read, as the store puts it in its queries: a bot, its channels'
    /// only. A caller other than the operator always has a workspace; one without would match no
    /// row (no workspace has id 0, and no bot token either).
    pub fn scope(&self) -> crate::store::Scope {
        match (self.role, self.workspace) {
            (Role::Operator, None) => crate::store::Scope::Every,
            (Role::Bot, workspace) => crate::store::Scope::Bot { workspace: workspace.unwrap_or(0), token: self.token.unwrap_or(0) },
            (_, workspace) => crate::store::Scope::Workspace(workspace.unwrap_or(0)),
        }
    }

    /// Only this workspace's rows (`None`: every workspace, for the operator without a header).
    pub fn filter(&self) -> Option<i64> {
        self.workspace
    }

    /// The bot token calling, when the caller is a bot (it sees its channels only; a bot
    /// without a token, which cannot be, would see none: no token has id 0).
    pub fn bot(&self) -> Option<i64> {
        (self.role == Role::Bot).then(|| self.token.unwrap_or(0))
    }


    /// Refuses a bot what only people and the other roles do (403), naming it.
    pub fn refuse_bot(&self, what: &str) -> Result<(), ApiError> {
        if self.role == Role::Bot {
            Err(ApiError::forbidden(format!("a bot token cannot {what}: it reads and answers its channels' conversations and hands them over")))
        } else {
            Ok(())
        }
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let (role, own_workspace, person, token_id) = match parts.headers.get(axum::http::header::AUTHORIZATION) {
            Some(header) => {
                let token = header
                    .to_str()
                    .ok()
                    .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
                let owner = app.store.token_owner(token).await?.ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
                if owner.suspended {
                    return Err(suspended());
                }
                (owner.role, owner.workspace, None, Some(owner.id))
            }
            None => {
                let session = session_cookie(&parts.headers).ok_or_else(|| {
                    ApiError::unauthorized("sign in, or send `Authorization: Bearer <token>` (create one with `switchboard token create --role ROLE`)")
                })?;
                let signed_in = app
                    .store
                    .session(&session, SESSION_IDLE_MS, SESSION_ABSOLUTE_MS).await?
                    .ok_or_else(|| ApiError::unauthorized("your session has ended: sign in again"))?;
                if signed_in.suspended {
                    return Err(suspended());
                }
                check_csrf(app, parts, &signed_in.csrf_token)?;
                (signed_in.person.role, signed_in.person.workspace_id, Some(signed_in.person.id), None)
            }
        };
        if role == Role::Bot {
            let route = parts.extensions.get::<axum::extract::MatchedPath>().map(|matched| matched.as_str());
            if !bot_may_call(&parts.method, route) {
                return Err(ApiError::forbidden(
                    "a bot token reads and answers its channels' conversations only (conversations, their messages and files, events, handing over); this needs another role",
                ));
            }
        }
        let owner = crate::store::model::TokenOwner { id: token_id.unwrap_or_default(), role, workspace: own_workspace, suspended: false };
        let named = match parts.headers.get(WORKSPACE_HEADER) {
            None => None,
            Some(value) => {
                let id = value.to_str().ok().and_then(|v| v.trim().parse::<i64>().ok());
                let id = id.ok_or_else(|| ApiError::bad_request("`X-Workspace` must be a workspace id (a number)"))?;
                Some(id)
            }
        };
        let workspace = match (owner.role, named) {
            (Role::Operator, Some(id)) => {
                app.store.workspace(id).await?.ok_or_else(|| ApiError::not_found(format!("no workspace {id}")))?;
                Some(id)
            }
            (Role::Operator, None) => None,
            // Everyone else works in their own workspace; naming another one finds nothing.
            (_, Some(id)) if Some(id) != owner.workspace => return Err(ApiError::not_found(format!("no workspace {id}"))),
            (_, _) => owner.workspace,
        };
        let address = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| client_address(info.0, &parts.headers));
        let language = super::language::from_accept_language(parts.headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
        Ok(Caller { role: owner.role, workspace, person, token: token_id, address, language })
    }
}

fn suspended() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "workspace_suspended", "this workspace is suspended by the operator")
}

/// The attributes ending every cookie the host sets: `Secure` when the public URL is https.
pub fn cookie_suffix(app: &App) -> &'static str {
    if app.public_url.starts_with("https://") { "; Secure" } else { "" }
}

/// The session id of the request's cookie, if any.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the request's cookie `wanted`, if it has one that is not empty.
pub fn cookie(headers: &axum::http::HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// CSRF for cookie-authenticated requests that change something: the session's token in
/// `X-CSRF-Token` (a custom header another site's form or script cannot send without our
/// CORS consent, and a value it cannot read), and, when the browser says where the request
/// comes from (`Origin`), this host's own origin. SameSite=Lax on the cookie already keeps
/// cross-site POSTs cookieless in current browsers; these two hold where it does not
/// (same-site subdomains, older browsers).
fn check_csrf(app: &App, parts: &Parts, csrf_token: &str) -> Result<(), ApiError> {
    if parts.method.is_safe() {
        return Ok(());
    }
    let refused = |why: &str| ApiError::new(StatusCode::FORBIDDEN, "csrf_refused", why.to_owned());
    if let Some(origin) = parts.headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let host = parts.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        let own = origin.trim_end_matches('/') == app.public_url
            || origin.split_once("://").is_some_and(|(_, authority)| authority == host);
        if !own {
            return Err(refused("a request from another site's page is refused"));
        }
    }
    let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let matches = sent.len() == csrf_token.len() && sent.bytes().zip(csrf_token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !matches {
        return Err(refused("send the session's CSRF token (from sign-in) in the `X-CSRF-Token` header"));
    }
    Ok(())
}

/// `GET /api/v1/me`: the role and workspace of the caller, and who signed in (with a cookie).
#[utoipa::path(get, path = "/me", tag = "session", responses((status = 200, body = Me)))]
pub async fn me(caller: Caller, axum::extract::State(app): axum::extract::State<Arc<App>>) -> Result<axum::Json<Me>, ApiError> {
    let person = match caller.person {
        Some(id) => app.store.person(id, crate::store::Scope::Every).await?,
        None => None,
    };
    Ok(axum::Json(Me { role: caller.role, workspace: caller.workspace, person }))
}

/// Who is calling: the role, the workspace acted in, and the person when signed in.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    role: Role,
    workspace: Option<i64>,
    person: Option<crate::store::model::Person>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn a_bot_token_may_call_its_routes_and_no_other() {
        assert!(bot_may_call(&Method::GET, Some("/api/v1/conversations")));
        assert!(bot_may_call(&Method::HEAD, Some("/api/v1/conversations/{id}/messages")));
        assert!(bot_may_call(&Method::PATCH, Some("/api/v1/conversations/{id}")));
        assert!(bot_may_call(&Method::POST, Some("/api/v1/conversations/{id}/messages")));
        assert!(!bot_may_call(&Method::POST, Some("/api/v1/conversations/{id}/read")));
        assert!(!bot_may_call(&Method::DELETE, Some("/api/v1/conversations/{id}")));
        assert!(!bot_may_call(&Method::GET, Some("/api/v1/people")));
        assert!(!bot_may_call(&Method::POST, Some("/api/v1/media")));
        assert!(!bot_may_call(&Method::GET, None), "no route matched: refused");
    }

    /// Each route a bot may call is one the API serves, by the same method (a route renamed
    /// would otherwise close it to bots without a word).
    #[test]
    fn every_bot_route_is_served() {
        let document: serde_json::Value = serde_json::from_str(&super::super::openapi_document()).unwrap();
        let paths = document["paths"].as_object().unwrap();
        for (method, route) in BOT_ROUTES {
            let operations = paths.get(*route).or_else(|| paths.get(route.trim_start_matches("/api/v1"))).unwrap_or_else(|| panic!("{route} is not served"));
            assert!(operations.get(method.to_lowercase()).is_some(), "{method} {route} is not served");
        }
    }
}

/// The address a request came from: the peer, or, when the peer is a proxy on this machine
/// (the TLS proxy in front of the host, as "Operating Switchboard" advises), the last address
/// it put in `X-Forwarded-For`. Sign-in's lockout, the audit log and the chat widget's limits
/// count by it: behind a local proxy every peer is 127.0.0.1, and one client's failed sign-ins
/// would lock everyone out. A peer elsewhere cannot choose the address it is counted under.
///
/// The last address of the last `X-Forwarded-For` line: the one the proxy added (a proxy that
/// adds a line of its own keeps the client's lines before it, which the client chose). A peer
/// on an IPv6 socket reached over IPv4 loopback (`::ffff:127.0.0.1`) is a local proxy too.
pub fn client_address(peer: std::net::SocketAddr, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
    let peer = peer.ip().to_canonical();
    if peer.is_loopback()
        && let Some(forwarded) = headers.get_all("x-forwarded-for").iter().last().and_then(|v| v.to_str().ok())
        && let Some(Ok(ip)) = forwarded.rsplit(',').next().map(|last| last.trim().parse::<std::net::IpAddr>())
    {
        return ip.to_canonical();
    }
    peer
}

/// What a per-client budget counts (sign-in failures, the chat widget's new visitors): an IPv4
/// address, or an IPv6 client's /64, the block one subscriber is given. Counted by address, a
/// client holding a /64 would have 2^64 budgets.
pub fn client_block(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip.to_canonical() {
        // An IPv4 client reaching an IPv6 host through NAT64 (RFC 6052's well-known prefix):
        // its own IPv4 address, not the one /64 every such client shares.
        std::net::IpAddr::V6(v6) if v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] => {
            let [.., high, low] = v6.segments();
            std::net::IpAddr::V4(std::net::Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)))
        }
        std::net::IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            std::net::IpAddr::V6(std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod client_address_tests {
    use axum::http::HeaderMap;
    use std::net::IpAddr;

    use super::{client_address, client_block};

    #[test]
    fn an_ipv6_client_counts_by_its_64_block() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(client_block(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_block(ip("2001:db8:1:2:ffff:1:2:3")), client_block(ip("2001:db8:1:2::9")), "one subscriber's addresses");
        assert_ne!(client_block(ip("2001:db8:1:3::1")), client_block(ip("2001:db8:1:2::1")), "the next block is another client");
        assert_eq!(client_block(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(client_block(ip("::ffff:203.0.113.7")), ip("203.0.113.7"), "IPv4 on an IPv6 socket is its IPv4 address");
        assert_eq!(client_block(ip("64:ff9b::203.0.113.7")), ip("203.0.113.7"), "an IPv4 client through NAT64");
        assert_ne!(client_block(ip("64:ff9b::203.0.113.7")), client_block(ip("64:ff9b::198.51.100.9")));
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_local_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "10.0.0.1, 203.0.113.7".parse().unwrap());
        assert_eq!(client_address("127.0.0.1:5000".parse().unwrap(), &headers), "203.0.113.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_address("198.51.100.2:5000".parse().unwrap(), &headers), "198.51.100.2".parse::<IpAddr>().unwrap());
        assert_eq!(client_address("127.0.0.1:5000".parse().unwrap(), &HeaderMap::new()), "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(client_address("[::ffff:127.0.0.1]:5000".parse().unwrap(), &headers), "203.0.113.7".parse::<IpAddr>().unwrap(), "IPv4 loopback on an IPv6 socket");
        // A client's own line comes first; the proxy's line, last, counts.
        let mut lines = HeaderMap::new();
        lines.append("x-forwarded-for", "198.51.100.99".parse().unwrap());
        lines.append("x-forwarded-for", "203.0.113.7".parse().unwrap());
        assert_eq!(client_address("127.0.0.1:5000".parse().unwrap(), &lines), "203.0.113.7".parse::<IpAddr>().unwrap());
    }
}
