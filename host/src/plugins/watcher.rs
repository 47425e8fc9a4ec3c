//! Watches `<data-dir>/plugins`: a new or changed component is loaded off the request path
//! and swapped in atomically; a removed one is unloaded (its channels show as unavailable,
//! they are not deleted) until it returns.
//!
//! Debounced: a file is loaded only once it has had no events for `SETTLE` and its size and
//! modification time did not change across one more `SETTLE`, so a file still being copied
//! is not loaded half-written (copying to a temp name and renaming is still the surest way).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{is_component_file, load_file};
use crate::app::App;

const SETTLE: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

struct Pending {
    due: Instant,
    last_stamp: Option<FileStamp>,
}

/// Starts watching; the watch ends when `stop` turns true.
pub fn spawn(app: Arc<App>, mut stop: watch::Receiver<bool>) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let dir = app.plugins_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create the plugins folder {}: {e}", dir.display()))?;
    let (events, mut changed_paths) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
        // Reads (ours included: loading a file opens and reads it) change nothing; acting on
        // them would reload every file forever.
        Ok(event) if event.kind.is_access() => {}
        Ok(event) => event.paths.into_iter().for_each(|path| {
            let _ = events.send(path);
        }),
        Err(e) => tracing::warn!("plugins folder watch error: {e}"),
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    tracing::info!(dir = %dir.display(), "watching the plugins folder");

    let running = app.health.watcher_running();
    Ok(tokio::spawn(async move {
        let _running = running;
        let _watcher = watcher; // dropped when the task ends, which stops the OS watch
        let mut pending: HashMap<PathBuf, Pending> = HashMap::new();
        loop {
            let next_due = pending.values().map(|p| p.due).min();
            tokio::select! {
                Some(path) = changed_paths.recv() => {
                    if is_component_file(&path) {
                        let entry = pending.entry(path).or_insert(Pending { due: Instant::now(), last_stamp: None });
                        entry.due = Instant::now() + SETTLE;
                    }
                }
                _ = sleep_until(next_due) => {
                    let now = Instant::now();
                    let due: Vec<PathBuf> = pending.iter().filter(|(_, p)| p.due <= now).map(|(path, _)| path.clone()).collect();
                    for path in due {
                        settle(&app, &mut pending, path).await;
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }))
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// Acts on a file whose events have quietened: unload, wait once more, or load.
async fn settle(app: &App, pending: &mut HashMap<PathBuf, Pending>, path: PathBuf) {
    let stamp = match std::fs::metadata(&path) {
        Ok(meta) => FileStamp { len: meta.len(), modified: meta.modified().ok() },
        Err(_) => {
            pending.remove(&path);
            if let Some(id) = app.registry.remove_file(&path) {
                tracing::warn!(id, file = %path.display(), "plugin file removed: unloaded; its channels are unavailable until it returns");
            }
            return;
        }
    };
    let entry = pending.get_mut(&path).expect("due entries are pending");
    if entry.last_stamp != Some(stamp) {
        entry.last_stamp = Some(stamp);
        entry.due = Instant::now() + SETTLE;
        return;
    }
    pending.remove(&path);
    let previous = app.registry.from_file(&path).map(|i| i.plugin.version.clone());
    match load_file(app, &path).await {
        Ok(plugin) => tracing::info!(
            id = %plugin.id(), version = %plugin.version, previous = ?previous.map(|v| v.to_string()), file = %path.display(),
            "plugin live from the plugins folder"
        ),
        Err(e) => tracing::error!(file = %path.display(), "plugin refused: {e}; what was serving keeps serving"),
    }
}
