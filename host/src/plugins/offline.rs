//! Plugin commands for operators, working on a data dir without a running server:
//! `switchboard plugin install | list | inspect | remove | outdated`. A running server's folder
//! watcher picks up what `install` and `remove` change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{PluginError, component_files};
use crate::registry::InstallError;
use crate::runtime::cache::write_atomically;
use crate::runtime::{CompileCache, HostServices, Limits, LoadedPlugin, Runtime, SERVED_WIT_VERSIONS};

pub use crate::data_dir::{cache_dir, plugins_dir};

fn runtime(data_dir: Option<&Path>) -> anyhow::Result<Runtime> {
    Runtime::new(Limits::default(), Vec::new(), HostServices::none(), data_dir.map(|d| CompileCache::new(cache_dir(d))))
}

/// What an operator wants to know about a component before installing it.
pub fn describe(plugin: &LoadedPlugin) -> String {
    let m = &plugin.manifest;
    let mut text = String::new();
    let _ = writeln!(text, "id:             {}", m.id);
    let _ = writeln!(text, "name:           {}", m.name);
    let _ = writeln!(text, "version:        {}", plugin.version);
    let _ = writeln!(text, "wit version:    {} (this host serves {SERVED_WIT_VERSIONS})", plugin.wit_version);
    let _ = writeln!(text, "description:    {}", m.description);
    let _ = writeln!(text, "outbound hosts: {}", if m.outbound_hosts.is_empty() { "none".into() } else { m.outbound_hosts.join(", ") });
    let _ = writeln!(text, "sha256:         {}", plugin.hash);
    let _ = writeln!(text, "settings:");
    for field in &plugin.settings_schema {
        let mut flags = vec![field.kind.name()];
        if field.required {
            flags.push("required");
        }
        if field.secret {
            flags.push("secret");
        }
        if field.immutable {
            flags.push("read-only after connect");
        }
        let _ = writeln!(text, "  {:<22} {} ({})", field.key, field.label, flags.join(", "));
    }
    text
}

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))
}

/// `plugin inspect FILE`.
pub async fn inspect(file: &Path) -> anyhow::Result<String> {
    let plugin = runtime(None)?.load(read(file)?).await.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(describe(&plugin))
}

/// `plugin push FILE oci://REGISTRY/REPOSITORY[:VERSION]`: the component as a wasm OCI
/// artifact, tagged with its version. The registry named here is the author's own choice, so
/// it is reached wherever it is (a registry on this machine too).
pub async fn push(file: &Path, reference: &str) -> anyhow::Result<String> {
    let bytes = read(file)?;
    let plugin = runtime(None)?.load(bytes.clone()).await.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let version = plugin.version.to_string();
    let tagged = match reference.trim().strip_prefix("oci://").and_then(|rest| rest.split_once('/')) {
        Some((_, path)) if !path.contains(':') => format!("{}:{version}", reference.trim()),
        _ => reference.trim().to_owned(),
    };
    let source = crate::oci::Source::parse(&tagged).map_err(|e| anyhow::anyhow!(e))?;
    match &source.wanted {
        crate::oci::Wanted::Tag(tag) if *tag == version => {}
        crate::oci::Wanted::Tag(other) => anyhow::bail!("the tag must be the plugin's version, {version} (the file says so), not `{other}`: push to oci://{}/{}:{version}", source.registry, source.repository),
        crate::oci::Wanted::Range(range) => anyhow::bail!("a push names one version, not a range (`{range}`): push to oci://{}/{}:{version}", source.registry, source.repository),
    }
    let registry = crate::runtime::HostPattern::parse(&source.registry).map_err(|e| anyhow::anyhow!(e))?;
    let repository = crate::oci::Repository::new(&source, &[registry], true);
    let title = file.file_name().map_or_else(|| format!("{}.wasm", plugin.id()), |n| n.to_string_lossy().into_owned());
    let digest = repository.push(&bytes, &version, &title).await.map_err(|e| anyhow::anyhow!(e))?;
    Ok(format!("pushed {} {version} to {source} ({digest})\n", plugin.id()))
}

