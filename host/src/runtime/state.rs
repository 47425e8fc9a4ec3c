//! The `state` import: durable per-channel key/value state, kept by the host.
//!
//! Every write is durable when the import returns (the contract says so); a read or write the
//! backend cannot do fails the whole call with [`PluginFailure::Host`](super::PluginFailure),
//! which callers retry, instead of the plugin going on as if it had stored its token.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::bindings::state::{self, Host};
use super::capability::{CallSetup, HostImportError};

/// Why the state backend could not answer, for the log and the failed call.
pub type StateError = String;

/// The longest key and value a plugin may keep: a plugin's tokens, cursors and (WhatsApp
/// on-premises) its templates fit many times over; a plugin that writes more fails its call.
/// (Postgres's index on keys takes at most about 2.7 KB; a key built from what a sender chose,
/// an email's Message-ID, is the plugin's to shorten: the email plugin keys a long one by its digest.)
pub const MAX_STATE_KEY_BYTES: usize = 1024;
pub const MAX_STATE_VALUE_BYTES: usize = 1 << 20;

/// Where channel state lives (the store implements it, on either backend).
#[async_trait::async_trait]
pub trait ChannelStateBackend: Send + Sync {
    async fn get(&self, channel_id: &str, key: &str) -> Result<Option<String>, StateError>;
    async fn set(&self, channel_id: &str, key: &str, value: &str) -> Result<(), StateError>;
    async fn remove(&self, channel_id: &str, key: &str) -> Result<(), StateError>;
    /// Keys starting with `prefix`, sorted.
    async fn keys(&self, channel_id: &str, prefix: &str) -> Result<Vec<String>, StateError>;
}

/// One call's view of state: the channel it is about (none: no state) and the backend.
pub(super) struct StateCtx {
    plugin_id: String,
    channel_id: Option<String>,
    backend: Arc<dyn ChannelStateBackend>,
}

impl StateCtx {
    pub(super) fn for_call(setup: &CallSetup, backend: Arc<dyn ChannelStateBackend>) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), channel_id: setup.channel.map(|c| c.channel_id.clone()), backend }
    }

    fn failed(&self, action: &str, error: StateError) -> wasmtime::Error {
        let channel = self.channel_id.as_deref().unwrap_or("-");
        tracing::error!(plugin = %self.plugin_id, channel, "{action} plugin state failed: {error}");
        wasmtime::Error::new(HostImportError(format!("{action} the channel's state failed: {error}")))
    }
}

/// Links the import for a store whose data holds a [`StateCtx`] (`get` finds it).
pub(super) fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut StateCtx) -> wasmtime::Result<()> {
    state::add_to_linker::<T, HasSelf<StateCtx>>(linker, get)
}

impl Host for StateCtx {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let Some(channel) = self.channel_id.as_deref() else { return Ok(None) };
        self.backend.get(channel, &key).await.map_err(|e| self.failed("reading", e))
    }

    async fn set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        let Some(channel) = self.channel_id.as_deref() else {
            tracing::warn!(plugin = %self.plugin_id, "state.set outside a channel call is ignored");
            return Ok(());
        };
        if key.len() > MAX_STATE_KEY_BYTES || value.len() > MAX_STATE_VALUE_BYTES {
            let why = format!(
                "a state key of {} bytes and value of {} bytes: at most {MAX_STATE_KEY_BYTES} and {MAX_STATE_VALUE_BYTES} bytes are kept",
                key.len(),
                value.len()
            );
            return Err(self.failed("writing", why));
        }
        self.backend.set(channel, &key, &value).await.map_err(|e| self.failed("writing", e))
    }

    async fn remove(&mut self, key: String) -> wasmtime::Result<()> {
        let Some(channel) = self.channel_id.as_deref() else { return Ok(()) };
        self.backend.remove(channel, &key).await.map_err(|e| self.failed("removing from", e))
    }

    async fn keys(&mut self, prefix: String) -> wasmtime::Result<Vec<String>> {
        let Some(channel) = self.channel_id.as_deref() else { return Ok(Vec::new()) };
        self.backend.keys(channel, &prefix).await.map_err(|e| self.failed("listing", e))
    }
}

/// For runtimes outside a server (CLI inspection, benchmarks): no channel, no state.
pub struct NoChannelState;

#[async_trait::async_trait]
impl ChannelStateBackend for NoChannelState {
    async fn get(&self, _channel_id: &str, _key: &str) -> Result<Option<String>, StateError> {
        Ok(None)
    }
    /// Dropped: nothing outside a server keeps a channel.
    async fn set(&self, _channel_id: &str, _key: &str, _value: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn remove(&self, _channel_id: &str, _key: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn keys(&self, _channel_id: &str, _prefix: &str) -> Result<Vec<String>, StateError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_keeps_no_key_or_value_past_the_limits() {
        let mut state = StateCtx { plugin_id: "hostile".into(), channel_id: Some("ch_1".into()), backend: Arc::new(NoChannelState) };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            assert!(state.set("token".into(), "x".repeat(MAX_STATE_VALUE_BYTES)).await.is_ok(), "at the limit");
            let refused = state.set("token".into(), "x".repeat(MAX_STATE_VALUE_BYTES + 1)).await.unwrap_err();
            assert!(refused.to_string().contains("at most"), "{refused}");
            assert!(state.set("k".repeat(MAX_STATE_KEY_BYTES + 1), "v".into()).await.is_err());
        });
    }
}
