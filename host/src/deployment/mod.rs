//! What differs between one node on SQLite and several nodes sharing Postgres, chosen once when
//! the host starts ([`Deployment::of`]); the rest of the host uses these services and never asks
//! which database it runs on. Each capability is one trait with a one-node implementation
//! ([`one_node`]) and a cluster implementation ([`cluster`]):
//! - installed components shared with the other nodes ([`PluginSharing`]),
//! - where media bytes live ([`MediaFiles`]),
//! - live changes and plugin notices heard from the other nodes ([`Deployment::relay`]),
//! - the website chat's visitor budgets ([`SharedRates`]),
//! - rotating the secret key ([`KeyRotation`]),
//! - what the store reports at `/metrics` ([`StoreMetrics`]).

pub mod cluster;
pub mod one_node;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::live::Live;
use crate::media::files::MediaFiles;
use crate::store::backend::{Backend, Store};
use crate::store::pg::plugins::ComponentInstall;
use crate::store::{StoreMetrics, StoreResult};

/// A plugin installed or removed through any node (this one too): load or drop it here.
pub enum PluginNotice {
    Installed { plugin: String, version: String },
    Removed { plugin: String },
}

/// Components installed through one node, made live on every node.
#[async_trait::async_trait]
pub trait PluginSharing: Send + Sync {
    /// Before a component goes live here: stored where every node loads it from, with the
    /// repository it was pulled from (`source`; `None`: a file). Between two nodes installing
    /// at once, the shared record decides (a downgrade only when `force`d).
    async fn publish(&self, plugin: &str, version: &semver::Version, component: &Path, force: bool, source: Option<&str>) -> StoreResult<ComponentInstall>;
    /// A plugin removed here: removed for every node.
    async fn withdraw(&self, plugin: &str) -> StoreResult<()>;
    /// Plugins removed through other nodes (also while this one was down).
    async fn removed_elsewhere(&self) -> StoreResult<Vec<String>>;
    /// Every shared plugin's current component: id, version, bytes.
    async fn current_components(&self) -> StoreResult<Vec<(String, semver::Version, Vec<u8>)>>;
    /// One plugin's current shared component.
    async fn current_component(&self, plugin: &str) -> StoreResult<Option<(semver::Version, Vec<u8>)>>;
    /// Where every shared plugin's current component came from: id, repository (`None`: a file).
    async fn sources(&self) -> StoreResult<Vec<(String, Option<String>)>>;
}

/// Token buckets every node counts against together. Without them (one node) the budgets are
/// kept in memory.
#[async_trait::async_trait]
pub trait SharedRates: Send + Sync {
    /// Takes one request from the bucket `key`; `Err(wait)` when it is empty.
    async fn take(&self, key: &str, burst: u32, every: Duration) -> StoreResult<Result<(), Duration>>;
}

/// Why the secret key was not rotated.
#[derive(Debug)]
pub enum RotationRefused {
    /// Every node holds the key in its own data dir: they would have to switch at the same moment.
    NotAcrossNodes,
    /// The rotation failed; nothing changed (the reason).
    Failed(String),
}

/// Sealing every sealed value again under a new secret key, while serving.
#[async_trait::async_trait]
pub trait KeyRotation: Send + Sync {
    /// How many sealed values were sealed again.
    async fn rotate(&self, data_dir: &Path) -> Result<usize, RotationRefused>;
}

/// The services of the deployment this node runs in.
pub struct Deployment {
    pub plugins: Arc<dyn PluginSharing>,
    /// Media bytes: the data dir on one node; on several, the database, with this node's copies
    /// in the data dir.
    pub files: Arc<dyn MediaFiles>,
    /// `None` on one node: budgets in memory.
    pub shared_rates: Option<Arc<dyn SharedRates>>,
    pub key_rotation: Arc<dyn KeyRotation>,
    pub store_metrics: StoreMetrics,
    /// Whether other nodes' changes reach this node's live hub ([`Live::relayed`]).
    relayed: Option<Arc<crate::store::pg::PgStore>>,
}

impl Deployment {
    /// The one place that looks at the backend: its store, and the services that go with it.
    pub fn of(backend: Backend, media_dir: std::path::PathBuf) -> anyhow::Result<(Arc<dyn Store>, Self)> {
        let store = backend.store();
        let deployment = match backend {
            Backend::Sqlite(db) => one_node::deployment(db, media_dir)?,
            Backend::Postgres(pg) => cluster::deployment(pg, media_dir)?,
        };
        Ok((store, deployment))
    }

    /// The live hub this node's followers listen to: on several nodes it also carries what the
    /// others announce (see [`Deployment::relay`]).
    pub fn live(&self) -> Live {
        match self.relayed {
            Some(_) => Live::relayed(),
            None => Live::default(),
        }
    }

    /// On several nodes: every node's changes (this one's too) reach the live hub `owner` keeps
    /// (`live` finds it), and `plugins` hears of each plugin installed or removed through any
    /// node; until the hub closes. On one node there is nothing to hear.
    pub fn relay<T: Send + Sync + 'static>(
        &self,
        owner: Arc<T>,
        live: impl Fn(&T) -> &Live + Send + 'static,
        plugins: impl Fn(PluginNotice) + Send + 'static,
    ) {
        use crate::store::pg::live::Notice;
        let Some(pg) = self.relayed.clone() else { return };
        tokio::spawn(async move {
            let notices = move |notice| match notice {
                Notice::Installed { plugin, version } => plugins(PluginNotice::Installed { plugin, version }),
                Notice::Removed { plugin } => plugins(PluginNotice::Removed { plugin }),
                Notice::Change { .. } | Notice::Lost => {}
            };
            crate::live_relay::relay(&pg, live(&owner), notices).await
        });
    }
}