/// Everything installed: built-ins and the folder's files, each with what it provides.
async fn installed(runtime: &Runtime, data_dir: &Path) -> Vec<(String, Result<LoadedPlugin, String>)> {
    let mut found = Vec::new();
    for component in super::built_in_components() {
        let package = component.built_in_package().unwrap_or_default();
        found.push((format!("built-in ({package})"), runtime.load(component).await.map_err(|e| e.to_string())));
    }
    for path in component_files(&plugins_dir(data_dir)) {
        let loaded = match std::fs::read(&path) {
            Ok(bytes) => runtime.load(bytes).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        found.push((path.display().to_string(), loaded));
    }
    found
}

/// `plugin list`.
pub async fn list(data_dir: &Path) -> anyhow::Result<String> {
    let runtime = runtime(Some(data_dir))?;
    let mut text = format!("{:<18} {:<10} {:<8} source\n", "id", "version", "wit");
    for (source, plugin) in installed(&runtime, data_dir).await {
        match plugin {
            Ok(p) => {
                let _ = writeln!(text, "{:<18} {:<10} {:<8} {source}", p.id(), p.version.to_string(), p.wit_version.to_string());
            }
            Err(e) => {
                let _ = writeln!(text, "{:<18} {:<10} {:<8} {source}: refused: {e}", "?", "-", "-");
            }
        }
    }
    Ok(text)
}

/// The most a component pulled by `plugin install oci://…` may weigh (the API's upload limit).
const MAX_PULLED_BYTES: usize = 64 << 20;

/// `plugin install FILE|oci://REGISTRY/REPOSITORY:VERSION-OR-RANGE [--force]`: a file, or a
/// component pulled from a registry (the newest tag matching a range; by the manifest's digest,
/// the layer's digest checked as it arrives, at most 64 MiB), validated as a file is.
pub async fn install_from(data_dir: &Path, source: &str, force: bool) -> anyhow::Result<String> {
    if !source.trim().starts_with("oci://") {
        return install(data_dir, Path::new(source), force).await;
    }
    let (bytes, pulled, repository) = pull(source).await?;
    install_bytes(data_dir, bytes, &pulled, force, Some(&repository)).await
}

/// The component a registry reference names, how to say where it came from, and the repository
/// to record with it. The registry is the operator's own choice here, so it is reached wherever
/// it is (as `push` does).
async fn pull(reference: &str) -> anyhow::Result<(Vec<u8>, String, String)> {
    use futures_util::StreamExt;
    let source = crate::oci::Source::parse(reference.trim()).map_err(|e| anyhow::anyhow!(e))?;
    let registry = crate::runtime::HostPattern::parse(&source.registry).map_err(|e| anyhow::anyhow!(e))?;
    let repository = crate::oci::Repository::new(&source, &[registry], false);
    let pulled = async {
        let (tag, digest, mut body) = super::pull_component(&repository, MAX_PULLED_BYTES).await.map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| anyhow::anyhow!("{source}: {e}"))?);
            if bytes.len() > MAX_PULLED_BYTES {
                anyhow::bail!("{source}: the component is more than the {} MiB a plugin may be", MAX_PULLED_BYTES >> 20);
            }
        }
        Ok((bytes, format!("oci://{}/{}:{tag} ({digest})", source.registry, source.repository), source.repository_reference()))
    };
    tokio::time::timeout(crate::oci::PULL_DEADLINE, pulled)
        .await
        .map_err(|_| anyhow::anyhow!("{source}: the pull did not finish within {} s", crate::oci::PULL_DEADLINE.as_secs()))?
}

/// `plugin install FILE [--force]`: validates, refuses a downgrade unless forced, and places
/// the component in the folder as `<id>.wasm` (replacing other files of that id).
pub async fn install(data_dir: &Path, file: &Path, force: bool) -> anyhow::Result<String> {
    install_bytes(data_dir, read(file)?, &file.display().to_string(), force, None).await
}

