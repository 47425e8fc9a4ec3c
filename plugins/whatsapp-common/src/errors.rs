//! Provider errors of both APIs, read into one shape and mapped onto the contract's errors.
//! Cloud: `{"error":{"message":"(#131047) Re-engagement message","type","code","error_data":{"details"},"fbtrace_id"}}`.
//! On-Premises: `{"errors":[{"code":470,"title":"...","details":"..."}]}`.

use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::{ChannelError, http, serde_json};

/// More than 24 hours since the customer's last message: Cloud 131047, On-Premises 470.
pub const WINDOW_CLOSED_CODES: &[i64] = &[131047, 470];
/// Throughput and spam limits: retry later.
const RATE_LIMIT_CODES: &[i64] = &[4, 80007, 130429, 131048, 131056, 1015];
/// Bad or expired credentials: Graph 190, On-Premises 1005 ("Access denied").
const AUTH_CODES: &[i64] = &[190, 1005];
/// Passing trouble on the provider's side ("unknown error", "service unavailable", "not ready").
const TRANSIENT_CODES: &[i64] = &[1, 2, 131000, 131016, 1011, 1014];

/// An error answer from either API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub code: Option<i64>,
    pub title: String,
    pub details: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Answer {
    error: Option<GraphError>,
    #[serde(default)]
    errors: Vec<OnPremisesError>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct GraphError {
    message: Option<String>,
    code: Option<i64>,
    error_data: Option<ErrorData>,
    error_user_msg: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct ErrorData {
    details: Option<String>,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct OnPremisesError {
    code: Option<i64>,
    title: Option<String>,
    details: Option<String>,
}

impl ProviderError {
    /// Reads an error body of either API; anything else becomes its HTTP status.
    pub fn parse(status: u16, body: &[u8]) -> Self {
        let fallback = || Self { code: None, title: format!("HTTP {status}"), details: None };
        let Ok(answer) = serde_json::from_slice::<Answer>(body) else { return fallback() };
        if let Some(error) = answer.error {
            let message = error.message.unwrap_or_default();
            // Graph prefixes the message with its code: "(#131047) Re-engagement message".
            let title = match message.strip_prefix("(#").and_then(|rest| rest.split_once(") ")) {
                Some((_, title)) => title.to_owned(),
                None => message,
            };
            let details = error.error_data.and_then(|d| d.details).or(error.error_user_msg);
            return Self { code: error.code, title, details };
        }
        match answer.errors.into_iter().next() {
            Some(error) => Self { code: error.code, title: error.title.unwrap_or_default(), details: error.details },
            None => fallback(),
        }
    }

    /// "131047: Re-engagement message (Message failed to send because ...)".
    pub fn reason(&self) -> String {
        let mut reason = match self.code {
            Some(code) => format!("{code}: {}", self.title),
            None => self.title.clone(),
        };
        if let Some(details) = self.details.as_deref().filter(|d| !d.is_empty() && *d != self.title) {
            reason.push_str(&format!(" ({details})"));
        }
        reason
    }

    fn has_code(&self, codes: &[i64]) -> bool {
        self.code.is_some_and(|code| codes.contains(&code))
    }

    /// The contract's error for this answer: window closed, rate limited (with the provider's
    /// retry hint), unauthorized, transient (provider trouble) or a refusal for good.
    pub fn into_channel_error(self, status: u16, retry_after: Option<u64>) -> ChannelError {
        if self.has_code(WINDOW_CLOSED_CODES) {
            ChannelError::WindowClosed(self.reason())
        } else if status == 429 || self.has_code(RATE_LIMIT_CODES) {
            ChannelError::RateLimited(retry_after)
        } else if self.has_code(AUTH_CODES) || (status == 401 && self.code.is_none()) {
            ChannelError::Unauthorized(self.reason())
        } else if status >= 500 || self.has_code(TRANSIENT_CODES) {
            ChannelError::Transient(self.reason())
        } else {
            ChannelError::Provider(self.reason())
        }
    }
}

/// A failed answer as the contract's error.
pub fn from_response(response: &http::Response) -> ChannelError {
    let retry_after = response.header("retry-after").and_then(|s| s.trim().parse().ok());
    ProviderError::parse(response.status, &response.body).into_channel_error(response.status, retry_after)
}
