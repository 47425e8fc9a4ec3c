//! How a plugin call can fail, and the one decision whether to try it again.

use std::time::Duration;

use super::types::ChannelError;

/// Why a plugin call produced no answer. These are the host's verdicts, not the plugin's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginFailure {
    #[error("the plugin ran past its time limit of {0:?}")]
    Timeout(Duration),
    #[error("the plugin exceeded its memory limit of {} MiB", .0 >> 20)]
    MemoryLimit(usize),
    #[error("the plugin crashed: {0}")]
    Trap(String),
    #[error("the plugin could not be started: {0}")]
    Instantiate(String),
    /// A host import could not do what the plugin asked (its durable state could not be
    /// written, say); the call stopped there so that nothing is lost silently.
    #[error("the host could not serve the plugin: {0}")]
    Host(String),
}

impl PluginFailure {
    /// A short name of the kind (metrics labels).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::MemoryLimit(_) => "memory_limit",
            Self::Trap(_) => "trap",
            Self::Instantiate(_) => "instantiate_failed",
            Self::Host(_) => "host_error",
        }
    }
}

/// A call's outcome: the plugin's own typed error, or the host stopping it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error(transparent)]
    Failed(#[from] PluginFailure),
}

/// Whether a failed call is worth making again with the same input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Yes, with the caller's usual backoff.
    Now,
    /// Yes, not before this long (the provider said so).
    After(Duration),
    /// No: the same input fails the same way.
    Never,
}

impl CallError {
    /// The one retry decision every caller translates (HTTP status, SMTP reply, outbox backoff).
    ///
    /// A plugin crash is retried: it is either passing (an instance that could not start, a
    /// host import that failed) or a bug that the operator fixes by hot-swapping the plugin,
    /// and in both cases what the customer sent must still arrive, so the provider's
    /// redelivery, the sender's MTA and the outbox's bounded attempts get another go.
    /// Running out of memory is not retried: the same input needs the same memory.
    pub fn retry(&self) -> Retry {
        match self {
            Self::Channel(ChannelError::Transient(_)) | Self::Channel(ChannelError::RateLimited(None)) => Retry::Now,
            Self::Channel(ChannelError::RateLimited(Some(seconds))) => Retry::After(Duration::from_secs(*seconds)),
            Self::Channel(_) => Retry::Never,
            Self::Failed(PluginFailure::MemoryLimit(_)) => Retry::Never,
            Self::Failed(PluginFailure::Timeout(_) | PluginFailure::Trap(_) | PluginFailure::Instantiate(_) | PluginFailure::Host(_)) => {
                Retry::Now
            }
        }
    }

    /// The plugin's own error, if it answered with one.
    pub fn channel_error(&self) -> Option<&ChannelError> {
        match self {
            Self::Channel(error) => Some(error),
            Self::Failed(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_trouble_is_retried_and_refusals_are_not() {
        let retry = |e: CallError| e.retry();
        assert_eq!(retry(ChannelError::Transient("502".into()).into()), Retry::Now);
        assert_eq!(retry(ChannelError::RateLimited(Some(30)).into()), Retry::After(Duration::from_secs(30)));
        assert_eq!(retry(ChannelError::RateLimited(None).into()), Retry::Now);
        for refusal in [
            ChannelError::Unauthorized("bad token".into()),
            ChannelError::Provider("blocked".into()),
            ChannelError::WindowClosed("24 h".into()),
            ChannelError::BadRequest("junk".into()),
            ChannelError::InvalidSettings(vec![]),
            ChannelError::Unsupported("stickers".into()),
        ] {
            assert_eq!(retry(refusal.clone().into()), Retry::Never, "{refusal:?}");
        }
        assert_eq!(retry(PluginFailure::Timeout(Duration::from_secs(1)).into()), Retry::Now);
        assert_eq!(retry(PluginFailure::Trap("unreachable".into()).into()), Retry::Now);
        assert_eq!(retry(PluginFailure::Host("disk full".into()).into()), Retry::Now);
        assert_eq!(retry(PluginFailure::MemoryLimit(64 << 20).into()), Retry::Never);
    }

    #[test]
    fn errors_read_as_sentences() {
        let error = CallError::from(ChannelError::Unauthorized("token revoked".into()));
        assert_eq!(error.to_string(), "the provider refused the credentials: token revoked");
        assert_eq!(CallError::from(PluginFailure::MemoryLimit(64 << 20)).to_string(), "the plugin exceeded its memory limit of 64 MiB");
    }
}
