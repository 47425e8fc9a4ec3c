//! The `log` import: plugin log lines go to the host's tracing, tagged with plugin and channel.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::bindings::log::{self, Host, Level};
use super::capability::CallSetup;
use super::doubles::ImportDoubles;

/// Who is logging: the fields every plugin line carries.
pub(super) struct LogCtx {
    plugin_id: String,
    channel_id: Option<String>,
    /// Hears every line too (the test kit captures them).
    doubles: Option<Arc<dyn ImportDoubles>>,
}

impl LogCtx {
    pub(super) fn for_call(setup: &CallSetup, doubles: Option<Arc<dyn ImportDoubles>>) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), channel_id: setup.channel.map(|c| c.channel_id.clone()), doubles }
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
        if let Some(doubles) = &self.doubles {
            let name = match level {
                Level::Trace => "trace",
                Level::Debug => "debug",
                Level::Info => "info",
                Level::Warn => "warn",
                Level::Error => "error",
            };
            doubles.log(name, &message);
        }
        match level {
            Level::Trace => tracing::trace!(target: "plugin", plugin, channel, "{message}"),
            Level::Debug => tracing::debug!(target: "plugin", plugin, channel, "{message}"),
            Level::Info => tracing::info!(target: "plugin", plugin, channel, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", plugin, channel, "{message}"),
            Level::Error => tracing::error!(target: "plugin", plugin, channel, "{message}"),
        }
    }
}
