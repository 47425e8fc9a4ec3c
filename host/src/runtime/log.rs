//! The `log` import: plugin log lines go to the host's tracing, tagged with plugin and channel.
//! A call logs within a budget (lines, bytes, each line's length), and a line's control
//! characters are escaped: a plugin neither floods the host's log nor writes lines that read as
//! the host's own.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::bindings::log::{self, Host, Level};
use super::capability::CallSetup;
use super::doubles::ImportDoubles;

/// Lines one call may log, their bytes together, and one line's: past the budget, lines are
/// dropped (the first dropped one says so).
pub(super) const LINES_PER_CALL: usize = 200;
pub(super) const BYTES_PER_CALL: usize = 64 << 10;
pub(super) const BYTES_PER_LINE: usize = 4 << 10;

/// Who is logging: the fields every plugin line carries, and what of the call's budget is left.
pub(super) struct LogCtx {
    plugin_id: String,
    channel_id: Option<String>,
    /// Hears every line too (the test kit captures them).
    doubles: Option<Arc<dyn ImportDoubles>>,
    lines: usize,
    bytes: usize,
    /// Over the budget: the call's later lines are dropped.
    dropping: bool,
}

impl LogCtx {
    pub(super) fn for_call(setup: &CallSetup, doubles: Option<Arc<dyn ImportDoubles>>) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), channel_id: setup.channel.map(|c| c.channel_id.clone()), doubles, lines: 0, bytes: 0, dropping: false }
    }
}

/// The line as the host's log shows it: control characters escaped (a newline would start a
/// line that reads as the host's), at most [`BYTES_PER_LINE`] bytes of it.
fn shown(message: &str) -> String {
    let mut shown = String::with_capacity(message.len().min(BYTES_PER_LINE));
    for c in message.chars() {
        if shown.len() >= BYTES_PER_LINE {
            shown.push_str(" …(cut)");
            break;
        }
        match c.is_control() {
            true => shown.extend(c.escape_default()),
            false => shown.push(c),
        }
    }
    shown
}

/// Links the import for a store whose data holds a [`LogCtx`] (`get` finds it).
pub(super) fn add_to_linker<T: 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut LogCtx) -> wasmtime::Result<()> {
    log::add_to_linker::<T, HasSelf<LogCtx>>(linker, get)
}

impl Host for LogCtx {
    fn log(&mut self, level: Level, message: String) {
        if self.dropping {
            return;
        }
        self.lines += 1;
        // What is shown counts: a long line is cut to `BYTES_PER_LINE`, not the rest of the call dropped.
        self.bytes += message.len().min(BYTES_PER_LINE);
        if self.lines > LINES_PER_CALL || self.bytes > BYTES_PER_CALL {
            self.dropping = true;
            let channel = self.channel_id.as_deref().unwrap_or("-");
            tracing::warn!(target: "plugin", plugin = %self.plugin_id, channel, "the call logged more than {LINES_PER_CALL} lines or {BYTES_PER_CALL} bytes: the rest of its lines are dropped");
            return;
        }
        let message = shown(&message);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> LogCtx {
        LogCtx { plugin_id: "hostile".into(), channel_id: None, doubles: None, lines: 0, bytes: 0, dropping: false }
    }

    #[test]
    fn a_line_cannot_pass_for_the_hosts_own_nor_run_on() {
        assert_eq!(shown("ok\n2026-11-29T12:00:00Z  INFO switchboard: operator signed in"), "ok\\n2026-11-29T12:00:00Z  INFO switchboard: operator signed in");
        assert_eq!(shown("tab\there, ümlaut kept"), "tab\\there, ümlaut kept");
        let long = shown(&"x".repeat(BYTES_PER_LINE * 3));
        assert!(long.len() < BYTES_PER_LINE + 16 && long.ends_with("…(cut)"), "{}", long.len());
    }

    #[test]
    fn a_call_logs_within_its_budget() {
        let mut log = ctx();
        for n in 0..LINES_PER_CALL + 50 {
            log.log(Level::Info, format!("line {n}"));
        }
        assert_eq!((log.lines, log.dropping), (LINES_PER_CALL + 1, true), "counting stops at the first line dropped");
        let mut log = ctx();
        log.log(Level::Info, "x".repeat(BYTES_PER_CALL * 2));
        assert!(!log.dropping, "one long line is cut, not counted whole");
        for _ in 0..BYTES_PER_CALL / BYTES_PER_LINE {
            log.log(Level::Info, "x".repeat(BYTES_PER_LINE));
        }
        assert!(log.dropping, "the bytes' budget");
    }
}
