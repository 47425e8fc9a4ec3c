//! Channels and their plugin state over Postgres: the same rows as SQLite's, settings and state
//! values sealed with the key every node shares.

use tokio_postgres::Row;

use super::PgStore;
use crate::store::backend::ChannelStore;
use crate::store::channels::{CHANNEL_COLUMNS, Channel, ChannelStatus, Connected, RawChannel, SettingValue, new_channel_identity};
use crate::store::{Scope, SecretBox, StoreError, StoreResult, now_ms};

pub(super) fn raw_channel(row: &Row) -> RawChannel {
    RawChannel {
        id: row.get(0),
        plugin: row.get(1),
        name: row.get(2),
        status: row.get(3),
        settings: row.get(4),
        webhook_secret: row.get(5),
        display_name: row.get(6),
        external_account_id: row.get(7),
        setup: row.get(8),
        created_at: row.get(9),
        updated_at: row.get(10),
        workspace_id: row.get(11),
    }
}

impl PgStore {
    async fn channels_where(&self, condition: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> StoreResult<Vec<Channel>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE {condition} ORDER BY created_at, id")).await?;
        client.query(&statement, params).await?.iter().map(|row| raw_channel(row).open(&self.secrets)).collect()
    }
}

#[async_trait::async_trait]
impl ChannelStore for PgStore {
    async fn create_channel(&self, workspace_id: i64, plugin: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<Channel> {
        let (id, webhook_secret) = new_channel_identity();
        let now = now_ms();
        self.client()
            .await?
            .execute(
                "INSERT INTO channels (id, workspace_id, plugin, name, status, settings, webhook_secret, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                &[&id, &workspace_id, &plugin, &name, &ChannelStatus::Connecting.as_str(), &self.secrets.seal_settings(settings), &self.secrets.seal(&webhook_secret), &now],
            )
            .await?;
        self.channel(&id, Scope::Every).await?.ok_or(StoreError::NotFound)
    }

    async fn mark_connected(&self, id: &str, connected: &Connected<'_>) -> StoreResult<()> {
        let setup = serde_json::to_string(connected.setup).expect("setup entries serialize");
        self.client()
            .await?
            .execute(
                "UPDATE channels SET status = 'active', display_name = $2, external_account_id = $3, setup = $4, updated_at = $5 WHERE id = $1",
                &[&id, &connected.display_name, &connected.external_account_id, &setup, &now_ms()],
            )
            .await?;
        Ok(())
    }

    async fn update_channel(&self, id: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<()> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE channels SET name = $2, settings = $3, updated_at = $4 WHERE id = $1",
                &[&id, &name, &self.secrets.seal_settings(settings), &now_ms()],
            )
            .await?;
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn delete_channel(&self, id: &str) -> StoreResult<bool> {
        Ok(self.client().await?.execute("DELETE FROM channels WHERE id = $1", &[&id]).await? > 0)
    }

    async fn channel(&self, id: &str, scope: Scope) -> StoreResult<Option<Channel>> {
        let client = self.client().await?;
        let statement =
            client.prepare_cached(&format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND ($2::BIGINT IS NULL OR workspace_id = $2)")).await?;
        client.query_opt(&statement, &[&id, &scope.workspace()]).await?.map(|row| raw_channel(&row).open(&self.secrets)).transpose()
    }

    async fn channels(&self, scope: Scope) -> StoreResult<Vec<Channel>> {
        self.channels_where("status = 'active' AND ($1::BIGINT IS NULL OR workspace_id = $1)", &[&scope.workspace()]).await
    }

    async fn channels_of_account(&self, plugin: &str, account: &str) -> StoreResult<Vec<Channel>> {
        self.channels_where("plugin = $1 AND external_account_id = $2 AND status = 'active'", &[&plugin, &account]).await
    }

    async fn state_get(&self, channel_id: &str, key: &str) -> StoreResult<Option<String>> {
        let client = self.client().await?;
        let statement = client.prepare_cached("SELECT value FROM channel_state WHERE channel_id = $1 AND key = $2").await?;
        let stored: Option<String> = client.query_opt(&statement, &[&channel_id, &key]).await?.map(|row| row.get(0));
        stored.map(|value| if SecretBox::is_sealed(&value) { self.secrets.open(&value) } else { Ok(value) }).transpose()
    }

    async fn state_set(&self, channel_id: &str, key: &str, value: &str) -> StoreResult<()> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO channel_state (channel_id, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (channel_id, key) DO UPDATE SET value = excluded.value",
            )
            .await?;
        client.execute(&statement, &[&channel_id, &key, &self.secrets.seal(value)]).await?;
        Ok(())
    }

    async fn state_keys(&self, channel_id: &str, prefix: &str) -> StoreResult<Vec<String>> {
        let client = self.client().await?;
        // `starts_with`, not LIKE: a prefix may hold `%` or `_`.
        let statement = client.prepare_cached("SELECT key FROM channel_state WHERE channel_id = $1 AND starts_with(key, $2) ORDER BY key COLLATE \"C\"").await?;
        Ok(client.query(&statement, &[&channel_id, &prefix]).await?.iter().map(|row| row.get(0)).collect())
    }

    async fn state_remove(&self, channel_id: &str, key: &str) -> StoreResult<()> {
        self.client().await?.execute("DELETE FROM channel_state WHERE channel_id = $1 AND key = $2", &[&channel_id, &key]).await?;
        Ok(())
    }
}
