//! Which backend a node runs on: SQLite in its data dir (the default, one node), or Postgres
//! (`--database-url`, several nodes). Both give the same [`Store`]; what differs between the
//! deployments is chosen from it once, at start (`deployment::Deployment::of`).

use std::path::Path;
use std::sync::Arc;

use super::Store;
use crate::store::pg::PgStore;
use crate::store::{Db, SecretBox};

#[derive(Clone)]
pub enum Backend {
    Sqlite(Arc<Db>),
    Postgres(Arc<PgStore>),
}

impl Backend {
    /// Opens the store a node serves from. On Postgres the data dir keeps the secret key
    /// (`secret.key`, the same file on every node: a node with another key refuses to start),
    /// and `node` names this node in outbox claims and the schema history.
    pub async fn open(data_dir: &Path, database_url: Option<&str>, node: &str, faults: Arc<crate::store::writer::Faults>) -> anyhow::Result<Self> {
        match database_url {
            None => Ok(Self::Sqlite(Arc::new(Db::open_with(data_dir, faults)?))),
            Some(url) => {
                std::fs::create_dir_all(data_dir).map_err(|e| anyhow::anyhow!("cannot create the data dir {}: {e}", data_dir.display()))?;
        let secrets = Arc::new(SecretBox::load_or_create(&crate::store::rotation::key_path(data_dir))?);
                Ok(Self::Postgres(Arc::new(PgStore::connect_with(url, &secrets, node, faults).await?)))
            }
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(db) => db.clone(),
            Self::Postgres(pg) => pg.clone(),
        }
    }
}
