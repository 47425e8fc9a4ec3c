//! Loaded plugins by id. A plugin is replaced atomically: calls already running keep the
//! `Arc` of the version they started on; new calls get the new one.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::runtime::LoadedPlugin;

#[derive(Default)]
pub struct Registry {
    plugins: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("plugin `{id}` {installed} is installed; {offered} is older (install with force to downgrade)")]
    Downgrade { id: String, installed: semver::Version, offered: semver::Version },
}

impl Registry {
    pub fn get(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Every loaded plugin, by id.
    pub fn list(&self) -> Vec<Arc<LoadedPlugin>> {
        self.plugins.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Makes a plugin live, replacing an older (or equal) version of the same id.
    pub fn install(&self, plugin: LoadedPlugin, force: bool) -> Result<Option<Arc<LoadedPlugin>>, InstallError> {
        let mut plugins = self.plugins.write().unwrap_or_else(|p| p.into_inner());
        if let Some(installed) = plugins.get(plugin.id())
            && installed.version > plugin.version
            && !force
        {
            return Err(InstallError::Downgrade {
                id: plugin.id().to_owned(),
                installed: installed.version.clone(),
                offered: plugin.version.clone(),
            });
        }
        Ok(plugins.insert(plugin.id().to_owned(), Arc::new(plugin)))
    }
}
