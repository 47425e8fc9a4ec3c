//! Provider apps: the operator's app per plugin (settings, secrets sealed) and the verify
//! token the host made for it; and which channel a provider account belongs to.

use super::{SecretBox, StoreResult};
use super::model::ProviderApp;

/// A provider app's row as stored (secret settings and the verify token sealed).
pub(crate) struct RawProviderApp {
    pub(crate) settings: String,
    pub(crate) verify_token: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl RawProviderApp {
    /// `plugin`'s app with its secrets opened.
    pub(crate) fn open(self, plugin: &str, secrets: &SecretBox) -> StoreResult<ProviderApp> {
        Ok(ProviderApp {
            plugin: plugin.to_owned(),
            settings: secrets.open_settings(&self.settings, &format!("provider app {plugin}"))?,
            verify_token: secrets.open(&self.verify_token)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}
