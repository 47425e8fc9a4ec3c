//! Channels as stored: their status, settings and setup, a reconnect notice, the platform's
//! provider apps and provider logins (OAuth flows) that connect them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::{StoreError, StoreResult};

/// Where a channel is in its life: being connected, or serving.
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

/// A business's account on one provider, served by one plugin.
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

/// What became of a channel's hold on a provider resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// The channel holds it.
    Held,
    /// Another channel released it last and is tearing it down (until its channel is deleted,
    /// or the mark lapses): hold again after that, or the teardown undoes the set-up.
    Releasing { by: String },
}

/// Why a channel needs reconnecting: its provider refused the stored credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconnect {
    /// The provider's words.
    pub reason: String,
    /// When the credentials were first refused (ms).
    pub since: i64,
}

/// What removing the operator's app of a plugin did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppRemoval {
    Removed,
    /// No app was set up.
    NotFound,
    /// Channels of the plugin exist (connecting ones too), as (id, name): nothing was removed.
    InUse(Vec<(String, String)>),
}

/// The operator's app for one plugin (e.g. one Meta app for every customer's account), secrets opened.
#[derive(Debug, Clone)]
pub struct ProviderApp {
    pub plugin: String,
    pub settings: BTreeMap<String, String>,
    pub verify_token: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a provider login (OAuth flow) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStatus {
    /// Waiting for the provider's callback.
    Waiting,
    /// The callback came; the plugin is finishing the login.
    Finishing,
    /// The accounts are listed: one can be connected.
    Ready,
    /// The login failed (`error` says why); start again.
    Failed,
    /// An account is being connected.
    Connecting,
    /// Done: `connected_channel_id` is the channel.
    Connected,
}

impl FlowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Finishing => "finishing",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
        }
    }

    pub(crate) fn parse(text: &str) -> StoreResult<Self> {
        Ok(match text {
            "waiting" => Self::Waiting,
            "finishing" => Self::Finishing,
            "ready" => Self::Ready,
            "failed" => Self::Failed,
            "connecting" => Self::Connecting,
            "connected" => Self::Connected,
            other => return Err(StoreError::Corrupt(format!("unknown login flow status `{other}`"))),
        })
    }
}

/// One account a login gives access to, with the settings that connect it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowAccount {
    pub id: String,
    pub name: String,
    pub settings: Vec<(String, String)>,
}

/// A provider login: started by a person, finished by the provider's redirect, ending in channels.
#[derive(Debug, Clone)]
pub struct Flow {
    pub state: String,
    /// The workspace whose admin started it (the channel it makes belongs there).
    pub workspace_id: i64,
    pub plugin: String,
    /// The channel this login reconnects, or `None` for a new channel.
    pub channel_id: Option<String>,
    pub name: Option<String>,
    /// The settings entered before the login, in clear.
    pub settings: BTreeMap<String, String>,
    /// What the plugin's auth-start asked to keep until the callback.
    pub properties: Vec<(String, String)>,
    pub redirect_url: String,
    pub status: FlowStatus,
    pub error: Option<String>,
    pub accounts: Vec<FlowAccount>,
    pub connected_channel_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// The person who started it (`None`: an API token): only their browser finishes it.
    pub started_by: Option<i64>,
    /// A reconnect's channel `updated_at` when the login started (it reconnects only that version).
    pub channel_updated_at: Option<i64>,
    /// The SHA-256 (hex) of the key the start gave the browser that started it.
    pub browser_key_sha256: Option<String>,
}

/// A provider login to start.
pub struct NewFlow<'a> {
    pub workspace_id: i64,
    pub state: &'a str,
    pub plugin: &'a str,
    pub channel_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub settings: &'a BTreeMap<String, String>,
    pub properties: &'a [(String, String)],
    pub redirect_url: &'a str,
    pub started_by: Option<i64>,
    pub channel_updated_at: Option<i64>,
    pub browser_key_sha256: Option<&'a str>,
}
