//! Provider apps and provider logins (OAuth flows) over Postgres: the same rows as SQLite's,
//! sealed with the key every node shares. A flow moves by conditional updates (`WHERE status =
//! from`): Postgres re-checks the condition on the row it locked, so of nodes racing to move a
//! flow, exactly one does.

use std::collections::BTreeMap;

use tokio_postgres::Row;

use super::PgStore;
use crate::store::backend::IntegrationStore;
use crate::store::channels::SettingValue;
use crate::store::oauth::{COLUMNS as FLOW_COLUMNS, FLOW_LIFETIME_MS, Flow, FlowAccount, FlowStatus, NewFlow, RawFlow, seal_json};
use crate::store::provider_apps::{ProviderApp, RawProviderApp};
use crate::store::{StoreError, StoreResult, now_ms, random_token};

fn raw_flow(row: &Row) -> RawFlow {
    RawFlow {
        state: row.get(0),
        plugin: row.get(1),
        channel_id: row.get(2),
        name: row.get(3),
        settings: row.get(4),
        properties: row.get(5),
        redirect_url: row.get(6),
        status: row.get(7),
        error: row.get(8),
        accounts: row.get(9),
        connected_channel_id: row.get(10),
        created_at: row.get(11),
        expires_at: row.get(12),
        workspace_id: row.get(13),
    }
}

impl PgStore {
    /// Deletes the flows that expired (as SQLite's store does before each read and start).
    async fn purge_expired_flows(&self) -> StoreResult<()> {
        self.client().await?.execute("DELETE FROM oauth_flows WHERE expires_at <= $1", &[&now_ms()]).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl IntegrationStore for PgStore {
    async fn provider_app(&self, plugin: &str) -> StoreResult<Option<ProviderApp>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT settings, verify_token, created_at, updated_at FROM provider_apps WHERE plugin = $1", &[&plugin])
            .await?;
        row.map(|row| RawProviderApp { settings: row.get(0), verify_token: row.get(1), created_at: row.get(2), updated_at: row.get(3) }.open(plugin, &self.secrets))
            .transpose()
    }

    async fn set_provider_app(&self, plugin: &str, settings: &[SettingValue<'_>]) -> StoreResult<ProviderApp> {
        // Nodes setting the same plugin's app at once: one inserts, the others update; the
        // verify token the insert made stays.
        self.client()
            .await?
            .execute(
                "INSERT INTO provider_apps (plugin, settings, verify_token, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (plugin) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
                &[&plugin, &self.secrets.seal_settings(settings), &self.secrets.seal(&random_token(32)), &now_ms()],
            )
            .await?;
        self.provider_app(plugin).await?.ok_or(StoreError::NotFound)
    }

    async fn delete_provider_app(&self, plugin: &str) -> StoreResult<bool> {
        Ok(self.client().await?.execute("DELETE FROM provider_apps WHERE plugin = $1", &[&plugin]).await? > 0)
    }

    async fn create_flow(&self, flow: &NewFlow<'_>) -> StoreResult<Flow> {
        self.purge_expired_flows().await?;
        let now = now_ms();
        {
            let client = self.client().await?;
            let insert = client
                .prepare_cached(&format!(
                    "INSERT INTO oauth_flows ({FLOW_COLUMNS}, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, $9, $10, $11, $9)"
                ))
                .await?;
            client
                .execute(
                    &insert,
                    &[
                        &flow.state,
                        &flow.plugin,
                        &flow.channel_id,
                        &flow.name,
                        &seal_json(&self.secrets, flow.settings),
                        &seal_json(&self.secrets, flow.properties),
                        &flow.redirect_url,
                        &FlowStatus::Waiting.as_str(),
                        &now,
                        &(now + FLOW_LIFETIME_MS),
                        &flow.workspace_id,
                    ],
                )
                .await?;
        }
        self.flow(flow.state).await?.ok_or(StoreError::NotFound)
    }

    async fn flow(&self, state: &str) -> StoreResult<Option<Flow>> {
        self.purge_expired_flows().await?;
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {FLOW_COLUMNS} FROM oauth_flows WHERE state = $1")).await?;
        client.query_opt(&statement, &[&state]).await?.map(|row| raw_flow(&row).open(&self.secrets)).transpose()
    }

    async fn transition_flow(&self, state: &str, from: FlowStatus, to: FlowStatus) -> StoreResult<bool> {
        // A node waiting on the row another node is moving re-checks `status = from` once that
        // commits, and so changes nothing: one caller wins.
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE oauth_flows SET status = $3, updated_at = $4 WHERE state = $1 AND status = $2 AND expires_at > $4",
                &[&state, &from.as_str(), &to.as_str(), &now_ms()],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn flow_ready(&self, state: &str, accounts: &[FlowAccount]) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "UPDATE oauth_flows SET status = 'ready', accounts = $2, error = NULL, updated_at = $3 WHERE state = $1",
                &[&state, &seal_json(&self.secrets, accounts), &now_ms()],
            )
            .await?;
        Ok(())
    }

    async fn flow_failed(&self, state: &str, error: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute("UPDATE oauth_flows SET status = 'failed', error = $2, updated_at = $3 WHERE state = $1", &[&state, &error, &now_ms()])
            .await?;
        Ok(())
    }

    async fn flow_connected(&self, state: &str, channel_id: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "UPDATE oauth_flows SET status = 'connected', connected_channel_id = $2, accounts = NULL, settings = $3,
                     properties = $4, updated_at = $5
                 WHERE state = $1",
                &[
                    &state,
                    &channel_id,
                    &seal_json(&self.secrets, &BTreeMap::<String, String>::new()),
                    &seal_json(&self.secrets, &[] as &[(String, String)]),
                    &now_ms(),
                ],
            )
            .await?;
        Ok(())
    }
}
