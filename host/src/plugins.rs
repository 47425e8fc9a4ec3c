//! Loading plugins at start: the first-party components built into the binary, then every
//! component in `<data-dir>/plugins`. A plugin that fails to load is refused with a log line
//! that says why; the host starts anyway.

use std::path::Path;

use crate::app::App;

include!(concat!(env!("OUT_DIR"), "/first_party.rs"));

pub async fn load_all(app: &App, plugins_dir: &Path) {
    for (package, bytes) in FIRST_PARTY_PLUGINS {
        load_one(app, package, bytes).await;
    }
    let mut files: Vec<_> = match std::fs::read_dir(plugins_dir) {
        Ok(entries) => entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "wasm")).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            tracing::error!(dir = %plugins_dir.display(), "cannot read the plugins folder: {e}");
            Vec::new()
        }
    };
    files.sort();
    for path in files {
        match std::fs::read(&path) {
            Ok(bytes) => load_one(app, &path.display().to_string(), &bytes).await,
            Err(e) => tracing::error!(file = %path.display(), "plugin refused: cannot read it: {e}"),
        }
    }
}

async fn load_one(app: &App, source: &str, bytes: &[u8]) {
    let started = std::time::Instant::now();
    let plugin = match app.runtime.load(bytes).await {
        Ok(plugin) => plugin,
        Err(e) => {
            tracing::error!(source, "plugin refused: {e}");
            return;
        }
    };
    let (id, version, wit) = (plugin.id().to_owned(), plugin.version.clone(), plugin.wit_version.clone());
    match app.registry.install(plugin, false) {
        Ok(_) => tracing::info!(source, %id, %version, wit = %wit, ms = started.elapsed().as_millis() as u64, "plugin loaded"),
        Err(e) => tracing::error!(source, "plugin refused: {e}"),
    }
}
