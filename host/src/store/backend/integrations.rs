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
        Db::provider_app(self, plugin)
    }

    async fn set_provider_app(&self, plugin: &str, settings: &[SettingValue<'_>]) -> StoreResult<ProviderApp> {
        Db::set_provider_app(self, plugin, settings)
    }

    async fn delete_provider_app(&self, plugin: &str) -> StoreResult<bool> {
        Db::delete_provider_app(self, plugin)
    }

    async fn create_flow(&self, flow: &NewFlow<'_>) -> StoreResult<Flow> {
        Db::create_flow(self, flow)
    }

    async fn flow(&self, state: &str) -> StoreResult<Option<Flow>> {
        Db::flow(self, state)
    }

    async fn transition_flow(&self, state: &str, from: FlowStatus, to: FlowStatus) -> StoreResult<bool> {
        Db::transition_flow(self, state, from, to)
    }

    async fn flow_ready(&self, state: &str, accounts: &[FlowAccount]) -> StoreResult<()> {
        Db::flow_ready(self, state, accounts)
    }

    async fn flow_failed(&self, state: &str, error: &str) -> StoreResult<()> {
        Db::flow_failed(self, state, error)
    }

    async fn flow_connected(&self, state: &str, channel_id: &str) -> StoreResult<()> {
        Db::flow_connected(self, state, channel_id)
    }
}
