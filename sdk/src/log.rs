//! Logging through the host, which tags each line with the plugin and channel.
//! Never log secrets: settings hold them in clear. Natively (a plugin's unit tests) a line goes
//! to standard error, so code under test may log.

use crate::bindings::switchboard::channel::log::Level;

fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::switchboard::channel::log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Detail for following a call step by step.
pub fn trace(message: impl AsRef<str>) {
    log(Level::Trace, message.as_ref());
}

/// What helps find a problem.
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message.as_ref());
}

/// What happened.
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message.as_ref());
}

/// Something went wrong and the call copes.
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message.as_ref());
}

/// Something went wrong and the call fails.
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message.as_ref());
}
