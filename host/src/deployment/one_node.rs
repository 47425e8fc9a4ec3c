//! One node on SQLite: nothing to share; media in the data dir; budgets in memory; the key
//! rotated in place.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{Deployment, KeyRotation, PluginSharing, RotationRefused};
use crate::store::pg::plugins::ComponentInstall;
use crate::store::{Db, StoreResult};

pub(super) fn deployment(db: Arc<Db>, media_dir: std::path::PathBuf) -> anyhow::Result<Deployment> {
    Ok(Deployment {
        plugins: Arc::new(NoOtherNodes),
        files: Arc::new(crate::media::files::LocalFiles::open(media_dir)?),
        shared_rates: None,
        store_metrics: db.metrics.clone(),
        key_rotation: Arc::new(InPlace(db)),
        relayed: None,
    })
}

/// The plugins folder is the only copy: nothing to publish or hear.
struct NoOtherNodes;

#[async_trait::async_trait]
impl PluginSharing for NoOtherNodes {
    async fn publish(&self, _: &str, _: &semver::Version, _: &Path, _: bool, _: Option<&str>) -> StoreResult<ComponentInstall> {
        Ok(ComponentInstall::Stored)
    }

    async fn withdraw(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn removed_elsewhere(&self) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }

    async fn current_components(&self) -> StoreResult<Vec<(String, semver::Version, Vec<u8>)>> {
        Ok(Vec::new())
    }

    async fn current_component(&self, _: &str) -> StoreResult<Option<(semver::Version, Vec<u8>)>> {
        Ok(None)
    }

    /// The folder's `<id>.source` files are the only record.
    async fn sources(&self) -> StoreResult<Vec<(String, Option<String>)>> {
        Ok(Vec::new())
    }
}

/// Writes that raced the swap are sealed again after this long.
const STRAGGLER_DELAY: Duration = Duration::from_secs(1);

/// The key of this data dir, replaced while serving (see `store::rotation`).
struct InPlace(Arc<Db>);

#[async_trait::async_trait]
impl KeyRotation for InPlace {
    async fn rotate(&self, data_dir: &Path) -> Result<usize, RotationRefused> {
        let data_dir = data_dir.to_owned();
        let resealed = self.0.off_worker(move |db| db.rotate_secrets(&data_dir)).await.map_err(|e| RotationRefused::Failed(format!("{e:#}")))?;
        tokio::time::sleep(STRAGGLER_DELAY).await;
        let stragglers = self.0.off_worker(|db| db.reseal_stragglers()).await.map_err(|e| RotationRefused::Failed(e.to_string()))?;
        Ok(resealed + stragglers)
    }
}
