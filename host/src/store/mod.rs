//! The store: SQLite (one file in the data dir, WAL, versioned migrations) and, for several nodes,
//! Postgres (`pg/`), behind one interface (`backend/`); the rows in one place (`model/`), the
//! statements one module per aggregate.

pub mod activity;
pub mod audit;
pub mod backend;
mod channel_cache;
pub mod channels;
pub mod contacts;
pub mod model;
pub mod events;
pub mod conversations;
pub mod media;
pub mod messages;
pub mod oauth;
pub mod people;
pub mod pg;
pub mod provider_apps;
pub mod outbox;
mod rotation;
pub mod webhook_endpoints;
pub mod writer;
mod row;
pub(crate) mod sql;
mod secrets;
pub mod tokens;
pub mod workspaces;

use std::path::Path;
use std::ops::{Deref, DerefMut};
use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

use rusqlite::Connection;

pub use secrets::SecretBox;

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_templates.sql"),
    include_str!("migrations/0003_oauth.sql"),
    include_str!("migrations/0004_provider_apps.sql"),
    include_str!("migrations/0005_workspaces.sql"),
    include_str!("migrations/0006_people.sql"),
    include_str!("migrations/0007_assignment.sql"),
    include_str!("migrations/0008_resource_holds.sql"),
    include_str!("migrations/0009_audit.sql"),
    include_str!("migrations/0010_store_meta.sql"),
    include_str!("migrations/0011_inbox_reads_search.sql"),
    include_str!("migrations/0012_outbox_conversation.sql"),
    include_str!("migrations/0013_media.sql"),
    include_str!("migrations/0014_webhook_endpoints.sql"),
    include_str!("migrations/0015_bots.sql"),
    include_str!("migrations/0016_choice_made.sql"),
    include_str!("migrations/0017_choice_offers.sql"),
    include_str!("migrations/0018_person_language.sql"),
    include_str!("migrations/0019_activity.sql"),
    include_str!("migrations/0020_bot_tokens.sql"),
    include_str!("migrations/0021_media_claims.sql"),
    include_str!("migrations/0022_outbox_claims.sql"),
    include_str!("migrations/0023_channel_time_index_for_time_only.sql"),
    include_str!("migrations/0024_message_text_once_per_batch.sql"),
    include_str!("migrations/0025_media_blob_pins.sql"),
    include_str!("migrations/0026_resource_releasing.sql"),
    include_str!("migrations/0027_flow_owner.sql"),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("not found")]
    NotFound,
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
    #[error("database error: {}", postgres_reason(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The database cannot be reached now (no pooled connection).
    #[error("{0}")]
    Unavailable(String),
    /// A channel named as a webhook endpoint's bot channel got another bot (or was deleted) by
    /// another request at the same moment: nothing of the write was kept.
    #[error("channel `{0}` got another bot (or was deleted) at the same moment")]
    BotChannelTaken(String),
    /// What the write was decided on changed at the same moment (another request's write came
    /// first): nothing of it was kept.
    #[error("changed by another request at the same moment")]
    ChangedMeanwhile,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Text from outside (a provider, a receiver's answer) as both backends keep it: Postgres keeps
/// no NUL in text, so a NUL is kept as U+FFFD, the replacement character, on both.
pub fn storable(text: &str) -> String {
    match text.contains('\0') {
        true => text.replace('\0', "\u{fffd}"),
        false => text.to_owned(),
    }
}

/// Whose rows a store call may read: one workspace's, or every workspace's (the operator
/// outside any workspace, and the host's own work: ingest, the outbox, the media fetcher).
/// Each backend puts it in the query's SQL, so a handler that forgets to check gets nothing of
/// another workspace: a row outside the scope is "not there".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Workspace(i64),
    /// A bot token's: of its workspace, only the channels it is the bot of (their
    /// conversations, messages and files; the calls a bot is refused keep it to the workspace).
    Bot { workspace: i64, token: i64 },
    Every,
}

