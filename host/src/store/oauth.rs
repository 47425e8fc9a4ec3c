//! Provider logins in progress ("Connect with Facebook"), for any plugin with a provider
//! login: started by an admin, completed once by the provider's callback (the one-time
//! `state`), consumed by connecting one of the accounts it lists. What a flow holds (app
//! secrets, the accounts' tokens) is sealed at rest; an expired flow is deleted.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{Db, SecretBox, StoreError, StoreResult, now_ms, Cached};

/// How long a flow lives: the login at the provider, then picking the account.
pub const FLOW_LIFETIME_MS: i64 = 30 * 60 * 1000;

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
}

pub struct NewFlow<'a> {
    pub workspace_id: i64,
    pub state: &'a str,
    pub plugin: &'a str,
    pub channel_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub settings: &'a BTreeMap<String, String>,
    pub properties: &'a [(String, String)],
    pub redirect_url: &'a str,
}

/// The columns [`RawFlow`] reads, in its order (the same in both dialects).
pub(crate) const COLUMNS: &str = "state, plugin, channel_id, name, settings, properties, redirect_url, status, error, accounts,
    connected_channel_id, created_at, expires_at, workspace_id";

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
}

fn raw_flow(row: &Row<'_>) -> rusqlite::Result<RawFlow> {
    Ok(RawFlow {
        state: row.get(0)?,
        plugin: row.get(1)?,
        channel_id: row.get(2)?,
        name: row.get(3)?,
        settings: row.get(4)?,
        properties: row.get(5)?,
        redirect_url: row.get(6)?,
        status: row.get(7)?,
        error: row.get(8)?,
        accounts: row.get(9)?,
        connected_channel_id: row.get(10)?,
        created_at: row.get(11)?,
        expires_at: row.get(12)?,
        workspace_id: row.get(13)?,
    })
}

impl Db {
    /// Starts a flow, waiting for its callback until it expires.
    pub fn create_flow(&self, flow: &NewFlow<'_>) -> StoreResult<Flow> {
        self.purge_expired_flows()?;
        let now = now_ms();
        self.conn().cached_execute(
            &format!(
                "INSERT INTO oauth_flows ({COLUMNS}, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL, NULL, ?9, ?10, ?11, ?9)"
            ),
            params![
                flow.state,
                flow.plugin,
                flow.channel_id,
                flow.name,
                self.seal_json(flow.settings),
                self.seal_json(&flow.properties),
                flow.redirect_url,
                FlowStatus::Waiting.as_str(),
                now,
                now + FLOW_LIFETIME_MS,
                flow.workspace_id
            ],
        )?;
        self.flow(flow.state)?.ok_or(StoreError::NotFound)
    }

    /// A flow that has not expired.
    pub fn flow(&self, state: &str) -> StoreResult<Option<Flow>> {
        self.purge_expired_flows()?;
        let raw = self.reader().cached_row(&format!("SELECT {COLUMNS} FROM oauth_flows WHERE state = ?1"), [state], raw_flow).optional()?;
        raw.map(|raw| self.open_flow(raw)).transpose()
    }

    /// Moves an unexpired flow from `from` to `to`; whether it was in `from` (one caller wins).
    pub fn transition_flow(&self, state: &str, from: FlowStatus, to: FlowStatus) -> StoreResult<bool> {
        let changed = self.conn().cached_execute(
            "UPDATE oauth_flows SET status = ?3, updated_at = ?4 WHERE state = ?1 AND status = ?2 AND expires_at > ?4",
            params![state, from.as_str(), to.as_str(), now_ms()],
        )?;
        Ok(changed == 1)
    }

    /// The login finished: these accounts may be connected.
    pub fn flow_ready(&self, state: &str, accounts: &[FlowAccount]) -> StoreResult<()> {
        self.conn().cached_execute(
            "UPDATE oauth_flows SET status = 'ready', accounts = ?2, error = NULL, updated_at = ?3 WHERE state = ?1",
            params![state, self.seal_json(&accounts), now_ms()],
        )?;
        Ok(())
    }

