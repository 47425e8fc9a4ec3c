//! Plugin errors in words, for people (API messages, delivery failures, logs).

use crate::runtime::CallError;
use crate::runtime::types::ChannelError;

pub fn describe(error: &ChannelError) -> String {
    match error {
        ChannelError::InvalidSettings(fields) => {
            let parts: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.key, f.message)).collect();
            format!("invalid settings ({})", parts.join("; "))
        }
        ChannelError::Unauthorized(reason) => format!("the provider refused the credentials: {reason}"),
        ChannelError::RateLimited(Some(seconds)) => format!("rate limited by the provider; retry after {seconds} s"),
        ChannelError::RateLimited(None) => "rate limited by the provider".into(),
        ChannelError::WindowClosed(reason) => format!("the messaging window is closed: {reason}"),
        ChannelError::Unsupported(what) => format!("not supported by this channel: {what}"),
        ChannelError::Provider(reason) => reason.clone(),
        ChannelError::Transient(reason) => format!("temporary failure: {reason}"),
        ChannelError::BadRequest(reason) => format!("bad request: {reason}"),
    }
}

pub fn describe_call(error: &CallError) -> String {
    match error {
        CallError::Channel(e) => describe(e),
        CallError::Failed(failure) => failure.to_string(),
    }
}