impl Scope {
    /// The workspace rows must belong to, `None` for any (the SQL's `workspace_id = COALESCE($n, workspace_id)`).
    pub fn workspace(self) -> Option<i64> {
        match self {
            Self::Workspace(id) | Self::Bot { workspace: id, .. } => Some(id),
            Self::Every => None,
        }
    }

    /// The bot token whose channels rows must be of, `None` for any channel of the workspace
    /// (the SQL of [`channels::of_bot`]).
    pub fn bot(self) -> Option<i64> {
        match self {
            Self::Bot { token, .. } => Some(token),
            Self::Workspace(_) | Self::Every => None,
        }
    }
}

impl StoreError {
    /// A unique key refused the write: another request (on this node or another) made the same
    /// thing at the same moment. The API answers 409, not 503: trying again will not help.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
            Self::Postgres(e) => e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }

    /// A row the write refers to (its channel, its conversation) was deleted at the same moment:
    /// trying again will not help, the thing is gone.
    pub fn is_foreign_key_violation(&self) -> bool {
        match self {
            Self::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY,
            Self::Postgres(e) => e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION),
            _ => false,
        }
    }

    /// Postgres ended the transaction to break a lock cycle with another node's transaction (or
    /// found it could not be serialised): the same write in a new transaction succeeds.
    pub fn is_transient_conflict(&self) -> bool {
        use tokio_postgres::error::SqlState;
        matches!(self, Self::Postgres(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) || e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE))
    }
}

/// What the database said (`tokio_postgres::Error`'s own text is only "db error").
fn postgres_reason(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// Acknowledged means on disk, power loss and OS crashes included: every commit is fsynced
/// (group commit makes one fsync serve every webhook waiting at that moment).
pub const SYNCHRONOUS: &str = "FULL";

/// How the connection that writes is set up (public: the benches' native baselines make the
/// same promise with the same settings). `temp_store = MEMORY`: a transaction's savepoints kept
/// their sub-journal in a temporary file, created, unlinked and closed in /var/tmp for every
/// group commit (profiled: `open`, `access`, `close` on the writer thread); it only ever undoes a
/// savepoint of the open transaction, never serves crash recovery (the WAL does), so keeping it
/// in memory weakens nothing.
pub fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", SYNCHRONOUS)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")
}

impl Drop for DbShared {
    fn drop(&mut self) {
        self.writer.stop();
    }
}

/// The database and the key that seals secrets. Writes use one connection behind a mutex,
/// shared with the group-commit writer ([`Db::write`]); reads use a few read-only connections of
/// their own ([`Db::reader`]), so WAL lets them run while a batch commits instead of waiting
/// for its fsync (the outbox's reads and every request's token check waited for it).
/// Cheap to clone (one shared database): a call handed to a blocking thread takes a clone.
#[derive(Clone)]
pub struct Db(Arc<DbShared>);

impl Deref for Db {
    type Target = DbShared;
    fn deref(&self) -> &DbShared {
        &self.0
    }
}

/// What every clone of a [`Db`] shares.
pub struct DbShared {
    conn: Arc<Mutex<Connection>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    writer: writer::Writer,
    /// Failures tests cause on purpose (a commit that fails).
    pub faults: Arc<writer::Faults>,
    secrets: SecretBox,
    /// The channels last read, opened (see `channel_cache`).
    pub(crate) channel_cache: Arc<channel_cache::ChannelCache>,
    /// How long each use of the connection took, and what used it on an async worker (`/metrics`).
    pub metrics: StoreMetrics,
}

/// What the store reports at `/metrics`, kept by SQLite's store (Postgres's is async throughout).
#[derive(Clone)]
pub struct StoreMetrics {
    /// How long each use of a connection took, waiting for it included: 50 µs to about 1.6 s.
    pub operation_seconds: Histogram,
    /// Connections used on an async worker without [`Db::off_worker`]: a call that stalls every
    /// task of that worker while SQLite waits for a lock or the disk. Stays 0; tests check it.
    pub calls_on_async_workers: Counter,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self { operation_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)), calls_on_async_workers: Counter::default() }
    }
}

