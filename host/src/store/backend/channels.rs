//! Channels and their plugin state: each operation written once for both backends (see
//! `store::sql`; the rows and statements are in `store::channels`). Settings, the webhook secret
//! and state values are sealed before a body and opened after it.

use crate::store::channel_cache::KeepsChannels;
use crate::store::channels::*;
use crate::store::model::{Channel, ChannelStatus, Connected, SettingValue};
use crate::store::row::ReadRow;
use crate::store::sql::{RunSql, body};
use crate::store::{Scope, SecretBox, StoreError, StoreResult, now_ms, storable};

#[async_trait::async_trait]
pub trait ChannelStore: Send + Sync {
    /// A channel in the `connecting` state with a fresh id and webhook secret.
    async fn create_channel(&self, workspace_id: i64, plugin: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<Channel>;
    /// What connect() reported; the channel becomes active (listed).
    async fn mark_connected(&self, id: &str, connected: &Connected<'_>) -> StoreResult<()>;
    /// Replaces the name and settings; `NotFound` for no such channel in `scope`.
    /// `read_at`: the channel's `updated_at` when the change was decided on it; changed since
    /// (another request's change came first), nothing changes and it is `ChangedMeanwhile`.
    async fn update_channel(&self, id: &str, scope: Scope, name: &str, settings: &[SettingValue<'_>], read_at: Option<i64>) -> StoreResult<()>;
    /// Deletes a channel and everything under it; whether it existed in `scope`.
    async fn delete_channel(&self, id: &str, scope: Scope) -> StoreResult<bool>;
    /// Settings and webhook secret opened; `None` outside `scope`.
    async fn channel(&self, id: &str, scope: Scope) -> StoreResult<Option<Channel>>;
    /// Active channels in `scope`, oldest first.
    async fn channels(&self, scope: Scope) -> StoreResult<Vec<Channel>>;
    /// The active channels of `plugin` connected with this provider account, oldest first.
    async fn channels_of_account(&self, plugin: &str, account: &str) -> StoreResult<Vec<Channel>>;
    /// A plugin's state value (sealed at rest).
    async fn state_get(&self, channel_id: &str, key: &str) -> StoreResult<Option<String>>;
    async fn state_set(&self, channel_id: &str, key: &str, value: &str) -> StoreResult<()>;
    /// State keys that start with `prefix`, sorted.
    async fn state_keys(&self, channel_id: &str, prefix: &str) -> StoreResult<Vec<String>>;
    async fn state_remove(&self, channel_id: &str, key: &str) -> StoreResult<()>;
}

#[async_trait::async_trait]
impl<S: RunSql + KeepsChannels> ChannelStore for S {
    async fn create_channel(&self, workspace_id: i64, plugin: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<Channel> {
        let (id, webhook_secret) = new_channel_identity();
        let (plugin, name, settings, webhook_secret) = (plugin.to_owned(), name.to_owned(), self.secrets().seal_settings(settings), self.secrets().seal(&webhook_secret));
        let created = id.clone();
        let insert = body(move |sql| {
            Box::pin(async move {
                let connecting = ChannelStatus::Connecting.as_str();
                if sql.is_postgres() {
                    // Takes turns with a removal of the plugin's app (`delete_provider_app`) and
                    // with the workspace's deletion (`delete_workspace`).
                    sql.rows("SELECT plugin FROM provider_apps WHERE plugin = $1 FOR SHARE", &[&plugin]).await?;
                    sql.rows("SELECT id FROM workspaces WHERE id = $1 FOR KEY SHARE", &[&workspace_id]).await?;
                }
                match sql.execute(INSERT_CHANNEL, &[&created, &workspace_id, &plugin, &name, &connecting, &settings, &webhook_secret, &now_ms()]).await? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            })
        });
        self.write(insert).await?;
        self.channel(&id, Scope::Every).await?.ok_or(StoreError::NotFound)
    }

    async fn mark_connected(&self, id: &str, connected: &Connected<'_>) -> StoreResult<()> {
        // JSON writes a NUL as `\u0000`, which Postgres's text keeps; the two names go as they are.
        let setup = serde_json::to_string(connected.setup).expect("setup entries serialize");
        let (id, display_name, account) = (id.to_owned(), storable(connected.display_name), storable(connected.external_account_id));
        self.write(body(move |sql| Box::pin(async move { sql.execute(MARK_CONNECTED, &[&id, &display_name, &account, &setup, &now_ms()]).await.map(drop) }))).await
    }

    async fn update_channel(&self, id: &str, scope: Scope, name: &str, settings: &[SettingValue<'_>], read_at: Option<i64>) -> StoreResult<()> {
        let (id, name, settings) = (id.to_owned(), name.to_owned(), self.secrets().seal_settings(settings));
        self.write(body(move |sql| {
            Box::pin(async move {
                if sql.execute(UPDATE_CHANNEL, &[&id, &name, &settings, &now_ms(), &scope.workspace(), &read_at]).await? > 0 {
                    return Ok(());
                }
                let there = sql.row("SELECT id FROM channels WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id)", &[&id, &scope.workspace()]).await?.is_some();
                Err(if there && read_at.is_some() { StoreError::ChangedMeanwhile } else { StoreError::NotFound })
            })
        }))
        .await
    }

    async fn delete_channel(&self, id: &str, scope: Scope) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(body(move |sql| Box::pin(async move { Ok(sql.execute(DELETE_CHANNEL, &[&id, &scope.workspace()]).await? > 0) }))).await
    }

    async fn channel(&self, id: &str, scope: Scope) -> StoreResult<Option<Channel>> {
        let cache = self.channel_cache();
        if let Some(kept) = cache.get(id, scope) {
            return Ok(kept);
        }
        let count = cache.count();
        let id = id.to_owned();
        let raw = self.read(body(move |sql| Box::pin(async move { channel_in(sql, &id, scope).await }))).await?;
        let channel = raw.map(|raw| raw.open(self.secrets())).transpose()?;
        if let Some(channel) = &channel {
            cache.keep(count, channel);
        }
        Ok(channel)
    }

    async fn channels(&self, scope: Scope) -> StoreResult<Vec<Channel>> {
        let raws = self.read(body(move |sql| Box::pin(async move { Ok(sql.rows(&channels_sql(&format!("{ACTIVE_IN_SCOPE} AND {}", of_bot("id", 2))), &[&scope.workspace(), &scope.bot()]).await?.iter().map(raw_channel).collect::<Vec<_>>()) }))).await?;
        raws.into_iter().map(|raw| raw.open(self.secrets())).collect()
    }

    async fn channels_of_account(&self, plugin: &str, account: &str) -> StoreResult<Vec<Channel>> {
        let (plugin, account) = (plugin.to_owned(), account.to_owned());
        let raws = self.read(body(move |sql| Box::pin(async move { Ok(sql.rows(&channels_sql(OF_ACCOUNT), &[&plugin, &account]).await?.iter().map(raw_channel).collect::<Vec<_>>()) }))).await?;
        raws.into_iter().map(|raw| raw.open(self.secrets())).collect()
    }

    async fn state_get(&self, channel_id: &str, key: &str) -> StoreResult<Option<String>> {
        let (channel_id, key) = (channel_id.to_owned(), key.to_owned());
        let stored = self.read(body(move |sql| Box::pin(async move { Ok(sql.row(STATE_GET, &[&channel_id, &key]).await?.map(|row| row.text(0))) }))).await?;
        // Values from before state was sealed are read as they are.
        stored.map(|value| if SecretBox::is_sealed(&value) { self.secrets().open(&value) } else { Ok(value) }).transpose()
    }

    async fn state_set(&self, channel_id: &str, key: &str, value: &str) -> StoreResult<()> {
        let (channel_id, key, sealed) = (channel_id.to_owned(), key.to_owned(), self.secrets().seal(value));
        self.write(body(move |sql| Box::pin(async move { sql.execute(STATE_SET, &[&channel_id, &key, &sealed]).await.map(drop) }))).await
    }

    async fn state_keys(&self, channel_id: &str, prefix: &str) -> StoreResult<Vec<String>> {
        let (channel_id, prefix) = (channel_id.to_owned(), prefix.to_owned());
        self.read(body(move |sql| {
            Box::pin(async move {
                let statement = if sql.is_postgres() { STATE_KEYS_POSTGRES } else { STATE_KEYS_SQLITE };
                Ok(sql.rows(statement, &[&channel_id, &prefix]).await?.iter().map(|row| row.text(0)).collect())
            })
        }))
        .await
    }

    async fn state_remove(&self, channel_id: &str, key: &str) -> StoreResult<()> {
        let (channel_id, key) = (channel_id.to_owned(), key.to_owned());
        self.write(body(move |sql| Box::pin(async move { sql.execute(STATE_REMOVE, &[&channel_id, &key]).await.map(drop) }))).await
    }
}
