//! Provider logins in progress ("Connect with Facebook"), for any plugin with a provider
//! login: started by an admin, completed once by the provider's callback (the one-time
//! `state`), consumed by connecting one of the accounts it lists. What a flow holds (app
//! secrets, the accounts' tokens) is sealed at rest; an expired flow is deleted.

use serde::Serialize;

use super::{SecretBox, StoreError, StoreResult};
use super::model::{Flow, FlowStatus};

/// How long a flow lives: the login at the provider, then picking the account.
pub const FLOW_LIFETIME_MS: i64 = 30 * 60 * 1000;

/// The columns [`RawFlow`] reads, in its order (the same in both dialects).
pub(crate) const COLUMNS: &str = "state, plugin, channel_id, name, settings, properties, redirect_url, status, error, accounts,
    connected_channel_id, created_at, expires_at, workspace_id, started_by, channel_updated_at, browser_key_sha256";

/// A flow's row as stored (settings, properties and accounts sealed JSON).
pub(crate) struct RawFlow {
    pub(crate) state: String,
    pub(crate) plugin: String,
    pub(crate) channel_id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) settings: String,
    pub(crate) properties: String,
    pub(crate) redirect_url: String,
    pub(crate) status: String,
    pub(crate) error: Option<String>,
    pub(crate) accounts: Option<String>,
    pub(crate) connected_channel_id: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) workspace_id: i64,
    pub(crate) started_by: Option<i64>,
    pub(crate) channel_updated_at: Option<i64>,
    pub(crate) browser_key_sha256: Option<String>,
}

/// Flow data at rest: JSON, sealed.
pub(crate) fn seal_json(secrets: &SecretBox, value: &(impl Serialize + ?Sized)) -> String {
    secrets.seal(&serde_json::to_string(value).expect("flow data serializes"))
}

fn open_json<T: serde::de::DeserializeOwned>(secrets: &SecretBox, sealed: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(&secrets.open(sealed)?).map_err(|e| StoreError::Corrupt(format!("login flow {what}: {e}")))
}

impl RawFlow {
    /// The flow with what it holds opened.
    pub(crate) fn open(self, secrets: &SecretBox) -> StoreResult<Flow> {
        Ok(Flow {
            settings: open_json(secrets, &self.settings, "settings")?,
            properties: open_json(secrets, &self.properties, "properties")?,
            accounts: self.accounts.as_deref().map(|a| open_json(secrets, a, "accounts")).transpose()?.unwrap_or_default(),
            status: FlowStatus::parse(&self.status)?,
            state: self.state,
            plugin: self.plugin,
            channel_id: self.channel_id,
            name: self.name,
            redirect_url: self.redirect_url,
            error: self.error,
            connected_channel_id: self.connected_channel_id,
            created_at: self.created_at,
            expires_at: self.expires_at,
            workspace_id: self.workspace_id,
            started_by: self.started_by,
            channel_updated_at: self.channel_updated_at,
            browser_key_sha256: self.browser_key_sha256,
        })
    }
}