thread_local! {
    /// Whether this thread may wait on SQLite now: inside [`Db::off_worker`], or the writer thread.
    static OFF_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as off the async workers while it lives (restores what it was).
struct OffWorker(bool);

impl OffWorker {
    fn enter() -> Self {
        Self(OFF_WORKER.replace(true))
    }
}

impl Drop for OffWorker {
    fn drop(&mut self) {
        OFF_WORKER.set(self.0);
    }
}

fn on_multi_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current().is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// The connection while one operation uses it; its time is observed when it is released.
struct TimedConn<'a> {
    guard: MutexGuard<'a, Connection>,
    started: Instant,
    histogram: &'a Histogram,
    /// The writer's connection: what it changed in `channels` is told when it is let go.
    changes_told_to: Option<&'a channel_cache::ChannelCache>,
}

impl<'a> TimedConn<'a> {
    fn new(guard: MutexGuard<'a, Connection>, started: Instant, metrics: &'a StoreMetrics, changes_told_to: Option<&'a channel_cache::ChannelCache>) -> Self {
        if !OFF_WORKER.get() && on_multi_thread_runtime() {
            metrics.calls_on_async_workers.inc();
            tracing::warn!("a database call ran on an async worker (not through Db::off_worker)");
        }
        TimedConn { guard, started, histogram: &metrics.operation_seconds, changes_told_to }
    }
}

impl Deref for TimedConn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.guard
    }
}

impl DerefMut for TimedConn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.guard
    }
}

