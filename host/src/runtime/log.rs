//! The `log` import: plugin log lines go to the host's tracing, tagged with plugin and channel.

use super::CallState;
use super::bindings::log::{Host, Level};

impl Host for CallState {
    fn log(&mut self, level: Level, message: String) {
        let plugin = self.plugin_id.as_str();
        let channel = self.channel_id.as_deref().unwrap_or("-");
        match level {
            Level::Trace => tracing::trace!(target: "plugin", plugin, channel, "{message}"),
            Level::Debug => tracing::debug!(target: "plugin", plugin, channel, "{message}"),
            Level::Info => tracing::info!(target: "plugin", plugin, channel, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", plugin, channel, "{message}"),
            Level::Error => tracing::error!(target: "plugin", plugin, channel, "{message}"),
        }
    }
}
