//! Channels and their plugin state, on either backend.

use crate::store::channels::{Channel, Connected, SettingValue};
use crate::store::{Db, StoreResult};

#[async_trait::async_trait]
pub trait ChannelStore: Send + Sync {
    /// A channel in the `connecting` state with a fresh id and webhook secret.
    async fn create_channel(&self, workspace_id: i64, plugin: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<Channel>;
    /// What connect() reported; the channel becomes active (listed).
    async fn mark_connected(&self, id: &str, connected: &Connected<'_>) -> StoreResult<()>;
    /// Replaces the name and settings; `NotFound` for no such channel.
    async fn update_channel(&self, id: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<()>;
    /// Deletes a channel and everything under it; whether it existed.
    async fn delete_channel(&self, id: &str) -> StoreResult<bool>;
    /// Settings and webhook secret opened.
    async fn channel(&self, id: &str) -> StoreResult<Option<Channel>>;
    /// Active channels, oldest first.
    async fn channels(&self) -> StoreResult<Vec<Channel>>;
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
impl ChannelStore for Db {
    async fn create_channel(&self, workspace_id: i64, plugin: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<Channel> {
        Db::create_channel(self, workspace_id, plugin, name, settings)
    }

    async fn mark_connected(&self, id: &str, connected: &Connected<'_>) -> StoreResult<()> {
        Db::mark_connected(self, id, connected)
    }

    async fn update_channel(&self, id: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<()> {
        Db::update_channel(self, id, name, settings)
    }

    async fn delete_channel(&self, id: &str) -> StoreResult<bool> {
        Db::delete_channel(self, id)
    }

    async fn channel(&self, id: &str) -> StoreResult<Option<Channel>> {
        Db::channel(self, id)
    }

    async fn channels(&self) -> StoreResult<Vec<Channel>> {
        Db::channels(self)
    }

    async fn channels_of_account(&self, plugin: &str, account: &str) -> StoreResult<Vec<Channel>> {
        Db::channels_of_account(self, plugin, account)
    }

    async fn state_get(&self, channel_id: &str, key: &str) -> StoreResult<Option<String>> {
        Db::state_get(self, channel_id, key)
    }

    async fn state_set(&self, channel_id: &str, key: &str, value: &str) -> StoreResult<()> {
        Db::state_set(self, channel_id, key, value)
    }

    async fn state_keys(&self, channel_id: &str, prefix: &str) -> StoreResult<Vec<String>> {
        Db::state_keys(self, channel_id, prefix)
    }

    async fn state_remove(&self, channel_id: &str, key: &str) -> StoreResult<()> {
        Db::state_remove(self, channel_id, key)
    }
}
