//! Channels: a plugin, a name, settings (secrets sealed), the host-made webhook secret,
//! and what connect returned.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, params};

use super::{Cached, Db, Scope, SecretBox, StoreError, StoreResult, now_ms, random_token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelStatus {
    /// The row exists so connect() can keep state; not listed until connect succeeds.
    Connecting,
    Active,
}

impl ChannelStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Active => "active",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: String,
    /// The business it belongs to.
    pub workspace_id: i64,
    pub plugin: String,
    pub name: String,
    pub status: ChannelStatus,
    /// Settings in clear (secrets opened).
    pub settings: BTreeMap<String, String>,
    pub webhook_secret: String,
    pub display_name: Option<String>,
    pub external_account_id: Option<String>,
    pub setup: Vec<SetupEntry>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One setup instruction from connect (see the contract's `setup-item`).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SetupEntry {
    pub key: String,
    pub label: String,
    pub value: String,
}

/// A setting to store, and whether it is sealed.
pub struct SettingValue<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub secret: bool,
}

/// What connect() reported, kept on the channel.
pub struct Connected<'a> {
    pub display_name: &'a str,
    pub external_account_id: &'a str,
    pub setup: &'a [SetupEntry],
}

impl Db {
    /// Creates a channel in the `connecting` state with a fresh id and webhook secret.
    pub fn create_channel(&self, workspace_id: i64, plugin: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<Channel> {
        let (id, webhook_secret) = new_channel_identity();
        let now = now_ms();
        self.conn().cached_execute(
            "INSERT INTO channels (id, workspace_id, plugin, name, status, settings, webhook_secret, created_at, updated_at)
             VALUES (?1, ?8, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![
                id,
                plugin,
                name,
                ChannelStatus::Connecting.as_str(),
                self.secrets.seal_settings(settings),
                self.secrets.seal(&webhook_secret),
                now,
                workspace_id
            ],
        )?;
        self.channel(&id, Scope::Every)?.ok_or(StoreError::NotFound)
    }

    pub fn mark_connected(&self, id: &str, connected: &Connected<'_>) -> StoreResult<()> {
        let setup = serde_json::to_string(connected.setup).expect("setup entries serialize");
        self.conn().cached_execute(
            "UPDATE channels SET status = 'active', display_name = ?2, external_account_id = ?3, setup = ?4, updated_at = ?5
             WHERE id = ?1",
            params![id, connected.display_name, connected.external_account_id, setup, now_ms()],
        )?;
        Ok(())
    }

    /// Replaces the name and settings of a channel.
    pub fn update_channel(&self, id: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<()> {
        let changed = self.conn().cached_execute(
            "UPDATE channels SET name = ?2, settings = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, name, self.secrets.seal_settings(settings), now_ms()],
        )?;
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Deletes a channel and everything under it (conversations, messages, outbox, state).
    pub fn delete_channel(&self, id: &str) -> StoreResult<bool> {
        Ok(self.conn().cached_execute("DELETE FROM channels WHERE id = ?1", [id])? > 0)
    }

    pub fn channel(&self, id: &str, scope: Scope) -> StoreResult<Option<Channel>> {
        let conn = self.reader();
        let row = conn
            .cached_row(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)"), params![id, scope.workspace()], raw_channel)
            .optional()?;
        row.map(|raw| self.open_channel(raw)).transpose()
    }

    /// Connected channels, oldest first.
    pub fn channels(&self, scope: Scope) -> StoreResult<Vec<Channel>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE status = 'active' AND (?1 IS NULL OR workspace_id = ?1) ORDER BY created_at, id"
        ))?;
        let raws = statement.query_map([scope.workspace()], raw_channel)?.collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(|raw| self.open_channel(raw)).collect()
    }

    /// The active channels of `plugin` connected with this provider account (a provider app's
    /// events are routed by it; normally one channel, but the same Page connected twice gets
    /// its events twice).
    pub fn channels_of_account(&self, plugin: &str, account: &str) -> StoreResult<Vec<Channel>> {
        let raws = {
            let conn = self.reader();
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {CHANNEL_COLUMNS} FROM channels
                 WHERE plugin = ?1 AND external_account_id = ?2 AND status = 'active' ORDER BY created_at, id"
            ))?;
            statement.query_map([plugin, account], raw_channel)?.collect::<Result<Vec<_>, _>>()?
        };
        raws.into_iter().map(|raw| self.open_channel(raw)).collect()
    }

    fn open_channel(&self, raw: RawChannel) -> StoreResult<Channel> {
        raw.open(&self.secrets)
    }

    /// Per-channel plugin state (the `state` import). Values are sealed at rest: plugins keep
    /// login tokens there.
    pub fn state_get(&self, channel_id: &str, key: &str) -> StoreResult<Option<String>> {
        let stored: Option<String> = self
            .reader()
            .cached_row("SELECT value FROM channel_state WHERE channel_id = ?1 AND key = ?2", [channel_id, key], |r| r.get(0))
            .optional()?;
        stored.map(|value| if SecretBox::is_sealed(&value) { self.secrets.open(&value) } else { Ok(value) }).transpose()
    }

    pub fn state_set(&self, channel_id: &str, key: &str, value: &str) -> StoreResult<()> {
        self.conn().cached_execute(
            "INSERT INTO channel_state (channel_id, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel_id, key) DO UPDATE SET value = excluded.value",
            [channel_id, key, &self.secrets.seal(value)],
        )?;
        Ok(())
    }

    /// State keys of a channel that start with `prefix`, sorted.
    pub fn state_keys(&self, channel_id: &str, prefix: &str) -> StoreResult<Vec<String>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT key FROM channel_state WHERE channel_id = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
        )?;
        let keys = statement.query_map([channel_id, prefix], |row| row.get(0))?.collect::<Result<_, _>>()?;
        Ok(keys)
    }

    pub fn state_remove(&self, channel_id: &str, key: &str) -> StoreResult<()> {
        self.conn().cached_execute("DELETE FROM channel_state WHERE channel_id = ?1 AND key = ?2", [channel_id, key])?;
        Ok(())
    }
}

