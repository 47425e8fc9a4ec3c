//! Postgres storage, for several nodes over one database (`--database-url postgres://…`).
//!
//! The schema (everything SQLite's migrations build, plus what nodes share: outbox leases,
//! installed components, media bytes, request budgets), migrations that run once however many
//! nodes start together (a session advisory lock), a node that refuses a schema newer than it
//! knows or a secret key other than the one the database's secrets were sealed with, the
//! outbox's leased claims ([`outbox`]), inbound messages deduplicated across nodes
//! ([`messages`]), changes announced to every node in their transaction ([`live`]), installed
//! plugin components every node loads ([`plugins`]) and shared rate limits ([`limits`]). Each
//! aggregate's operations implement `store::backend`'s traits; docs/scale-out.md has the design.

pub mod events;
pub mod limits;
pub mod live;
pub mod media;
pub mod messages;
pub mod outbox;
pub mod plugins;
mod writer;

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::{SecretBox, StoreError, StoreResult, now_ms};
use super::sql::{Batched, Body, OnPostgres, RunSql};

/// Schema versions, applied in order; `schema_versions` records each with the node that ran it.
const MIGRATIONS: &[&str] = &[include_str!("0001_schema.sql"), include_str!("0002_media_claims.sql"), include_str!("0003_plugin_removals.sql"), include_str!("0004_webhook_endpoints.sql"), include_str!("0005_bots.sql"), include_str!("0006_choice_made.sql"), include_str!("0007_choice_offers.sql"), include_str!("0008_person_language.sql"), include_str!("0009_activity.sql"), include_str!("0010_plugin_sources.sql"), include_str!("0011_bot_tokens.sql"), include_str!("0012_webhook_enqueue_cached.sql"), include_str!("0013_event_triggers_when.sql"), include_str!("0014_channel_time_index_for_time_only.sql"), include_str!("0015_channels_changed.sql"), include_str!("0016_message_events_per_statement.sql"), include_str!("0017_media_blob_pins.sql"), include_str!("0018_resource_releasing.sql"), include_str!("0019_flow_owner.sql")];
/// How many schema versions this build knows (what a database it migrated records).
pub const SCHEMA_VERSIONS: usize = MIGRATIONS.len();

/// The advisory lock nodes take to migrate (any constant all nodes agree on).
const MIGRATION_LOCK: i64 = 0x5357_4254_4d49_4752; // "SWBTMIGR"

/// Connections one node keeps to Postgres.
const POOL_SIZE: usize = 16;

/// The value sealed with the secret key in `store_meta` (as in SQLite): a node whose key does
/// not open it refuses to start, before it could seal anything with the wrong key.
const KEY_CHECK: &str = "key_check";

pub struct PgStore {
    pool: Pool,
    /// For connections outside the pool (the live listener's).
    config: tokio_postgres::Config,
    /// This node's name in claims and in `schema_versions`.
    pub node: String,
    /// Seals channel settings and plugin state, as SQLite's store does (one key for all nodes).
    secrets: Arc<SecretBox>,
    /// Group commit of the writes that may share a transaction ([`writer`]).
    writer: writer::PgWriter,
    /// Failures a test makes happen on purpose (the writer's commits, writes losing a deadlock).
    pub faults: Arc<crate::store::writer::Faults>,
    /// The channels last read, opened; served while [`PgStore::listen`] hears every node's
    /// changes to them (`store::channel_cache`).
    channel_cache: Arc<super::channel_cache::ChannelCache>,
}

impl PgStore {
    /// Connects, migrates (once across nodes) and checks the secret key.
    pub async fn connect(url: &str, secrets: &Arc<SecretBox>, node: &str) -> anyhow::Result<Self> {
        Self::connect_with(url, secrets, node, Arc::default()).await
    }

    /// [`PgStore::connect`] with the faults a test injects.
    pub async fn connect_with(url: &str, secrets: &Arc<SecretBox>, node: &str, faults: Arc<crate::store::writer::Faults>) -> anyhow::Result<Self> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| anyhow::anyhow!("the database URL is not a Postgres URL: {e}"))?;
        let manager = Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build().map_err(|e| anyhow::anyhow!("cannot set up the Postgres pool: {e}"))?;
        let writer = writer::PgWriter::start(pool.clone(), faults.clone(), messages::store_together);
        let channel_cache = Arc::new(super::channel_cache::ChannelCache::heard_through_listeners());
        let store = Self { pool, config, node: node.to_owned(), secrets: secrets.clone(), writer, faults, channel_cache };
        let mut client = store.client().await.map_err(|e| anyhow::anyhow!("cannot connect to Postgres: {e}"))?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
        let prepared = async {
            migrate(&mut client, node).await?;
            check_key(&client, secrets).await
        }
        .await;
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
        prepared?;
        Ok(store)
    }

    /// Whether the database takes writes now (readiness): a write transaction begun and rolled back.
    pub async fn check_writable(&self) -> StoreResult<()> {
        self.client().await?.batch_execute("BEGIN READ WRITE; SELECT 1; ROLLBACK").await?;
        Ok(())
    }

    /// Which schema versions ran, and on which node.
    pub async fn schema_history(&self) -> StoreResult<Vec<(i32, String)>> {
        let rows = self.client().await?.query("SELECT version, applied_by FROM schema_versions ORDER BY version", &[]).await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// Writes committed by the group-commit writer, and the commits that carried them.
    pub fn group_commits(&self) -> (u64, u64) {
        self.writer.counts()
    }

    /// Customers' messages, each its webhook's only event, that a batch stored by one statement
    /// with others (the rest of the writes run a statement each).
    pub fn inbound_stored_together(&self) -> u64 {
        self.writer.stored_together()
    }

    pub(super) async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| StoreError::Unavailable(format!("no Postgres connection: {e}")))
    }
}