/// Places a validated component; `repository`: the registry's repository it was pulled from,
/// recorded beside it (`<id>.source`, see `catalogue`), or `None` for a file (no record).
async fn install_bytes(data_dir: &Path, bytes: Vec<u8>, from: &str, force: bool, repository: Option<&str>) -> anyhow::Result<String> {
    let runtime = runtime(Some(data_dir))?;
    let plugin = runtime.load(bytes.clone()).await.map_err(|e| anyhow::anyhow!("{from}: {e}"))?;
    let mut replaced = Vec::new();
    for (source, existing) in installed(&runtime, data_dir).await {
        let Ok(existing) = existing else { continue };
        if existing.id() != plugin.id() {
            continue;
        }
        if existing.version > plugin.version && !force {
            return Err(PluginError::Install(InstallError::Downgrade {
                id: plugin.id().to_owned(),
                installed: existing.version.clone(),
                offered: plugin.version.clone(),
            })
            .into());
        }
        if !source.starts_with("built-in") {
            replaced.push(PathBuf::from(source));
        }
    }
    let target = super::plugin_file(&plugins_dir(data_dir), plugin.id(), ".wasm")?;
    write_atomically(&target, &bytes).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
    for old in replaced.iter().filter(|p| **p != target) {
        std::fs::remove_file(old).map_err(|e| anyhow::anyhow!("cannot remove the old {}: {e}", old.display()))?;
    }
    super::record_source(&plugins_dir(data_dir), plugin.id(), repository)?;
    Ok(format!("installed {} {} from {from} as {}\n", plugin.id(), plugin.version, target.display()))
}

/// `plugin remove ID`: deletes the folder file(s) providing the plugin.
pub async fn remove(data_dir: &Path, id: &str) -> anyhow::Result<String> {
    let runtime = runtime(Some(data_dir))?;
    let mut removed = Vec::new();
    let mut built_in = false;
    for (source, plugin) in installed(&runtime, data_dir).await {
        match plugin {
            Ok(p) if p.id() == id && source.starts_with("built-in") => built_in = true,
            Ok(p) if p.id() == id => {
                std::fs::remove_file(&source).map_err(|e| anyhow::anyhow!("cannot remove {source}: {e}"))?;
                removed.push(source);
            }
            _ => {}
        }
    }
    if !removed.is_empty() {
        super::record_source(&plugins_dir(data_dir), id, None)?;
    }
    match (removed.is_empty(), built_in) {
        (true, true) => Err(PluginError::BuiltIn(id.to_owned()).into()),
        (true, false) => Err(PluginError::NotInstalled(id.to_owned()).into()),
        (false, true) => Ok(format!("removed {}; the built-in {id} serves again\n", removed.join(", "))),
        (false, false) => Ok(format!("removed {}\n", removed.join(", "))),
    }
}

/// What `plugin outdated` found.
pub struct Outdated {
    /// For standard output: the plugins with a newer compatible version, else that all is up to date.
    pub report: String,
    /// For standard error: each repository whose registry could not be read, with why.
    pub unreadable: Vec<String>,
    /// Repositories were to be read and none could be (the command exits 1).
    pub nothing_read: bool,
}

