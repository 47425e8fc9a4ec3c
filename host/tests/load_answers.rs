//! What plugins answer while loading is kept beside the compile cache: loading the same
//! component again (a restart) asks the plugin nothing and ends with the same plugin; a
//! corrupt file, or one kept by another host version, is asked again and rewritten.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchboard::runtime::{CallObserver, CompileCache, ComponentSource, HostServices, Limits, LoadedPlugin, Runtime};

/// Counts the plugin calls the runtime reports. Asking a plugin reports every call but the
/// first (`manifest`, made before the plugin has an id), so a load that asks counts several
/// (at least `settings_schema` and `messaging_window`); one from the kept answers counts none.
#[derive(Default)]
struct CountedCalls(AtomicUsize);

impl CountedCalls {
    /// The calls since the last look.
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::Relaxed)
    }
}

impl CallObserver for CountedCalls {
    fn call_finished(&self, _plugin: &str, _export: &'static str, _outcome: &'static str, _elapsed: Duration) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A runtime with its compile cache in `dir`, and the count of the plugin calls it makes.
fn runtime(dir: &Path) -> (Runtime, Arc<CountedCalls>) {
    let calls = Arc::new(CountedCalls::default());
    let services = HostServices { calls: calls.clone(), ..HostServices::none() };
    (Runtime::new(Limits::default(), Vec::new(), services, Some(CompileCache::new(dir))).unwrap(), calls)
}

fn telegram() -> ComponentSource {
    switchboard::plugins::built_in_component("switchboard-telegram").expect("telegram is built in")
}

fn answers_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.to_string_lossy().ends_with(".answers.json")).collect();
    files.sort();
    files
}

fn the_answers_file(dir: &Path) -> PathBuf {
    let mut files = answers_files(dir);
    assert_eq!(files.len(), 1, "one plugin loaded, one answers file: {files:?}");
    files.remove(0)
}

/// Everything a plugin's load-time answers decide, as the host serves it.
fn assert_same_answers(asked: &LoadedPlugin, kept: &LoadedPlugin) {
    let id = asked.id();
    assert_eq!(kept.manifest, asked.manifest, "{id}");
    assert_eq!(kept.version, asked.version, "{id}");
    assert_eq!(kept.settings_schema, asked.settings_schema, "{id}");
    assert_eq!(kept.window, asked.window, "{id}");
    assert_eq!(kept.app_schema, asked.app_schema, "{id}");
    assert_eq!(kept.has_app(), asked.has_app(), "{id}");
    assert_eq!(kept.send_limits, asked.send_limits, "{id}");
    assert_eq!(kept.interactive, asked.interactive, "{id}");
    assert_eq!(kept.guide, asked.guide, "{id}");
    assert_eq!(kept.translations, asked.translations, "{id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loads_every_first_party_plugin_from_its_kept_answers_without_calling_it() {
    let dir = tempfile::tempdir().unwrap();
    let (first, first_calls) = runtime(dir.path());
    let mut asked = Vec::new();
    for component in switchboard::plugins::built_in_components() {
        let plugin = first.load(component).await.unwrap();
        assert!(first_calls.take() > 0, "{}: the first load asks the plugin", plugin.id());
        asked.push(plugin);
    }
    assert_eq!(answers_files(dir.path()).len(), switchboard::plugins::FIRST_PARTY_PLUGINS.len(), "one answers file per plugin");

    let (restarted, restarted_calls) = runtime(dir.path());
    for (component, asked) in switchboard::plugins::built_in_components().zip(&asked) {
        let kept = restarted.load(component).await.unwrap();
        assert_eq!(restarted_calls.take(), 0, "{}: loaded again without a plugin call", kept.id());
        assert_same_answers(asked, &kept);
    }
    let telegram = asked.iter().find(|plugin| plugin.id() == "telegram").expect("telegram is built in");
    let label = &telegram.settings_schema[0].label;
    assert!(telegram.translations.has("id", label), "the translations were asked and kept: {label:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_answers_file_is_ignored_and_rewritten_and_the_load_still_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let (runtime, calls) = runtime(dir.path());
    let asked = runtime.load(telegram()).await.unwrap();
    calls.take();
    let file = the_answers_file(dir.path());
    let written = std::fs::read(&file).unwrap();

    for (what, corrupt) in [("truncated", written[..written.len() / 2].to_vec()), ("not JSON", b"\x00\xffgarbage".to_vec()), ("empty", Vec::new())] {
        std::fs::write(&file, &corrupt).unwrap();
        let reloaded = runtime.load(telegram()).await.unwrap();
        assert!(calls.take() > 0, "{what}: the plugin is asked again");
        assert_same_answers(&asked, &reloaded);
        assert_eq!(std::fs::read(&file).unwrap(), written, "{what}: rewritten with the plugin's answers");
        runtime.load(telegram()).await.unwrap();
        assert_eq!(calls.take(), 0, "{what}: the rewritten file serves the next load");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_kept_by_another_host_version_are_asked_again() {
    let dir = tempfile::tempdir().unwrap();
    let (runtime, calls) = runtime(dir.path());
    let asked = runtime.load(telegram()).await.unwrap();
    calls.take();
    let file = the_answers_file(dir.path());
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written["host_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(written["contract_version"], switchboard::runtime::HOST_WIT_VERSION);

    for version in ["host_version", "contract_version"] {
        let mut other_host = written.clone();
        other_host[version] = serde_json::Value::from("0.0.0-other");
        std::fs::write(&file, serde_json::to_vec(&other_host).unwrap()).unwrap();
        let reloaded = runtime.load(telegram()).await.unwrap();
        assert!(calls.take() > 0, "another {version}: the plugin is asked again");
        assert_same_answers(&asked, &reloaded);
        let rewritten: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(rewritten, written, "another {version}: rewritten by this host");
    }
}