    pub fn flow_failed(&self, state: &str, error: &str) -> StoreResult<()> {
        self.conn().cached_execute(
            "UPDATE oauth_flows SET status = 'failed', error = ?2, updated_at = ?3 WHERE state = ?1",
            params![state, error, now_ms()],
        )?;
        Ok(())
    }

    /// The flow made its channel; the settings and tokens it held are dropped.
    pub fn flow_connected(&self, state: &str, channel_id: &str) -> StoreResult<()> {
        self.conn().cached_execute(
            "UPDATE oauth_flows SET status = 'connected', connected_channel_id = ?2, accounts = NULL, settings = ?3,
                 properties = ?4, updated_at = ?5
             WHERE state = ?1",
            params![state, channel_id, self.seal_json(&BTreeMap::<String, String>::new()), self.seal_json(&[] as &[(String, String)]), now_ms()],
        )?;
        Ok(())
    }

    fn purge_expired_flows(&self) -> StoreResult<()> {
        self.conn().cached_execute("DELETE FROM oauth_flows WHERE expires_at <= ?1", [now_ms()])?;
        Ok(())
    }

    fn seal_json(&self, value: &(impl Serialize + ?Sized)) -> String {
        seal_json(&self.secrets, value)
    }

    fn open_flow(&self, raw: RawFlow) -> StoreResult<Flow> {
        raw.open(&self.secrets)
    }
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_flow<'a>(state: &'a str, settings: &'a BTreeMap<String, String>) -> NewFlow<'a> {
        NewFlow {
            workspace_id: 1,
            state,
            plugin: "messenger",
            channel_id: None,
            name: Some("Toko Budi"),
            settings,
            properties: &[],
            redirect_url: "https://switchboard.test/oauth/callback",
        }
    }

    #[test]
    fn a_flow_moves_forward_once_and_keeps_its_secrets_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let settings = BTreeMap::from([("app_secret".to_string(), "APPSECRET-123".to_string())]);
        let flow = db.create_flow(&new_flow("st4te", &settings)).unwrap();
        assert_eq!((flow.status, flow.settings["app_secret"].as_str()), (FlowStatus::Waiting, "APPSECRET-123"));
        assert!(flow.expires_at - flow.created_at == FLOW_LIFETIME_MS);

        assert!(db.transition_flow("st4te", FlowStatus::Waiting, FlowStatus::Finishing).unwrap());
        assert!(!db.transition_flow("st4te", FlowStatus::Waiting, FlowStatus::Finishing).unwrap(), "a replay loses");
        let accounts = [FlowAccount { id: "104".into(), name: "Toko".into(), settings: vec![("page_access_token".into(), "EAAPAGE-456".into())] }];
        db.flow_ready("st4te", &accounts).unwrap();
        assert_eq!(db.flow("st4te").unwrap().unwrap().accounts, accounts);

        let on_disk: String = db.conn().query_row("SELECT settings || accounts FROM oauth_flows", [], |r| r.get(0)).unwrap();
        assert!(!on_disk.contains("APPSECRET") && !on_disk.contains("EAAPAGE"), "{on_disk}");

        db.flow_connected("st4te", "ch_1").unwrap();
        let done = db.flow("st4te").unwrap().unwrap();
        assert_eq!((done.status, done.connected_channel_id.as_deref()), (FlowStatus::Connected, Some("ch_1")));
        assert!(done.accounts.is_empty() && done.settings.is_empty(), "tokens dropped once used");
    }

    #[test]
    fn an_expired_flow_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.create_flow(&new_flow("old", &BTreeMap::new())).unwrap();
        db.conn().execute("UPDATE oauth_flows SET expires_at = ?1", [now_ms() - 1]).unwrap();
        assert!(!db.transition_flow("old", FlowStatus::Waiting, FlowStatus::Finishing).unwrap());
        assert!(db.flow("old").unwrap().is_none());
    }
}
