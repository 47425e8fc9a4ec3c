//! The Graph API as one set of credentials sees it: URLs carrying `access_token` and
//! `appsecret_proof`, Page records, and Graph's error answers as the contract's errors.

use switchboard_sdk::http::{self, Method};
use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::serde::de::DeserializeOwned;
use switchboard_sdk::serde_json::{self, Value};
use switchboard_sdk::{ChannelContext, ChannelError, hex, hmac_sha256};

pub const DEFAULT_API: &str = "https://graph.facebook.com";
pub const VERSION: &str = "v21.0";

/// Bad, expired or revoked tokens (`OAuthException`), whatever the subcode (460 password
/// changed, 463 expired, 467 logged out...).
const BAD_TOKEN_CODES: &[i64] = &[102, 190];
/// Application, user, Page and API-specific rate limits: retry later.
const RATE_LIMIT_CODES: &[i64] = &[4, 17, 32, 613];
/// "Service temporarily unavailable".
const PASSING_CODES: &[i64] = &[2];
/// Code 10 with these subcodes: the message is outside the messaging window
/// (Messenger 2018278, Instagram 2534022).
const OUTSIDE_WINDOW_SUBCODES: &[i64] = &[2018278, 2534022];

/// A Graph client for one token (or none: the OAuth code exchange carries app credentials).
pub struct Graph {
    /// `{api base}/{VERSION}/`.
    base: String,
    /// `access_token` and `appsecret_proof`, added to every call.
    credentials: Vec<(&'static str, String)>,
}

impl Graph {
    /// Calls made with `token`; `appsecret_proof` = HMAC-SHA256(app secret, token) in hex
    /// proves they come from the app's server (an app may require it).
    pub fn new(api_base: Option<&str>, token: &str, app_secret: &str) -> Result<Self, ChannelError> {
        let proof = hex::encode(hmac_sha256(app_secret, token));
        Ok(Self { credentials: vec![("access_token", token.into()), ("appsecret_proof", proof)], ..Self::anonymous(api_base)? })
    }

    /// Calls that carry their own credentials (the OAuth token endpoint).
    pub fn anonymous(api_base: Option<&str>) -> Result<Self, ChannelError> {
        let root = api_base.unwrap_or(DEFAULT_API).trim_end_matches('/');
        if !http::is_web_url(root) {
            return Err(ChannelError::invalid_setting("api_base_url", "must be an http:// or https:// URL"));
        }
        Ok(Self { base: format!("{root}/{VERSION}/"), credentials: Vec::new() })
    }

    /// The channel's Page token, proved with its app secret.
    pub fn for_channel(ctx: &ChannelContext) -> Result<Self, ChannelError> {
        let app_secret = crate::operator_app::app_secret(ctx)?;
        Self::new(ctx.setting("api_base_url"), ctx.require("page_access_token")?, &app_secret)
    }

    /// `{base}/{version}/{path}?params&access_token&appsecret_proof`, percent-encoded.
    pub fn url(&self, path: &str, params: &[(&str, &str)]) -> String {
        let url = format!("{}{}", self.base, path.trim_start_matches('/'));
        http::with_query(&url, params.iter().copied().chain(self.credentials.iter().map(|(k, v)| (*k, v.as_str()))))
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str, params: &[(&str, &str)]) -> Result<T, ChannelError> {
        answer(http::get(self.url(path, params)).send()?)
    }

    /// A `POST` with parameters in the query and an optional JSON body.
    pub fn post<T: DeserializeOwned>(&self, path: &str, params: &[(&str, &str)], body: Option<&Value>) -> Result<T, ChannelError> {
        let request = http::post(self.url(path, params));
        answer(match body {
            Some(body) => request.json(body),
            None => request,
        }
        .send()?)
    }

    pub fn delete<T: DeserializeOwned>(&self, path: &str, params: &[(&str, &str)]) -> Result<T, ChannelError> {
        answer(http::Request::new(Method::DELETE, self.url(path, params)).send()?)
    }
}

fn answer<T: DeserializeOwned>(response: http::Response) -> Result<T, ChannelError> {
    if response.is_success() {
        return response.json();
    }
    let retry_after = response.header("retry-after").and_then(|s| s.trim().parse().ok());
    Err(GraphError::parse(response.status, &response.body).into_channel_error(retry_after))
}

/// Graph's error answer: `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: u16,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ErrorFields {
    #[serde(default)]
    message: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
}

impl GraphError {
    /// Reads an error answer; anything else is its HTTP status.
    pub fn parse(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => {
                Self { status, code: error.code, subcode: error.error_subcode, message: error.message }
            }
            Err(_) => Self { status, code: None, subcode: None, message: format!("HTTP {status}") },
        }
    }

    /// "Error validating access token: ... (code 190, subcode 460)".
    pub fn reason(&self) -> String {
        match (self.code, self.subcode) {
            (Some(code), Some(subcode)) => format!("{} (code {code}, subcode {subcode})", self.message),
            (Some(code), None) => format!("{} (code {code})", self.message),
            _ => self.message.clone(),
        }
    }

    fn has_code(&self, codes: &[i64]) -> bool {
        self.code.is_some_and(|code| codes.contains(&code))
    }

    /// The contract's error: a wrong app secret or app id (on that field), a refused token,
    /// the window closed, rate limited, passing trouble, or a refusal for good.
    pub fn into_channel_error(self, retry_after: Option<u64>) -> ChannelError {
        let reason = self.reason();
        if self.message.contains("appsecret_proof") || self.message.contains("client secret") {
            ChannelError::invalid_setting("app_secret", &format!("Facebook does not accept the app secret: {reason}"))
        } else if self.code == Some(101) {
            ChannelError::invalid_setting("app_id", &format!("Facebook does not know this app: {reason}"))
        } else if self.has_code(BAD_TOKEN_CODES) {
            ChannelError::Unauthorized(reason)
        } else if self.code == Some(10)
            && (self.subcode.is_some_and(|s| OUTSIDE_WINDOW_SUBCODES.contains(&s)) || self.message.contains("outside of allowed window"))
        {
            ChannelError::WindowClosed(reason)
        } else if self.status == 429 || self.has_code(RATE_LIMIT_CODES) {
            ChannelError::RateLimited(retry_after)
        } else if self.status >= 500 || self.has_code(PASSING_CODES) {
            ChannelError::Transient(format!("Facebook answered HTTP {}: {reason}", self.status))
        } else {
            ChannelError::Provider(reason)
        }
    }
}

/// A Facebook Page as `GET /me` (with its token) and `GET /me/accounts` (after a login) show it.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Page {
    pub id: String,
    pub name: String,
    /// In `me/accounts`: the Page's own token.
    pub access_token: Option<String>,
    /// The Instagram professional account linked to the Page, when asked for and linked.
    pub instagram_business_account: Option<InstagramAccount>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct InstagramAccount {
    pub id: String,
    pub username: Option<String>,
    pub name: Option<String>,
}

/// The account a channel connects: its id (webhook entries carry it) and a name for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
}

/// A page of a Graph list: `{"data":[...],"paging":{"cursors":{"before","after"},"next"?}}`.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    pub paging: Option<Paging>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Paging {
    pub cursors: Option<Cursors>,
    /// Present only when there is a next page.
    pub next: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
pub struct Cursors {
    pub after: Option<String>,
}

impl<T> List<T> {
    /// The cursor of the next page, when there is one.
    pub fn after(&self) -> Option<&str> {
        let paging = self.paging.as_ref().filter(|p| p.next.is_some())?;
        paging.cursors.as_ref()?.after.as_deref()
    }
}
