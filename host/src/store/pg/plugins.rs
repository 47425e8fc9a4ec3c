//! Installed plugin components shared by every node: the component's bytes are stored in
//! Postgres, and an install (or a removal) is announced in its transaction
//! (`switchboard_plugins`), so every node loads the new version (or drops it). Each node compiles into its own cache: compiled code never goes through
//! the database. Installs of one plugin are serialized by a transaction advisory lock, so two
//! nodes uploading at once cannot both pass the downgrade check.

use sha2::{Digest, Sha256};

use super::PgStore;
use super::live::PLUGINS_CHANNEL as CHANNEL;
use crate::store::{StoreResult, now_ms};


/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentInstall {
    /// Stored and announced to every node.
    Stored,
    /// This version with the same bytes is already the current one (an upload retried, or sent
    /// to two nodes).
    Unchanged,
    /// Refused: a newer version is installed (install with force to downgrade).
    Older { newest: semver::Version },
    /// Refused: this version is stored with other bytes (a version is never changed in place).
    Conflict,
}

impl PgStore {
    /// Stores `component` as `plugin` `version`; a version older than the newest installed is
    /// refused unless `force`.
    pub async fn install_component(&self, plugin: &str, version: &semver::Version, component: &[u8], force: bool) -> StoreResult<ComponentInstall> {
        self.install_component_from(plugin, version, component, force, None).await
    }

    /// [`PgStore::install_component`], recording the repository it was pulled from (`source`,
    /// `oci://<registry>/<repository>`; `None`: a file): every node writes that record beside its
    /// copy (the catalogue matches repositories to plugins by it).
    pub async fn install_component_from(
        &self,
        plugin: &str,
        version: &semver::Version,
        component: &[u8],
        force: bool,
        source: Option<&str>,
    ) -> StoreResult<ComponentInstall> {
        let sha256 = hex::encode(Sha256::digest(component));
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&format!("plugin:{plugin}")]).await?;
        let stored = tx.query("SELECT version, sha256 FROM plugin_components WHERE plugin = $1", &[&plugin]).await?;
        let versions: Vec<(semver::Version, String)> =
            stored.iter().filter_map(|row| Some((row.get::<_, String>(0).parse().ok()?, row.get(1)))).collect();
        // Strictly after every earlier install of the plugin, so "installed last" is never a tie.
        let last: Option<i64> = tx.query_one("SELECT MAX(installed_at) FROM plugin_components WHERE plugin = $1", &[&plugin]).await?.get(0);
        let installed_at = now_ms().max(last.map_or(0, |at| at + 1));
        let existing = versions.iter().find(|(v, _)| v == version).map(|(_, sha)| sha);
        if existing.is_some_and(|sha| *sha != sha256) {
            return Ok(ComponentInstall::Conflict);
        }
        if let Some(newest) = versions.iter().map(|(v, _)| v).max().filter(|newest| *newest > version && !force) {
            return Ok(ComponentInstall::Older { newest: newest.clone() });
        }
        if existing.is_some() {
            // Stored before: current again (a forced downgrade to it), or already current.
            let current: String = tx
                .query_one("SELECT version FROM plugin_components WHERE plugin = $1 ORDER BY installed_at DESC, version DESC LIMIT 1", &[&plugin])
                .await?
                .get(0);
            if current == version.to_string() {
                // The same bytes, now from elsewhere (a registry, or a file): the record follows.
                let moved = "UPDATE plugin_components SET source = $3 WHERE plugin = $1 AND version = $2 AND source IS DISTINCT FROM $3";
                if tx.execute(moved, &[&plugin, &version.to_string(), &source]).await? > 0 {
                    tx.execute(super::live::NOTIFY, &[&CHANNEL, &format!("{plugin}@{version}")]).await?;
                    tx.commit().await?;
                }
                return Ok(ComponentInstall::Unchanged);
            }
            tx.execute(
                "UPDATE plugin_components SET installed_at = $3, source = $4 WHERE plugin = $1 AND version = $2",
                &[&plugin, &version.to_string(), &installed_at, &source],
            )
            .await?;
        } else {
            tx.execute(
                "INSERT INTO plugin_components (plugin, version, sha256, component, installed_at, source) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&plugin, &version.to_string(), &sha256, &component, &installed_at, &source],
            )
            .await?;
        }
        tx.execute("DELETE FROM plugin_removals WHERE plugin = $1", &[&plugin]).await?;
        tx.execute(super::live::NOTIFY, &[&CHANNEL, &format!("{plugin}@{version}")]).await?;
        tx.commit().await?;
        Ok(ComponentInstall::Stored)
    }

    /// Removes every stored version of `plugin`, remembered until it is installed again, and
    /// announces it: whether there was any.
    pub async fn remove_components(&self, plugin: &str) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&format!("plugin:{plugin}")]).await?;
        if tx.execute("DELETE FROM plugin_components WHERE plugin = $1", &[&plugin]).await? == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO plugin_removals (plugin, removed_at) VALUES ($1, $2) ON CONFLICT (plugin) DO UPDATE SET removed_at = EXCLUDED.removed_at",
            &[&plugin, &now_ms()],
        )
        .await?;
        tx.execute(super::live::NOTIFY, &[&CHANNEL, &format!("{plugin}@")]).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The plugins removed through any node and not installed since.
    pub async fn removed_plugins(&self) -> StoreResult<Vec<String>> {
        let rows = self.client().await?.query("SELECT plugin FROM plugin_removals ORDER BY plugin", &[]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Every plugin's current component (see [`PgStore::current_component`]): what a starting
    /// node loads.
    pub async fn current_components(&self) -> StoreResult<Vec<(String, semver::Version, Vec<u8>)>> {
        let rows = self
            .client()
            .await?
            .query("SELECT DISTINCT ON (plugin) plugin, version, component FROM plugin_components ORDER BY plugin, installed_at DESC, version DESC", &[])
            .await?;
        Ok(rows.iter().filter_map(|row| Some((row.get(0), row.get::<_, String>(1).parse().ok()?, row.get(2)))).collect())
    }

    /// Where every plugin's current component came from: id, repository (`None`: a file).
    pub async fn component_sources(&self) -> StoreResult<Vec<(String, Option<String>)>> {
        let rows = self
            .client()
            .await?
            .query("SELECT DISTINCT ON (plugin) plugin, source FROM plugin_components ORDER BY plugin, installed_at DESC, version DESC", &[])
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// The component a node serves for `plugin`: the version installed last (a forced downgrade
    /// included), with its bytes.
    pub async fn current_component(&self, plugin: &str) -> StoreResult<Option<(semver::Version, Vec<u8>)>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT version, component FROM plugin_components WHERE plugin = $1 ORDER BY installed_at DESC, version DESC LIMIT 1", &[&plugin])
            .await?;
        Ok(row.and_then(|row| Some((row.get::<_, String>(0).parse().ok()?, row.get(1)))))
    }
}