/// `plugin outdated [--catalogue oci://REGISTRY/REPOSITORY …]`: every plugin of the folder that
/// was installed from a registry (it records the repository, `<id>.source`; see `catalogue`) is
/// checked against that repository, and the `catalogue` repositories too (those nobody installed
/// from are named as not installed). One line per plugin with a newer version of its major:
/// plugin, installed, newest compatible, newest, source; a new major is noted apart. The
/// registries are read at once, each within `catalogue::READ_TIMEOUT`, and reached wherever they
/// are (the operator's own choice, as `plugin install oci://…` does).
pub async fn outdated(data_dir: &Path, catalogue: &[String]) -> anyhow::Result<Outdated> {
    use super::catalogue::{InstalledFrom, READ_TIMEOUT, read as read_catalogue};
    use crate::oci::Source;
    let folder = plugins_dir(data_dir);
    let mut repositories = Vec::new();
    for reference in catalogue {
        repositories.push(Source::parse_repository(reference).map_err(|e| anyhow::anyhow!("--catalogue {e}"))?);
    }
    let runtime = runtime(Some(data_dir))?;
    let mut installed = Vec::new();
    let mut unreadable = Vec::new();
    for path in component_files(&folder) {
        let Some(id) = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()) else { continue };
        let Some(source) = super::recorded_source(&folder, &id) else { continue };
        let loaded = match std::fs::read(&path) {
            Ok(bytes) => runtime.load(bytes).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match loaded {
            Ok(plugin) if plugin.id() == id => {
                if !repositories.iter().any(|r: &Source| r.repository_reference() == source) {
                    repositories.push(Source::parse_repository(&source).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?);
                }
                installed.push(InstalledFrom { plugin: id, version: plugin.version.clone(), source });
            }
            Ok(_) => {}
            Err(e) => unreadable.push(format!("{}: the installed component is refused: {e}", path.display())),
        }
    }
    if repositories.is_empty() {
        let report = "nothing to check: no installed plugin was installed from a registry, and no --catalogue repository is given\n".to_owned();
        return Ok(Outdated { report, unreadable, nothing_read: false });
    }
    let allowed: Vec<_> = repositories.iter().filter_map(|r| crate::runtime::HostPattern::parse(&r.registry).ok()).collect();
    let entries = read_catalogue(&repositories, &installed, &allowed, READ_TIMEOUT).await;
    unreadable.extend(entries.iter().filter_map(|e| Some(format!("{}: {}", e.source, e.error.as_ref()?))));
    let major = |version: &str| version.parse::<semver::Version>().map(|v| v.major).ok();
    let mut report = String::new();
    let newer: Vec<_> = entries.iter().filter(|e| e.newest_compatible.is_some()).collect();
    if !newer.is_empty() {
        let _ = writeln!(report, "{:<18} {:<10} {:<18} {:<10} source", "plugin", "installed", "newest compatible", "newest");
    }
    let dash = "-".to_owned();
    for entry in &newer {
        let (plugin, installed) = (entry.plugin.as_ref().unwrap_or(&dash), entry.installed.as_ref().unwrap_or(&dash));
        let (compatible, newest) = (entry.newest_compatible.as_ref().unwrap_or(&dash), entry.newest.as_ref().unwrap_or(&dash));
        let _ = writeln!(report, "{plugin:<18} {installed:<10} {compatible:<18} {newest:<10} {}", entry.source);
    }
    let checked: Vec<String> = entries.iter().filter(|e| e.error.is_none()).filter_map(|e| Some(format!("{} {}", e.plugin.as_ref()?, e.installed.as_ref()?))).collect();
    if newer.is_empty() {
        let _ = match (checked.is_empty(), unreadable.is_empty()) {
            (true, _) => writeln!(report, "no plugin installed from a registry could be checked"),
            (false, true) => writeln!(report, "all up to date: {} at the newest version of its major", checked.join(", ")),
            (false, false) => writeln!(report, "up to date as far as the registries that answered tell: {} (the others are named on standard error)", checked.join(", ")),
        };
    }
    for entry in &entries {
        if let (Some(plugin), Some(installed), Some(newest)) = (&entry.plugin, &entry.installed, &entry.newest)
            && major(newest) > major(installed)
        {
            let _ = writeln!(report, "{plugin} {installed}: {newest} is a new major version (it may change what its channels rely on): switchboard plugin install {}:{newest}", entry.source);
        }
    }
    for entry in entries.iter().filter(|e| e.plugin.is_none() && e.error.is_none()) {
        let newest = entry.newest.as_deref().or(entry.versions.first().map(String::as_str)).unwrap_or("no versions yet");
        let _ = writeln!(report, "not installed: {} (newest {newest})", entry.source);
    }
    let nothing_read = entries.iter().all(|e| e.error.is_some());
    Ok(Outdated { report, unreadable, nothing_read })
}
