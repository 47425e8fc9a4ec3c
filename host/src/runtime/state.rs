//! The `state` import: durable per-channel key/value state, kept by the host.

use super::CallState;
use super::bindings::state::Host;

/// Where channel state lives (the store implements it). Calls are short and synchronous.
pub trait ChannelStateBackend: Send + Sync {
    fn get(&self, channel_id: &str, key: &str) -> Option<String>;
    fn set(&self, channel_id: &str, key: &str, value: &str);
    fn remove(&self, channel_id: &str, key: &str);
    /// Keys starting with `prefix`, sorted.
    fn keys(&self, channel_id: &str, prefix: &str) -> Vec<String>;
}

impl Host for CallState {
    fn get(&mut self, key: String) -> Option<String> {
        let channel = self.channel_id.as_deref()?;
        self.state.get(channel, &key)
    }

    fn set(&mut self, key: String, value: String) {
        match self.channel_id.as_deref() {
            Some(channel) => self.state.set(channel, &key, &value),
            None => tracing::warn!(plugin = %self.plugin_id, "state.set outside a channel call is ignored"),
        }
    }

    fn remove(&mut self, key: String) {
        if let Some(channel) = self.channel_id.as_deref() {
            self.state.remove(channel, &key);
        }
    }

    fn keys(&mut self, prefix: String) -> Vec<String> {
        match self.channel_id.as_deref() {
            Some(channel) => self.state.keys(channel, &prefix),
            None => Vec::new(),
        }
    }
}

/// For runtimes outside a server (CLI inspection, benchmarks): no channel, no state.
pub struct NoChannelState;

impl ChannelStateBackend for NoChannelState {
    fn get(&self, _channel_id: &str, _key: &str) -> Option<String> {
        None
    }
    fn set(&self, _channel_id: &str, _key: &str, _value: &str) {}
    fn remove(&self, _channel_id: &str, _key: &str) {}
    fn keys(&self, _channel_id: &str, _prefix: &str) -> Vec<String> {
        Vec::new()
    }
}
