//! Provider apps and provider logins (OAuth flows), on either backend.

use crate::store::channels::SettingValue;
use crate::store::oauth::{Flow, FlowAccount, FlowStatus, NewFlow};
use crate::store::provider_apps::ProviderApp;
use crate::store::{Db, StoreResult};

#[async_trait::async_trait]
pub trait IntegrationStore: Send + Sync {
    // Provider apps: the operator's app per plugin.
    /// A plugin's app, its secret settings and verify token opened.
    async fn provider_app(&self, plugin: &str) -> StoreResult<Option<ProviderApp>>;
    /// Sets a plugin's app (secret settings sealed); the verify token is made the first time and
    /// kept after that.
    async fn set_provider_app(&self, plugin: &str, settings: &[SettingValue<'_>]) -> StoreResult<ProviderApp>;
    /// Removes a plugin's app; whether it existed.
    async fn delete_provider_app(&self, plugin: &str) -> StoreResult<bool>;

    // Provider logins: started once, completed once by the provider's callback, used once.
    /// Starts a flow, waiting for its callback until it expires (expired flows are deleted).
    async fn create_flow(&self, flow: &NewFlow<'_>) -> StoreResult<Flow>;
    /// A flow that has not expired, what it holds opened.
    async fn flow(&self, state: &str) -> StoreResult<Option<Flow>>;
    /// Moves an unexpired flow from `from` to `to`; whether it was in `from` (of callers racing,
    /// on any node, exactly one wins).
    async fn transition_flow(&self, state: &str, from: FlowStatus, to: FlowStatus) -> StoreResult<bool>;
    /// The login finished: these accounts (sealed at rest) may be connected.
    async fn flow_ready(&self, state: &str, accounts: &[FlowAccount]) -> StoreResult<()>;
    /// The login failed, and why.
    async fn flow_failed(&self, state: &str, error: &str) -> StoreResult<()>;
    /// The flow made its channel; the settings and tokens it held are dropped.
    async fn flow_connected(&self, state: &str, channel_id: &str) -> StoreResult<()>;
}

#[async_trait::async_trait]
impl IntegrationStore for Db {
    async fn provider_app(&self, plugin: &str) -> StoreResult<Option<ProviderApp>> {
        let plugin = plugin.to_owned();
        self.off_worker(move |db| Db::provider_app(db, &plugin)).await
    }

    async fn set_provider_app(&self, plugin: &str, settings: &[SettingValue<'_>]) -> StoreResult<ProviderApp> {
        let (plugin, settings) = (plugin.to_owned(), super::channels::OwnedSettings::of(settings));
        self.off_worker(move |db| Db::set_provider_app(db, &plugin, &settings.values())).await
    }

    async fn delete_provider_app(&self, plugin: &str) -> StoreResult<bool> {
        let plugin = plugin.to_owned();
        self.off_worker(move |db| Db::delete_provider_app(db, &plugin)).await
    }

    async fn create_flow(&self, flow: &NewFlow<'_>) -> StoreResult<Flow> {
        let (state, plugin, channel_id, name) = (flow.state.to_owned(), flow.plugin.to_owned(), flow.channel_id.map(str::to_owned), flow.name.map(str::to_owned));
        let (workspace_id, settings, properties, redirect_url) = (flow.workspace_id, flow.settings.clone(), flow.properties.to_vec(), flow.redirect_url.to_owned());
        self.off_worker(move |db| {
            let flow = NewFlow {
                workspace_id,
                state: &state,
                plugin: &plugin,
                channel_id: channel_id.as_deref(),
                name: name.as_deref(),
                settings: &settings,
                properties: &properties,
                redirect_url: &redirect_url,
            };
            Db::create_flow(db, &flow)
        })
        .await
    }

    async fn flow(&self, state: &str) -> StoreResult<Option<Flow>> {
        let state = state.to_owned();
        self.off_worker(move |db| Db::flow(db, &state)).await
    }

    async fn transition_flow(&self, state: &str, from: FlowStatus, to: FlowStatus) -> StoreResult<bool> {
        let state = state.to_owned();
        self.off_worker(move |db| Db::transition_flow(db, &state, from, to)).await
    }

    async fn flow_ready(&self, state: &str, accounts: &[FlowAccount]) -> StoreResult<()> {
        let state = state.to_owned();
        let accounts = accounts.to_vec();
        self.off_worker(move |db| Db::flow_ready(db, &state, &accounts)).await
    }

    async fn flow_failed(&self, state: &str, error: &str) -> StoreResult<()> {
        let state = state.to_owned();
        let error = error.to_owned();
        self.off_worker(move |db| Db::flow_failed(db, &state, &error)).await
    }

    async fn flow_connected(&self, state: &str, channel_id: &str) -> StoreResult<()> {
        let state = state.to_owned();
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| Db::flow_connected(db, &state, &channel_id)).await
    }
}