/// A new channel's id and the secret its webhook URLs are signed with.
pub(crate) fn new_channel_identity() -> (String, String) {
    (format!("ch_{}", random_token(16).to_lowercase()), random_token(32))
}

/// The columns [`RawChannel`] reads, in its order (the same in both dialects).
pub(crate) const CHANNEL_COLUMNS: &str =
    "id, plugin, name, status, settings, webhook_secret, display_name, external_account_id, setup, created_at, updated_at, workspace_id";

/// A channel's row as stored (settings and webhook secret sealed).
pub(crate) struct RawChannel {
    pub(crate) id: String,
    pub(crate) plugin: String,
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) settings: String,
    pub(crate) webhook_secret: String,
    pub(crate) display_name: Option<String>,
    pub(crate) external_account_id: Option<String>,
    pub(crate) setup: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) workspace_id: i64,
}

impl RawChannel {
    /// The channel with its settings and webhook secret opened.
    pub(crate) fn open(self, secrets: &SecretBox) -> StoreResult<Channel> {
        let settings = secrets.open_settings(&self.settings, &format!("channel {}", self.id))?;
        Ok(Channel {
            status: if self.status == "active" { ChannelStatus::Active } else { ChannelStatus::Connecting },
            webhook_secret: secrets.open(&self.webhook_secret)?,
            setup: serde_json::from_str(&self.setup).unwrap_or_default(),
            settings,
            id: self.id,
            workspace_id: self.workspace_id,
            plugin: self.plugin,
            name: self.name,
            display_name: self.display_name,
            external_account_id: self.external_account_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn raw_channel(row: &Row<'_>) -> rusqlite::Result<RawChannel> {
    Ok(RawChannel {
        id: row.get(0)?,
        plugin: row.get(1)?,
        name: row.get(2)?,
        status: row.get(3)?,
        settings: row.get(4)?,
        webhook_secret: row.get(5)?,
        display_name: row.get(6)?,
        external_account_id: row.get(7)?,
        setup: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        workspace_id: row.get(11)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_settings_are_sealed_on_disk_and_open_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let settings = [
            SettingValue { key: "bot_token", value: "123:SECRET", secret: true },
            SettingValue { key: "api_base_url", value: "http://x", secret: false },
        ];
        let channel = db.create_channel(1, "telegram", "Support", &settings).unwrap();
        assert_eq!(channel.settings["bot_token"], "123:SECRET");
        let on_disk: String = db.conn().query_row("SELECT settings FROM channels", [], |r| r.get(0)).unwrap();
        assert!(!on_disk.contains("123:SECRET") && on_disk.contains("http://x"), "{on_disk}");
        assert!(db.channels(crate::store::Scope::Every).unwrap().is_empty(), "a connecting channel is not listed");
        db.mark_connected(&channel.id, &Connected { display_name: "@bot", external_account_id: "1", setup: &[] }).unwrap();
        assert_eq!(db.channels(crate::store::Scope::Every).unwrap().len(), 1);
    }

    #[test]
    fn plugin_state_is_sealed_on_disk_and_open_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = db.create_channel(1, "whatsapp", "Support", &[]).unwrap();
        db.state_set(&channel.id, "login_token", "eyJhbGciOi.SECRET").unwrap();
        assert_eq!(db.state_get(&channel.id, "login_token").unwrap().as_deref(), Some("eyJhbGciOi.SECRET"));
        let on_disk: String = db.conn().query_row("SELECT value FROM channel_state", [], |r| r.get(0)).unwrap();
        assert!(!on_disk.contains("SECRET"), "{on_disk}");
        assert_eq!(db.state_get(&channel.id, "other").unwrap(), None);
    }
}