async fn migrate(client: &mut tokio_postgres::Client, node: &str) -> anyhow::Result<()> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_versions (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL, applied_by TEXT NOT NULL)")
        .await?;
    let applied: i32 = client.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_versions", &[]).await?.get(0);
    if applied as usize > MIGRATIONS.len() {
        anyhow::bail!("the database is from a newer Switchboard (schema {applied}, this one knows {}): upgrade this node", MIGRATIONS.len());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = index as i32 + 1;
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await.map_err(|e| anyhow::anyhow!("Postgres migration {version} failed: {e}"))?;
        tx.execute("INSERT INTO schema_versions (version, applied_at, applied_by) VALUES ($1, $2, $3)", &[&version, &now_ms(), &node]).await?;
        tx.commit().await?;
        tracing::info!(version, "Postgres schema migrated");
    }
    Ok(())
}

async fn check_key(client: &tokio_postgres::Client, secrets: &SecretBox) -> anyhow::Result<()> {
    client
        .execute("INSERT INTO store_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", &[&KEY_CHECK, &secrets.seal("switchboard")])
        .await?;
    let sealed: String = client.query_one("SELECT value FROM store_meta WHERE key = $1", &[&KEY_CHECK]).await?.get(0);
    secrets.open(&sealed).map(|_| ()).map_err(|_| {
        anyhow::anyhow!(
            "this node's secret key is not the one the database's secrets were sealed with: every node needs the same key \
             (copy the first node's key file)"
        )
    })
}

impl PgStore {
    /// One run of a write body in a transaction of its own (rolled back when it fails).
    async fn write_once<T: Send + 'static>(&self, client: &mut deadpool_postgres::Client, body: Body<T>) -> StoreResult<T> {
        let tx = client.transaction().await?;
        let outcome = body.run(&OnPostgres(&tx)).await?;
        if self.faults.take_lost_conflict() {
            // What Postgres answers the transaction it picks to break a deadlock, for real.
            tx.batch_execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected (injected)' USING ERRCODE = 'deadlock_detected'; END $$").await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}

#[async_trait::async_trait]
impl RunSql for PgStore {
    async fn read<T: Send + 'static>(&self, body: Body<T>) -> StoreResult<T> {
        let client = self.client().await?;
        body.run(&OnPostgres(&client)).await
    }

    /// A body that loses a deadlock or a serialization conflict to another transaction (another
    /// node's, or this node's group commit) runs again from its copy, in a fresh transaction, up
    /// to [`writer::CONFLICT_RETRIES`] times: its caller sees the conflict only if it persists.
    async fn write<T: Send + 'static>(&self, body: Body<T>) -> StoreResult<T> {
        let mut client = self.client().await?;
        let mut body = body;
        let mut retries = 0;
        let outcome = loop {
            let again = (retries < writer::CONFLICT_RETRIES).then(|| body.again());
            match self.write_once(&mut client, body).await {
                Err(e) if e.is_transient_conflict() && let Some(again) = again => {
                    tracing::debug!(node = %self.node, "a write lost a conflict and runs again: {e}");
                    (body, retries) = (again, retries + 1);
                }
                outcome => break outcome?,
            }
        };
        // Any write may have changed a channel (its notice reaches the listener a moment later):
        // kept channels are read again, so a caller here never sees one as it was.
        self.channel_cache.changed();
        Ok(outcome)
    }

    async fn write_batched<I: Send + Sync + 'static, T: Send + 'static>(&self, input: I, body: Batched<I, T>) -> StoreResult<T> {
        self.writer.write(input, move |client, input| {
            let body = body.clone();
            Box::pin(async move { body(&OnPostgres(client), input).await })
        })
        .await
    }

    fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    fn claiming_node(&self) -> Option<&str> {
        Some(&self.node)
    }
}

impl super::channel_cache::KeepsChannels for PgStore {
    fn channel_cache(&self) -> &super::channel_cache::ChannelCache {
        &self.channel_cache
    }
}
