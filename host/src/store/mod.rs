//! SQLite storage: one file in the data dir, WAL, versioned migrations; one module per aggregate.

pub mod channels;
pub mod contacts;
mod holds;
pub mod conversations;
pub mod messages;
pub mod oauth;
pub mod people;
pub mod provider_apps;
pub mod outbox;
pub mod reconnect;
mod secrets;
pub mod templates;
pub mod tokens;
pub mod workspaces;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

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
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("not found")]
    NotFound,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database and the key that seals secrets. Calls are short; one connection behind a mutex.
pub struct Db {
    conn: Mutex<Connection>,
    secrets: SecretBox,
}

impl Db {
    /// Opens (creating if needed) `<data_dir>/switchboard.db` and the secret key beside it.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create the data dir {}: {e}", data_dir.display()))?;
        let secrets = SecretBox::load_or_create(&data_dir.join("secret.key"))?;
        let path = data_dir.join("switchboard.db");
        let mut conn = Connection::open(&path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Self { conn: Mutex::new(conn), secrets })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll back).
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
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
