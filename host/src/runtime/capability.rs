//! What every capability (`app`, `files`, `holds`, `log`, `outbound`, `smtp`, `state`) shares,
//! below them all: the call they are set up for, and their failure for the host's own reasons.
//! `call` composes the capabilities' contexts; the capabilities know nothing of it.

use std::time::Instant;

use super::types::ChannelContext;

/// What every capability may take from the call being set up.
pub(super) struct CallSetup<'a> {
    pub plugin_id: &'a str,
    /// The channel the call is about, if any (`connect`, `send`, webhooks; not `manifest`).
    pub channel: Option<&'a ChannelContext>,
    /// When the call's time is up.
    pub deadline: Instant,
}

/// An import that could not do its job for the host's own reasons (not the plugin's): the
/// call fails with [`PluginFailure::Host`](super::PluginFailure::Host).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct HostImportError(pub String);
