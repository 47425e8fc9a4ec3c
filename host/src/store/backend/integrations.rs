//! Provider apps and provider logins (OAuth flows): each operation written once for both
//! backends (see `store::sql`). What they hold (app secrets, login tokens) is sealed before the
//! write and opened after the read, so the SQL sees only sealed text. A flow moves by a
//! conditional update (`WHERE status = from`): a database re-checks the condition on the row
//! it changes, so of callers racing to move a flow, on any node, exactly one does.

use std::collections::BTreeMap;

use crate::store::model::{AppRemoval, Flow, FlowAccount, FlowStatus, NewFlow, ProviderApp, SettingValue};
use crate::store::oauth::{COLUMNS as FLOW_COLUMNS, FLOW_LIFETIME_MS, RawFlow, seal_json};
use crate::store::provider_apps::RawProviderApp;
use crate::store::row::ReadRow;
use crate::store::sql::{RunSql, Sql, body};
use crate::store::{Scope, StoreError, StoreResult, now_ms, random_token};

#[async_trait::async_trait]
pub trait IntegrationStore: Send + Sync {
    // Provider apps: the operator's app per plugin.
    /// A plugin's app, its secret settings and verify token opened.
    async fn provider_app(&self, plugin: &str) -> StoreResult<Option<ProviderApp>>;
    /// Sets a plugin's app (secret settings sealed); the verify token is made the first time and
    /// kept after that. Only while the app is as the caller read it: `read_at` is the
    /// `updated_at` read (`None`: no app was set), else [`StoreError::ChangedMeanwhile`] and
    /// nothing is written (a form merged with what it read, its kept secret say, would put back
    /// what another request changed meanwhile).
    async fn set_provider_app(&self, plugin: &str, settings: &[SettingValue<'_>], read_at: Option<i64>) -> StoreResult<ProviderApp>;
    /// Removes a plugin's app, unless a channel of the plugin exists (one still connecting may be
    /// going through the app). Checked in the removal's own write, so a channel created at the
    /// same moment is either counted or created after the app is gone.
    async fn delete_provider_app(&self, plugin: &str) -> StoreResult<AppRemoval>;

    // Provider logins: started once, completed once by the provider's callback, used once.
    /// Starts a flow, waiting for its callback until it expires (expired flows are deleted).
    async fn create_flow(&self, flow: &NewFlow<'_>) -> StoreResult<Flow>;
    /// A flow in `scope` that has not expired, what it holds opened (the provider's callback,
    /// which knows the state alone, reads it in every workspace's).
    async fn flow(&self, state: &str, scope: Scope) -> StoreResult<Option<Flow>>;
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

const PROVIDER_APP: &str = "SELECT settings, verify_token, created_at, updated_at FROM provider_apps WHERE plugin = $1";
/// The first app of a plugin; of nodes setting it at once one inserts, the others find it set
/// meanwhile. The verify token the insert made stays.
const INSERT_PROVIDER_APP: &str = "INSERT INTO provider_apps (plugin, settings, verify_token, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (plugin) DO NOTHING";
/// An app changed only at the version read (`$4`); its `updated_at` moves forward at every
/// change, as a channel's does, so two changes in one millisecond are told apart.
const UPDATE_PROVIDER_APP: &str = "UPDATE provider_apps SET settings = $2, updated_at = CASE WHEN $3 > updated_at THEN $3 ELSE updated_at + 1 END
     WHERE plugin = $1 AND updated_at = $4";
const DELETE_PROVIDER_APP: &str = "DELETE FROM provider_apps WHERE plugin = $1";
const PURGE_EXPIRED_FLOWS: &str = "DELETE FROM oauth_flows WHERE expires_at <= $1";
const TRANSITION_FLOW: &str = "UPDATE oauth_flows SET status = $3, updated_at = $4 WHERE state = $1 AND status = $2 AND expires_at > $4";
const FLOW_READY: &str = "UPDATE oauth_flows SET status = 'ready', accounts = $2, error = NULL, updated_at = $3 WHERE state = $1";
const FLOW_FAILED: &str = "UPDATE oauth_flows SET status = 'failed', error = $2, updated_at = $3 WHERE state = $1";
const FLOW_CONNECTED: &str = "UPDATE oauth_flows SET status = 'connected', connected_channel_id = $2, accounts = NULL, settings = $3,
         properties = $4, updated_at = $5
     WHERE state = $1";

fn raw_provider_app(row: &impl ReadRow) -> RawProviderApp {
    RawProviderApp { settings: row.text(0), verify_token: row.text(1), created_at: row.int(2), updated_at: row.int(3) }
}

fn raw_flow(row: &impl ReadRow) -> RawFlow {
    RawFlow {
        state: row.text(0),
        plugin: row.text(1),
        channel_id: row.opt_text(2),
        name: row.opt_text(3),
        settings: row.text(4),
        properties: row.text(5),
        redirect_url: row.text(6),
        status: row.text(7),
        error: row.opt_text(8),
        accounts: row.opt_text(9),
        connected_channel_id: row.opt_text(10),
        created_at: row.int(11),
        expires_at: row.int(12),
        workspace_id: row.int(13),
        started_by: row.opt_int(14),
        channel_updated_at: row.opt_int(15),
        browser_key_sha256: row.opt_text(16),
    }
}

/// Expired flows are deleted before a flow is read or started.
async fn flow_in(sql: &dyn Sql, state: &str, scope: Scope) -> StoreResult<Option<RawFlow>> {
    sql.execute(PURGE_EXPIRED_FLOWS, &[&now_ms()]).await?;
    let flow = format!("SELECT {FLOW_COLUMNS} FROM oauth_flows WHERE state = $1 AND workspace_id = COALESCE($2, workspace_id)");
    Ok(sql.row(&flow, &[&state, &scope.workspace()]).await?.map(|row| raw_flow(&row)))
}

#[async_trait::async_trait]
impl<S: RunSql> IntegrationStore for S {
    async fn provider_app(&self, plugin: &str) -> StoreResult<Option<ProviderApp>> {
        let owned = plugin.to_owned();
        let raw = self.read(body(move |sql| Box::pin(async move { Ok(sql.row(PROVIDER_APP, &[&owned]).await?.map(|row| raw_provider_app(&row))) }))).await?;
        raw.map(|raw| raw.open(plugin, self.secrets())).transpose()
    }

    async fn set_provider_app(&self, plugin: &str, settings: &[SettingValue<'_>], read_at: Option<i64>) -> StoreResult<ProviderApp> {
        let (owned, sealed, verify_token) = (plugin.to_owned(), self.secrets().seal_settings(settings), self.secrets().seal(&random_token(32)));
        let raw = self
            .write(body(move |sql| {
                Box::pin(async move {
                    let written = match read_at {
                        None => sql.execute(INSERT_PROVIDER_APP, &[&owned, &sealed, &verify_token, &now_ms()]).await?,
                        Some(read_at) => sql.execute(UPDATE_PROVIDER_APP, &[&owned, &sealed, &now_ms(), &read_at]).await?,
                    };
                    if written == 0 {
                        return Err(StoreError::ChangedMeanwhile);
                    }
                    sql.row(PROVIDER_APP, &[&owned]).await?.map(|row| raw_provider_app(&row)).ok_or(StoreError::NotFound)
                })
            }))
            .await?;
        raw.open(plugin, self.secrets())
    }

    async fn delete_provider_app(&self, plugin: &str) -> StoreResult<AppRemoval> {
        let plugin = plugin.to_owned();
        self.write(body(move |sql| {
            Box::pin(async move {
                // On Postgres the app's row is locked before the channels are read, and a
                // channel's creation holds it shared (`create_channel`): the two take turns.
                let app = if sql.is_postgres() { "SELECT plugin FROM provider_apps WHERE plugin = $1 FOR UPDATE" } else { "SELECT plugin FROM provider_apps WHERE plugin = $1" };
                if sql.row(app, &[&plugin]).await?.is_none() {
                    return Ok(AppRemoval::NotFound);
                }
                let users = sql.rows("SELECT id, name FROM channels WHERE plugin = $1 ORDER BY created_at, id", &[&plugin]).await?;
                if !users.is_empty() {
                    return Ok(AppRemoval::InUse(users.iter().map(|row| (row.text(0), row.text(1))).collect()));
                }
                sql.execute(DELETE_PROVIDER_APP, &[&plugin]).await?;
                Ok(AppRemoval::Removed)
            })
        }))
        .await
    }

    async fn create_flow(&self, flow: &NewFlow<'_>) -> StoreResult<Flow> {
        let (state, plugin, channel_id, name) = (flow.state.to_owned(), flow.plugin.to_owned(), flow.channel_id.map(str::to_owned), flow.name.map(str::to_owned));
        let (settings, properties) = (seal_json(self.secrets(), flow.settings), seal_json(self.secrets(), flow.properties));
        let (redirect_url, workspace_id, started_by, channel_updated_at) = (flow.redirect_url.to_owned(), flow.workspace_id, flow.started_by, flow.channel_updated_at);
        let browser_key_sha256 = flow.browser_key_sha256.map(str::to_owned);
        let raw = self
            .write(body(move |sql| {
                Box::pin(async move {
                    let now = now_ms();
                    sql.execute(PURGE_EXPIRED_FLOWS, &[&now]).await?;
                    let insert = format!(
                        "INSERT INTO oauth_flows ({FLOW_COLUMNS}, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, $9, $10, $11, $12, $13, $14, $9)"
                    );
                    let waiting = FlowStatus::Waiting.as_str();
                    let params: [&dyn crate::store::sql::Param; 14] = [
                        &state, &plugin, &channel_id, &name, &settings, &properties, &redirect_url, &waiting, &now, &(now + FLOW_LIFETIME_MS), &workspace_id,
                        &started_by, &channel_updated_at, &browser_key_sha256,
                    ];
                    sql.execute(&insert, &params).await?;
                    flow_in(sql, &state, Scope::Every).await?.ok_or(StoreError::NotFound)
                })
            }))
            .await?;
        raw.open(self.secrets())
    }

    async fn flow(&self, state: &str, scope: Scope) -> StoreResult<Option<Flow>> {
        let state = state.to_owned();
        // A read that deletes what expired: a write.
        let raw = self.write(body(move |sql| Box::pin(async move { flow_in(sql, &state, scope).await }))).await?;
        raw.map(|raw| raw.open(self.secrets())).transpose()
    }

    async fn transition_flow(&self, state: &str, from: FlowStatus, to: FlowStatus) -> StoreResult<bool> {
        let state = state.to_owned();
        self.write(body(move |sql| Box::pin(async move { Ok(sql.execute(TRANSITION_FLOW, &[&state, &from.as_str(), &to.as_str(), &now_ms()]).await? == 1) })))
            .await
    }

    async fn flow_ready(&self, state: &str, accounts: &[FlowAccount]) -> StoreResult<()> {
        let (state, accounts) = (state.to_owned(), seal_json(self.secrets(), accounts));
        self.write(body(move |sql| Box::pin(async move { sql.execute(FLOW_READY, &[&state, &accounts, &now_ms()]).await.map(drop) }))).await
    }

    async fn flow_failed(&self, state: &str, error: &str) -> StoreResult<()> {
        let (state, error) = (state.to_owned(), crate::store::storable(error));
        self.write(body(move |sql| Box::pin(async move { sql.execute(FLOW_FAILED, &[&state, &error, &now_ms()]).await.map(drop) }))).await
    }

    async fn flow_connected(&self, state: &str, channel_id: &str) -> StoreResult<()> {
        let (state, channel_id) = (state.to_owned(), channel_id.to_owned());
        let no_settings = seal_json(self.secrets(), &BTreeMap::<String, String>::new());
        let no_properties = seal_json(self.secrets(), &[] as &[(String, String)]);
        self.write(body(move |sql| Box::pin(async move { sql.execute(FLOW_CONNECTED, &[&state, &channel_id, &no_settings, &no_properties, &now_ms()]).await.map(drop) })))
            .await
    }
}
