//! The `log` import: plugin log lines go to the host's tracing, tagged with plugin and channel.

use wasmtime::component::{HasSelf, Linker};

use super::bindings::log::{self, Host, Level};
use super::call::CallSetup;

/// Who is logging: the fields every plugin line carries.
pub(super) struct LogCtx {
    plugin_id: String,
    channel_id: Option<String>,
}

impl LogCtx {
    pub(super) fn for_call(setup: &CallSetup) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), channel_id: setup.channel.map(|c| c.channel_id.clone()) }
    }
}

/// Links the import for a store whose data holds a [`LogCtx`] (`get` finds it).
pub(super) fn add_to_linker<T: 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut LogCtx) -> wasmtime::Result<()> {
    log::add_to_linker::<T, HasSelf<LogCtx>>(linker, get)
}

impl Host for LogCtx {
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