impl Drop for TimedConn<'_> {
    fn drop(&mut self) {
        if let Some(cache) = self.changes_told_to {
            cache.transaction_ended();
        }
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

impl channel_cache::KeepsChannels for Db {
    fn channel_cache(&self) -> &channel_cache::ChannelCache {
        &self.channel_cache
    }
}

impl Db {
    /// Opens (creating if needed) `<data_dir>/switchboard.db` and the secret key beside it.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        Self::open_with(data_dir, Arc::default())
    }

    /// [`Db::open`] with the failures a test will cause.
    pub fn open_with(data_dir: &Path, faults: Arc<writer::Faults>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create the data dir {}: {e}", data_dir.display()))?;
        let path = data_dir.join("switchboard.db");
        let mut conn = Connection::open(&path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        configure_writer(&conn)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate(&mut conn)?;
        // The pages a first start's migrations wrote stay cached otherwise (0.5 MiB a warm start
        // does not hold); what serving reads is cached again as it is read.
        conn.release_memory()?;
        rotation::recover_rotation(data_dir, |candidate| Db::key_opens(&conn, candidate).unwrap_or(false))?;
        let key_file = rotation::key_path(data_dir);
        let secrets = SecretBox::load_or_create(&key_file)?;
        Db::check_key(&conn, &secrets, &key_file)?;
        let readers = (0..READERS).map(|_| open_reader(&path).map(Mutex::new)).collect::<anyhow::Result<_>>()?;
        let channel_cache = Arc::new(channel_cache::ChannelCache::default());
        channel_cache.watch(&conn);
        let conn = Arc::new(Mutex::new(conn));
        let writer = writer::Writer::start(conn.clone(), faults.clone(), channel_cache.clone());
        Ok(Self(Arc::new(DbShared { conn, readers, next_reader: Default::default(), writer, faults, secrets, channel_cache, metrics: StoreMetrics::default() })))
    }

    /// Whether the database takes writes now (readiness): a write transaction begun and rolled back.
    pub fn check_writable(&self) -> StoreResult<()> {
        self.conn().execute_batch("BEGIN IMMEDIATE; ROLLBACK;")?;
        Ok(())
    }

    /// A consistent copy of the database in `target` (SQLite's online backup: the server keeps
    /// serving and writing meanwhile), written beside it first and renamed into place.
    pub fn backup_to(data_dir: &Path, target: &Path) -> anyhow::Result<()> {
        let source = Connection::open_with_flags(data_dir.join("switchboard.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| anyhow::anyhow!("cannot open the database in {}: {e}", data_dir.display()))?;
        let partial = target.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        let mut copy = Connection::open(&partial).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", partial.display()))?;
        {
            let backup = rusqlite::backup::Backup::new(&source, &mut copy)?;
            // Pages in small steps with pauses, so the server's writers are not starved.
            backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
        }
        copy.pragma_update(None, "journal_mode", "DELETE")?;
        drop(copy);
        std::fs::rename(&partial, target).map_err(|e| anyhow::anyhow!("cannot move the backup to {}: {e}", target.display()))?;
        Ok(())
    }

    /// Runs `write` in the next group commit (with the other writes waiting then, one
    /// transaction, one fsync); its result once that commit is on disk. A write that fails
    /// changes nothing; a commit that fails fails every write of its batch.
    pub async fn write<T: Send + 'static>(&self, write: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
        self.writer.write(move |tx| write(tx)).await
    }

    /// Writes and commits so far: how much group commit saves.
    pub fn group_commits(&self) -> (u64, u64) {
        self.writer.counts()
    }

    /// The write connection (for writes outside group commit, and reads that must see them in
    /// the same transaction).
    fn conn(&self) -> TimedConn<'_> {
        let started = Instant::now();
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll back).
        let guard = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        TimedConn::new(guard, started, &self.metrics, Some(&self.channel_cache))
    }

    /// Runs a synchronous store operation on tokio's blocking threads, where waiting on SQLite (a
    /// lock, the disk) stalls no async task; its result when done. Outside a runtime (the CLI's
    /// offline commands) it runs in place. (`block_in_place` would spare copying the arguments,
    /// but with it plugin calls' outbound requests failed now and then with "connection reset": 5 runs of 6 of one test.)
    pub async fn off_worker<T: Send + 'static>(&self, operation: impl FnOnce(&Db) -> T + Send + 'static) -> T {
        if tokio::runtime::Handle::try_current().is_err() {
            return operation(self);
        }
        let db = self.clone();
        let blocking = tokio::task::spawn_blocking(move || {
            let _off = OffWorker::enter();
            operation(&db)
        });
        match blocking.await {
            Ok(result) => result,
            // A panic in the operation is the caller's, as if it had run in place.
            Err(stopped) => std::panic::resume_unwind(stopped.into_panic()),
        }
    }

    /// A read-only connection: a free one if any, else the next in turn. It sees every commit
    /// made before the call (WAL), and refuses writes (`query_only`), so a write put here by
    /// mistake fails loudly.
    fn reader(&self) -> TimedConn<'_> {
        let started = Instant::now();
        let first = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let count = self.readers.len();
        let free = (0..count).find_map(|i| self.readers[(first + i) % count].try_lock().ok());
        let guard = free.unwrap_or_else(|| self.readers[first % count].lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        TimedConn::new(guard, started, &self.metrics, None)
    }
}

/// Read-only connections kept open: more than the async workers and blocking readers that read
/// at once on two cores.
const READERS: usize = 4;

fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if applied > MIGRATIONS.len() {
        anyhow::bail!("the database is from a newer Switchboard (schema {applied}, this one knows {})", MIGRATIONS.len());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "database migrated");
    }
    Ok(())
}

/// Statements prepared once per connection and kept (SQLite's parser was a sixth of a
/// webhook's time when every call prepared its statements again).
pub(crate) trait Cached {
    fn cached_row<T, P: rusqlite::Params, F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>;
    fn cached_execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn cached_row<T, P: rusqlite::Params, F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn cached_execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

/// How many prepared statements a connection keeps (every statement of the store fits).
const STATEMENT_CACHE: usize = 512;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A random string of `len` characters from `A-Za-z0-9` (unguessable ids, secrets, tokens).
pub fn random_token(len: usize) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// Runs one of the store's async operations from a sync unit test.
#[cfg(test)]
pub(crate) fn block_on<T>(operation: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime").block_on(operation)
}
