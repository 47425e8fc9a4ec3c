//! Loaded plugins by id, with where each came from. A plugin is replaced atomically: calls
//! already running keep the `Arc` of the version they started on; new calls get the new one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::runtime::LoadedPlugin;

/// Where a loaded plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Built into the binary (first party).
    BuiltIn,
    /// A component file in the plugins folder.
    File(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BuiltIn => f.write_str("built-in"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Clone)]
pub struct Installed {
    pub plugin: Arc<LoadedPlugin>,
    pub source: PluginSource,
}

#[derive(Default)]
pub struct Registry {
    active: RwLock<BTreeMap<String, Installed>>,
    /// Built-in versions, restored when a folder plugin that replaced one is removed.
    built_in: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("plugin `{id}` {installed} is installed; {offered} is older (install with force to downgrade)")]
    Downgrade { id: String, installed: semver::Version, offered: semver::Version },
}

impl Registry {
    pub fn get(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        self.active.read().unwrap_or_else(|p| p.into_inner()).get(id).map(|i| i.plugin.clone())
    }

    pub fn installed(&self, id: &str) -> Option<Installed> {
        self.active.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Every loaded plugin, by id.
    pub fn list(&self) -> Vec<Arc<LoadedPlugin>> {
        self.active.read().unwrap_or_else(|p| p.into_inner()).values().map(|i| i.plugin.clone()).collect()
    }

    /// The plugin a folder file provides, if it is the active one for its id.
    pub fn from_file(&self, path: &Path) -> Option<Installed> {
        let active = self.active.read().unwrap_or_else(|p| p.into_inner());
        active.values().find(|i| i.source == PluginSource::File(path.to_path_buf())).cloned()
    }

    /// Makes a plugin live. An older version than the active one is refused unless `force`
    /// (or it comes from the same file, which the operator just replaced).
    pub fn install(&self, plugin: LoadedPlugin, source: PluginSource, force: bool) -> Result<Arc<LoadedPlugin>, InstallError> {
        let plugin = Arc::new(plugin);
        let mut active = self.active.write().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = active.get(plugin.id())
            && current.plugin.version > plugin.version
            && !force
            && current.source != source
        {
            return Err(InstallError::Downgrade {
                id: plugin.id().to_owned(),
                installed: current.plugin.version.clone(),
                offered: plugin.version.clone(),
            });
        }
        if source == PluginSource::BuiltIn {
            self.built_in.write().unwrap_or_else(|p| p.into_inner()).insert(plugin.id().to_owned(), plugin.clone());
        }
        active.insert(plugin.id().to_owned(), Installed { plugin: plugin.clone(), source });
        Ok(plugin)
    }

    /// Unloads the plugin a removed file provided; the built-in version of the same id, if
    /// any, takes over. Returns the unloaded plugin's id.
    pub fn remove_file(&self, path: &Path) -> Option<String> {
        let mut active = self.active.write().unwrap_or_else(|p| p.into_inner());
        let source = PluginSource::File(path.to_path_buf());
        let id = active.iter().find(|(_, i)| i.source == source).map(|(id, _)| id.clone())?;
        active.remove(&id);
        if let Some(built_in) = self.built_in.read().unwrap_or_else(|p| p.into_inner()).get(&id) {
            active.insert(id.clone(), Installed { plugin: built_in.clone(), source: PluginSource::BuiltIn });
        }
        Some(id)
    }
}
