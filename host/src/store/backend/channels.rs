//! Channels and their plugin state, on either backend.

use crate::store::channels::{Channel, Connected, SettingValue};
use crate::store::{Db, Scope, StoreResult};

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
impl ChannelStore for Db {
    async fn create_channel(&self, workspace_id: i64, plugin: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<Channel> {
        let (plugin, name, settings) = (plugin.to_owned(), name.to_owned(), OwnedSettings::of(settings));
        self.off_worker(move |db| Db::create_channel(db, workspace_id, &plugin, &name, &settings.values())).await
    }

    async fn mark_connected(&self, id: &str, connected: &Connected<'_>) -> StoreResult<()> {
        let (id, display_name, account, setup) = (id.to_owned(), connected.display_name.to_owned(), connected.external_account_id.to_owned(), connected.setup.to_vec());
        self.off_worker(move |db| Db::mark_connected(db, &id, &Connected { display_name: &display_name, external_account_id: &account, setup: &setup })).await
    }

    async fn update_channel(&self, id: &str, name: &str, settings: &[SettingValue<'_>]) -> StoreResult<()> {
        let (id, name, settings) = (id.to_owned(), name.to_owned(), OwnedSettings::of(settings));
        self.off_worker(move |db| Db::update_channel(db, &id, &name, &settings.values())).await
    }

    async fn delete_channel(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.off_worker(move |db| Db::delete_channel(db, &id)).await
    }

    async fn channel(&self, id: &str, scope: Scope) -> StoreResult<Option<Channel>> {
        let id = id.to_owned();
        self.off_worker(move |db| Db::channel(db, &id, scope)).await
    }

    async fn channels(&self, scope: Scope) -> StoreResult<Vec<Channel>> {
        self.off_worker(move |db| Db::channels(db, scope)).await
    }

    async fn channels_of_account(&self, plugin: &str, account: &str) -> StoreResult<Vec<Channel>> {
        let plugin = plugin.to_owned();
        let account = account.to_owned();
        self.off_worker(move |db| Db::channels_of_account(db, &plugin, &account)).await
    }

    async fn state_get(&self, channel_id: &str, key: &str) -> StoreResult<Option<String>> {
        let channel_id = channel_id.to_owned();
        let key = key.to_owned();
        self.off_worker(move |db| Db::state_get(db, &channel_id, &key)).await
    }

    async fn state_set(&self, channel_id: &str, key: &str, value: &str) -> StoreResult<()> {
        let channel_id = channel_id.to_owned();
        let key = key.to_owned();
        let value = value.to_owned();
        self.off_worker(move |db| Db::state_set(db, &channel_id, &key, &value)).await
    }

    async fn state_keys(&self, channel_id: &str, prefix: &str) -> StoreResult<Vec<String>> {
        let channel_id = channel_id.to_owned();
        let prefix = prefix.to_owned();
        self.off_worker(move |db| Db::state_keys(db, &channel_id, &prefix)).await
    }

    async fn state_remove(&self, channel_id: &str, key: &str) -> StoreResult<()> {
        let channel_id = channel_id.to_owned();
        let key = key.to_owned();
        self.off_worker(move |db| Db::state_remove(db, &channel_id, &key)).await
    }
}

/// Settings copied for a call on a blocking thread (see `Db::off_worker`).
pub(super) struct OwnedSettings(Vec<(String, String, bool)>);

impl OwnedSettings {
    pub(super) fn of(settings: &[SettingValue<'_>]) -> Self {
        Self(settings.iter().map(|s| (s.key.to_owned(), s.value.to_owned(), s.secret)).collect())
    }

    pub(super) fn values(&self) -> Vec<SettingValue<'_>> {
        self.0.iter().map(|(key, value, secret)| SettingValue { key, value, secret: *secret }).collect()
    }
}
