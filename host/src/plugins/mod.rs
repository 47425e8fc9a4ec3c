//! Plugins on disk and in the registry: the first-party components built into the binary,
//! the component files in `<data-dir>/plugins`, uploads, and removal. A plugin that fails to
//! load is refused with a reason; whatever was serving keeps serving.

pub mod offline;
pub mod watcher;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::app::App;
use crate::registry::{InstallError, PluginSource};
use crate::runtime::cache::write_atomically;
use crate::runtime::{LoadError, LoadedPlugin};

include!(concat!(env!("OUT_DIR"), "/first_party.rs"));

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error("`{0}` is built into Switchboard and cannot be removed")]
    BuiltIn(String),
    #[error("no plugin `{0}` is installed in the plugins folder")]
    NotInstalled(String),
    #[error("{0}")]
    Io(String),
}

/// Whether a path in the plugins folder is a component to load (not a temp file of a copy).
pub fn is_component_file(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    path.extension().is_some_and(|x| x == "wasm") && !name.starts_with('.')
}

/// The component files of a folder, sorted (a missing folder has none).
pub fn component_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|e| e.path()).filter(|p| is_component_file(p)).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            tracing::error!(dir = %dir.display(), "cannot read the plugins folder: {e}");
            Vec::new()
        }
    };
    files.sort();
    files
}

/// Loads the built-in plugins, then every component in the folder, logging progress.
pub async fn load_all(app: &App) {
    let files = component_files(&app.plugins_dir);
    let total = FIRST_PARTY_PLUGINS.len() + files.len();
    let mut done = 0;
    for (package, bytes) in FIRST_PARTY_PLUGINS {
        done += 1;
        tracing::info!("loading plugins ({done}/{total}): built-in {package}");
        let result = load_and_install(app, bytes.to_vec(), PluginSource::BuiltIn, false).await;
        log_outcome(package, &result);
    }
    for path in files {
        done += 1;
        tracing::info!("loading plugins ({done}/{total}): {}", path.display());
        let result = load_file(app, &path).await;
        log_outcome(&path.display().to_string(), &result);
    }
}

fn log_outcome(source: &str, result: &Result<Arc<LoadedPlugin>, PluginError>) {
    match result {
        Ok(plugin) => tracing::info!(source, id = %plugin.id(), version = %plugin.version, wit = %plugin.wit_version, "plugin loaded"),
        Err(e) => tracing::error!(source, "plugin refused: {e}"),
    }
}

async fn load_and_install(app: &App, bytes: Vec<u8>, source: PluginSource, force: bool) -> Result<Arc<LoadedPlugin>, PluginError> {
    let plugin = app.runtime.load(bytes).await?;
    Ok(app.registry.install(plugin, source, force)?)
}

/// Loads a component file of the folder and makes it live, replacing what that file
/// provided before. Unchanged files (same hash as what is live) are left alone.
pub async fn load_file(app: &App, path: &Path) -> Result<Arc<LoadedPlugin>, PluginError> {
    let bytes = std::fs::read(path).map_err(|e| PluginError::Io(format!("cannot read {}: {e}", path.display())))?;
    if let Some(live) = app.registry.from_file(path)
        && live.plugin.hash == crate::runtime::component_hash(&bytes)
    {
        return Ok(live.plugin);
    }
    let started = Instant::now();
    let plugin = load_and_install(app, bytes, PluginSource::File(path.to_path_buf()), false).await?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "plugin file loaded");
    Ok(plugin)
}

/// An uploaded component: validated, written to the folder as `<id>.wasm` (replacing any
/// other file of the same id), and made live. Returns the plugin and whether it replaced one.
pub async fn install_upload(app: &App, bytes: Vec<u8>, force: bool) -> Result<(Arc<LoadedPlugin>, bool), PluginError> {
    let plugin = app.runtime.load(bytes.clone()).await?;
    let id = plugin.id().to_owned();
    let previous = app.registry.installed(&id);
    if let Some(current) = &previous
        && current.plugin.version > plugin.version
        && !force
    {
        return Err(InstallError::Downgrade { id, installed: current.plugin.version.clone(), offered: plugin.version.clone() }.into());
    }
    let path = app.plugins_dir.join(format!("{id}.wasm"));
    write_atomically(&path, &bytes).map_err(|e| PluginError::Io(format!("cannot write {}: {e}", path.display())))?;
    if let Some(crate::registry::Installed { source: PluginSource::File(other), .. }) = &previous
        && other != &path
    {
        let _ = std::fs::remove_file(other);
        app.registry.remove_file(other);
    }
    let live = app.registry.install(plugin, PluginSource::File(path.clone()), true)?;
    tracing::info!(id = %live.id(), version = %live.version, file = %path.display(), "plugin installed");
    Ok((live, previous.is_some()))
}

/// Deletes the folder file(s) of a plugin and unloads it (a built-in of the same id takes over).
pub fn remove(app: &App, id: &str) -> Result<(), PluginError> {
    match app.registry.installed(id) {
        None => Err(PluginError::NotInstalled(id.to_owned())),
        Some(installed) => match installed.source {
            PluginSource::BuiltIn => Err(PluginError::BuiltIn(id.to_owned())),
            PluginSource::File(path) => {
                std::fs::remove_file(&path).map_err(|e| PluginError::Io(format!("cannot remove {}: {e}", path.display())))?;
                app.registry.remove_file(&path);
                tracing::info!(id, file = %path.display(), "plugin removed; its channels are unavailable until it returns");
                Ok(())
            }
        },
    }
}
