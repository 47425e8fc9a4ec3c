//! The operator's provider app (contract 0.1.3): its settings, in any call of the plugin.

use crate::Property;
#[cfg(target_arch = "wasm32")]
use crate::bindings::switchboard::channel::app;

/// The app's settings (by the keys of [`Channel::app_settings_schema`](crate::Channel::app_settings_schema)),
/// or `None` when the operator has not set the app up.
/// Natively (a plugin's own unit tests) there is no host, hence no app: `None`.
pub fn settings() -> Option<Vec<Property>> {
    #[cfg(target_arch = "wasm32")]
    return app::settings();
    #[cfg(not(target_arch = "wasm32"))]
    None
}

/// One setting of the app, if the app is set up and has it.
pub fn setting(key: &str) -> Option<String> {
    settings()?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}
