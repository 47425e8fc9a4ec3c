//! Several nodes sharing Postgres: components and media bytes in the database, notices relayed
//! between nodes, budgets counted together; the key cannot be rotated in place.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{Deployment, KeyRotation, PluginSharing, RotationRefused, SharedRates};
use crate::store::pg::PgStore;
use crate::store::pg::plugins::ComponentInstall;
use crate::store::{StoreError, StoreMetrics, StoreResult};

pub(super) fn deployment(pg: Arc<PgStore>, media_dir: std::path::PathBuf) -> anyhow::Result<Deployment> {
    Ok(Deployment {
        plugins: Arc::new(Shared(pg.clone())),
        files: Arc::new(crate::media::pg_files::PgFiles::open(pg.clone(), media_dir)?),
        shared_rates: Some(Arc::new(Shared(pg.clone()))),
        key_rotation: Arc::new(NotAcrossNodes),
        // Postgres is reached asynchronously throughout: nothing to report on workers.
        store_metrics: StoreMetrics::default(),
        relayed: Some(pg),
    })
}

/// The database every node reads.
struct Shared(Arc<PgStore>);

#[async_trait::async_trait]
impl PluginSharing for Shared {
    async fn publish(&self, plugin: &str, version: &semver::Version, component: &Path, force: bool, source: Option<&str>) -> StoreResult<ComponentInstall> {
        let bytes = tokio::fs::read(component)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot read {}: {e}", component.display())))?;
        self.0.install_component_from(plugin, version, &bytes, force, source).await
    }

    async fn withdraw(&self, plugin: &str) -> StoreResult<()> {
        self.0.remove_components(plugin).await.map(|_| ())
    }

    async fn removed_elsewhere(&self) -> StoreResult<Vec<String>> {
        self.0.removed_plugins().await
    }

    async fn current_components(&self) -> StoreResult<Vec<(String, semver::Version, Vec<u8>)>> {
        self.0.current_components().await
    }

    async fn current_component(&self, plugin: &str) -> StoreResult<Option<(semver::Version, Vec<u8>)>> {
        self.0.current_component(plugin).await
    }

    async fn sources(&self) -> StoreResult<Vec<(String, Option<String>)>> {
        self.0.component_sources().await
    }
}

#[async_trait::async_trait]
impl SharedRates for Shared {
    async fn take(&self, key: &str, burst: u32, every: Duration) -> StoreResult<Result<(), Duration>> {
        self.0.take_rate(key, burst, every).await
    }
}

struct NotAcrossNodes;

#[async_trait::async_trait]
impl KeyRotation for NotAcrossNodes {
    async fn rotate(&self, _: &Path) -> Result<usize, RotationRefused> {
        Err(RotationRefused::NotAcrossNodes)
    }
}
