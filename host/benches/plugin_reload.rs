//! Plugin lifecycle timings, cold (nothing in the compile cache) against cached, in one run:
//! - start: opening a data dir and loading every plugin (the built-in ones and one in the folder);
//! - reload: from a component file landing in the watched plugins folder to it serving.
//!
//! Run: `cargo bench -p switchboard --bench plugin_reload`. Medians of several rounds.

mod support;

use support::median;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::registry::PluginSource;
use switchboard::{App, ServeConfig};

const ROUNDS: usize = 7;

fn config(data_dir: &Path) -> ServeConfig {
    ServeConfig {
        data_dir: data_dir.to_path_buf(),
        database_url: None,
        public_url: None,
        allow_outbound: Vec::new(),
        limits: Default::default(),
        mail: Default::default(),
        media_max_mb: switchboard::media::DEFAULT_MAX_MB,
        resolver: Default::default(),
        // The bench copies an unsigned build into the folder: what it measures is loading.
        plugin_trust: switchboard::app::PluginTrust { trusted_keys: Vec::new(), allow_unsigned: true },
        faults: Default::default(),
        record_webhooks: None,
        webhook_retry: Default::default(),
        compiler: None,
        release_start_up_code: false,
        compile_cache: None,
        catalogue: Vec::new(),
    }
}

fn telegram() -> &'static [u8] {
    switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(name, _)| name.contains("telegram")).unwrap().1
}


async fn start(data_dir: &Path) -> Duration {
    let started = Instant::now();
    let _app = switchboard::server::start(&config(data_dir), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    started.elapsed()
}

/// Copies the component into the folder and waits until the folder's copy serves.
async fn land_and_wait(app: &App, file: &Path) -> Duration {
    let started = Instant::now();
    std::fs::write(file, telegram()).unwrap();
    let wanted = PluginSource::File(file.to_path_buf());
    while app.registry.installed("telegram").map(|i| i.source) != Some(wanted.clone()) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

async fn remove_and_wait(app: &App, file: &Path) {
    std::fs::remove_file(file).unwrap();
    while app.registry.installed("telegram").map(|i| i.source) != Some(PluginSource::BuiltIn) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn reload_round(cached: bool) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let app: Arc<App> = switchboard::server::start(&config(dir.path()), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watcher = switchboard::plugins::watcher::spawn(app.clone(), stopped).unwrap();
    let file = dir.path().join("plugins/telegram.wasm");
    if cached {
        land_and_wait(&app, &file).await; // compiles once, fills the cache
        remove_and_wait(&app, &file).await;
    } else {
        std::fs::remove_dir_all(dir.path().join("cache")).unwrap(); // even the built-in's entry
    }
    let elapsed = land_and_wait(&app, &file).await;
    let _ = stop.send(true);
    let _ = watcher.await;
    elapsed
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let mut cold_starts = Vec::new();
        let mut cached_starts = Vec::new();
        for _ in 0..ROUNDS {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
            std::fs::write(dir.path().join("plugins/extra.wasm"), telegram()).unwrap();
            cold_starts.push(start(dir.path()).await);
            cached_starts.push(start(dir.path()).await);
        }
        let (cold_start, cached_start) = (median(cold_starts), median(cached_starts));

        let mut cold_reloads = Vec::new();
        let mut cached_reloads = Vec::new();
        for _ in 0..ROUNDS {
            cold_reloads.push(reload_round(false).await);
            cached_reloads.push(reload_round(true).await);
        }
        let (cold_reload, cached_reload) = (median(cold_reloads), median(cached_reloads));

        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("plugin lifecycle ({} KiB component), medians of {ROUNDS} rounds:", telegram().len() / 1024);
        println!("  start with 2 plugins, cold cache:   {:>8.1} ms", ms(cold_start));
        println!("  start with 2 plugins, cached:       {:>8.1} ms   ({:.1}x faster)", ms(cached_start), ms(cold_start) / ms(cached_start));
        println!("  file landed -> serving, cold:       {:>8.1} ms", ms(cold_reload));
        println!("  file landed -> serving, cached:     {:>8.1} ms   ({:.1}x faster)", ms(cached_reload), ms(cold_reload) / ms(cached_reload));
        println!("  (the watcher waits for 2 x 250 ms of quiet before loading, so a half-copied file is never loaded)");
    });
}
