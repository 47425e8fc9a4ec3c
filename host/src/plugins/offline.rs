//! Plugin commands for operators, working on a data dir without a running server:
//! `switchboard plugin install | list | inspect | remove`. A running server's folder
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
    let source = super::oci::Source::parse(&tagged).map_err(|e| anyhow::anyhow!(e))?;
    match &source.wanted {
        super::oci::Wanted::Tag(tag) if *tag == version => {}
        super::oci::Wanted::Tag(other) => anyhow::bail!("the tag must be the plugin's version, {version} (the file says so), not `{other}`: push to oci://{}/{}:{version}", source.registry, source.repository),
        super::oci::Wanted::Range(range) => anyhow::bail!("a push names one version, not a range (`{range}`): push to oci://{}/{}:{version}", source.registry, source.repository),
    }
    let registry = crate::runtime::HostPattern::parse(&source.registry).map_err(|e| anyhow::anyhow!(e))?;
    let repository = super::oci::Repository::new(&source, &[registry], true);
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
    let (bytes, pulled) = pull(source).await?;
    install_bytes(data_dir, bytes, &pulled, force).await
}

/// The component a registry reference names, and how to say where it came from. The registry
/// is the operator's own choice here, so it is reached wherever it is (as `push` does).
async fn pull(reference: &str) -> anyhow::Result<(Vec<u8>, String)> {
    use futures_util::StreamExt;
    let source = super::oci::Source::parse(reference.trim()).map_err(|e| anyhow::anyhow!(e))?;
    let registry = crate::runtime::HostPattern::parse(&source.registry).map_err(|e| anyhow::anyhow!(e))?;
    let repository = super::oci::Repository::new(&source, &[registry], false);
    let pulled = async {
        let (tag, digest, mut body) = super::pull_component(&repository, MAX_PULLED_BYTES).await.map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| anyhow::anyhow!("{source}: {e}"))?);
            if bytes.len() > MAX_PULLED_BYTES {
                anyhow::bail!("{source}: the component is more than the {} MiB a plugin may be", MAX_PULLED_BYTES >> 20);
            }
        }
        Ok((bytes, format!("oci://{}/{}:{tag} ({digest})", source.registry, source.repository)))
    };
    tokio::time::timeout(super::oci::PULL_DEADLINE, pulled)
        .await
        .map_err(|_| anyhow::anyhow!("{source}: the pull did not finish within {} s", super::oci::PULL_DEADLINE.as_secs()))?
}

/// `plugin install FILE [--force]`: validates, refuses a downgrade unless forced, and places
/// the component in the folder as `<id>.wasm` (replacing other files of that id).
pub async fn install(data_dir: &Path, file: &Path, force: bool) -> anyhow::Result<String> {
    install_bytes(data_dir, read(file)?, &file.display().to_string(), force).await
}

async fn install_bytes(data_dir: &Path, bytes: Vec<u8>, from: &str, force: bool) -> anyhow::Result<String> {
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
    match (removed.is_empty(), built_in) {
        (true, true) => Err(PluginError::BuiltIn(id.to_owned()).into()),
        (true, false) => Err(PluginError::NotInstalled(id.to_owned()).into()),
        (false, true) => Ok(format!("removed {}; the built-in {id} serves again\n", removed.join(", "))),
        (false, false) => Ok(format!("removed {}\n", removed.join(", "))),
    }
}
