//! One store conformance suite, run against both backends: SQLite (a real file, the default)
//! and Postgres (a real, throwaway server, three nodes on it). Each scenario is written once
//! against [`Store`], one module per aggregate.

#[path = "../support/mod.rs"]
mod support;

mod activity;
mod bots;
mod channels;
mod inbox;
mod integrations;
mod media;
mod messages;
mod outbox;
mod people;
mod scope;
mod webhooks;

use std::sync::Arc;

use support::postgres::Postgres;
use switchboard::media::files::{LocalFiles, MediaFiles};
use switchboard::media::pg_files::PgFiles;
use switchboard::store::backend::Store;
use switchboard::store::model::Connected;
use switchboard::store::pg::PgStore;
use switchboard::store::{Db, SecretBox};

/// Three handles on one store: for SQLite one database used thrice (one node), for Postgres
/// three nodes, each with its own pool. `channel` is an active Telegram channel in workspace 1.
pub struct Backend {
    pub name: &'static str,
    pub channel: String,
    pub nodes: Vec<Arc<dyn Store>>,
    /// Each node's media files: SQLite's on one disk, each Postgres node's over the database
    /// (with a copy of its own).
    pub files: Vec<Arc<dyn MediaFiles>>,
    raw: Raw,
    _keep: Box<dyn std::any::Any + Send>,
}

/// Where the rows are, for a scenario that checks what is at rest.
enum Raw {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Backend {
    /// The first column of each row `sql` selects, as text (`sql` must be valid in both dialects).
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        match &self.raw {
            Raw::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut statement = conn.prepare(sql).unwrap();
                statement.query_map([], |row| row.get::<_, String>(0)).unwrap().collect::<Result<_, _>>().unwrap()
            }
            Raw::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                client.query(sql, &[]).await.unwrap().iter().map(|row| row.get::<_, String>(0)).collect()
            }
        }
    }

    /// Changes rows behind the store's back (`sql` valid in both dialects): for a scenario that
    /// needs a state no operation makes, such as a login past its lifetime.
    pub async fn execute(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(path) => {
                rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
            }
            Raw::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                client.batch_execute(sql).await.unwrap();
            }
        }
    }
}

async fn active_channel(store: &Arc<dyn Store>) -> String {
    let channel = store.create_channel(1, "telegram", "Conformance", &[]).await.unwrap().id;
    store.mark_connected(&channel, &Connected { display_name: "@conformance_bot", external_account_id: "42", setup: &[] }).await.unwrap();
    channel
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let db: Arc<dyn Store> = Arc::new(Db::open(dir.path()).unwrap());
    let channel = active_channel(&db).await;
    let raw = Raw::Sqlite(dir.path().join("switchboard.db"));
    let files: Arc<dyn MediaFiles> = Arc::new(LocalFiles::open(dir.path().join("media")).unwrap());
    Backend { name: "sqlite", channel, nodes: vec![db.clone(), db.clone(), db], files: vec![files.clone(), files.clone(), files], raw, _keep: Box::new(dir) }
}

async fn postgres() -> Backend {
    let server = Postgres::start();
    let url = server.create_database("conformance");
    let keys = tempfile::tempdir().unwrap();
    let secrets = Arc::new(SecretBox::load_or_create(&keys.path().join("key")).unwrap());
    let (mut nodes, mut files): (Vec<Arc<dyn Store>>, Vec<Arc<dyn MediaFiles>>) = (Vec::new(), Vec::new());
    for n in 1..=3 {
        let node = Arc::new(PgStore::connect(&url, &secrets, &format!("node-{n}")).await.unwrap());
        files.push(Arc::new(PgFiles::open(node.clone(), keys.path().join(format!("media-{n}"))).unwrap()));
        nodes.push(node);
    }
    let channel = active_channel(&nodes[0]).await;
    Backend { name: "postgres", channel, nodes, files, raw: Raw::Postgres(url), _keep: Box::new((server, keys)) }
}

/// Runs `scenario` on SQLite, then on Postgres; each backend lives until its scenario is done.
pub async fn each_backend(scenario: impl AsyncFn(&Backend)) {
    for backend in [sqlite().await, postgres().await] {
        scenario(&backend).await;
    }
}
