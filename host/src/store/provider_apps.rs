//! Provider apps: the operator's app per plugin (settings, secrets sealed) and the verify
//! token the host made for it; and which channel a provider account belongs to.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::channels::SettingValue;
use super::{Db, SecretBox, StoreResult, now_ms, random_token, Cached};

#[derive(Debug, Clone)]
pub struct ProviderApp {
    pub plugin: String,
    pub settings: BTreeMap<String, String>,
    pub verify_token: String,
    pub created_at: i64,
    pub updated_at: i64,
}

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

impl Db {
    pub fn provider_app(&self, plugin: &str) -> StoreResult<Option<ProviderApp>> {
        let row = self
            .reader()
            .cached_row(
                "SELECT settings, verify_token, created_at, updated_at FROM provider_apps WHERE plugin = ?1",
                [plugin],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?, row.get::<_, i64>(3)?)),
            )
            .optional()?;
        let Some((settings, verify_token, created_at, updated_at)) = row else { return Ok(None) };
        RawProviderApp { settings, verify_token, created_at, updated_at }.open(plugin, &self.secrets).map(Some)
    }

    /// Sets a plugin's app; the verify token is made the first time and kept after that.
    pub fn set_provider_app(&self, plugin: &str, settings: &[SettingValue<'_>]) -> StoreResult<ProviderApp> {
        let now = now_ms();
        self.conn().cached_execute(
            "INSERT INTO provider_apps (plugin, settings, verify_token, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (plugin) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            params![plugin, self.secrets.seal_settings(settings), self.secrets.seal(&random_token(32)), now],
        )?;
        self.provider_app(plugin)?.ok_or(super::StoreError::NotFound)
    }

    pub fn delete_provider_app(&self, plugin: &str) -> StoreResult<bool> {
        Ok(self.conn().cached_execute("DELETE FROM provider_apps WHERE plugin = ?1", [plugin])? > 0)
    }
}
