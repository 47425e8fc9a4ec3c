//! Plugins on disk and in the registry: the first-party components built into the binary,
//! the component files in `<data-dir>/plugins`, uploads, and removal. A plugin that fails to
//! load is refused with a reason; whatever was serving keeps serving.

pub mod call;
pub mod catalogue;
pub mod check;
pub mod dev;
pub mod mock;
pub mod offline;
pub mod review;
pub mod scaffold;
pub mod watcher;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::app::App;
use crate::registry::{InstallError, PluginSource};
use crate::runtime::{ComponentSource, LoadError, LoadedPlugin};
use review::Review;

include!(concat!(env!("OUT_DIR"), "/first_party.rs"));

/// The first-party plugins as components to load, each with its build-time hash.
pub fn built_in_components() -> impl Iterator<Item = ComponentSource> {
    FIRST_PARTY_PLUGINS.iter().zip(FIRST_PARTY_SHA256).map(|((package, bytes), hash)| ComponentSource::built_in(package, hash, bytes))
}

/// The built-in `package` (`switchboard-telegram`), if there is one.
pub fn built_in_component(package: &str) -> Option<ComponentSource> {
    built_in_components().find(|c| c.built_in_package() == Some(package))
}

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
    #[error("{0}")]
    Untrusted(String),
    #[error("no upload of `{0}` waits for approval")]
    NotPending(String),
    /// Never a path: refused before any file is touched (shown escaped: it may hold anything).
    #[error("`{0}` is not a plugin id: {shape}", shape = crate::ids::PLUGIN_ID_SHAPE)]
    NotAnId(String),
    /// Several nodes: a version is never stored twice with different bytes.
    #[error("`{id}` {version} is already installed with other bytes: give the new build a new version")]
    VersionTaken { id: String, version: semver::Version },
}

/// The file `<id><suffix>` in `folder`: a plugin id names a file there and nothing else.
pub(crate) fn plugin_file(folder: &Path, id: &str, suffix: &str) -> Result<PathBuf, PluginError> {
    let not_an_id = || PluginError::NotAnId(id.chars().take(80).collect::<String>().escape_debug().to_string());
    if !crate::ids::is_plugin_id(id) {
        return Err(not_an_id());
    }
    crate::ids::file_in(folder, &format!("{id}{suffix}")).ok_or_else(not_an_id)
}

/// The record of where plugin `id` of `folder` was installed from (`<id>.source`, beside its
/// `<id>.wasm`): one line, `oci://<registry>/<repository>`. Only installs from a registry write
/// one (see `catalogue`); the watcher loads `*.wasm` only, so it is never taken for a plugin.
fn source_file(folder: &Path, id: &str) -> Result<PathBuf, PluginError> {
    plugin_file(folder, id, ".source")
}

/// The repository plugin `id` of `folder` was installed from (`oci://<registry>/<repository>`),
/// if its record says one.
pub fn recorded_source(folder: &Path, id: &str) -> Option<String> {
    let text = std::fs::read_to_string(source_file(folder, id).ok()?).ok()?;
    crate::oci::Source::parse_repository(text.trim()).ok().map(|source| source.repository_reference())
}

/// Records where plugin `id` of `folder` was installed from; `None` (a file: an upload, a
/// copy, `plugin install FILE`) removes an earlier record, so the plugin matches no repository.
pub(crate) fn record_source(folder: &Path, id: &str, source: Option<&str>) -> Result<(), PluginError> {
    let path = source_file(folder, id)?;
    let done = match source {
        Some(source) => crate::runtime::cache::write_atomically(&path, format!("{source}\n").as_bytes()),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    };
    done.map_err(|e| PluginError::Io(format!("cannot record where `{id}` was installed from in {}: {e}", path.display())))
}

/// [`record_source`], a failure logged: the plugin is in place whatever its record.
fn keep_record(folder: &Path, id: &str, source: Option<&str>) {
    if let Err(e) = record_source(folder, id, source) {
        tracing::error!(id, "{e}");
    }
}

/// The plugins live here that recorded the repository they were installed from: what the
/// catalogue matches its repositories with.
pub fn installed_from_registries(app: &App) -> Vec<catalogue::InstalledFrom> {
    app.registry
        .list()
        .iter()
        .filter(|plugin| app.registry.installed(plugin.id()).is_some_and(|i| matches!(i.source, PluginSource::File(_))))
        .filter_map(|plugin| {
            let source = recorded_source(&app.plugins_dir, plugin.id())?;
            Some(catalogue::InstalledFrom { plugin: plugin.id().to_owned(), version: plugin.version.clone(), source })
        })
        .collect()
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

/// Loads the built-in plugins, then every component in the folder, logging progress. On
/// Postgres the folder first gets every plugin installed through any node.
pub async fn load_all(app: &App) {
    fetch_shared(app).await;
    let files = component_files(&app.plugins_dir);
    let total = FIRST_PARTY_PLUGINS.len() + files.len();
    // Compile what is not cached on every core at once (child processes), then load in order.
    // Only files this host would run: a child's compile also asks the component its load-time
    // answers (its code runs), so an unsigned or tampered file is left to its load, which
    // refuses it before anything of it runs.
    let runnable = files.iter().filter_map(|path| std::fs::read(path).ok()).filter(|bytes| checked_signer(app, bytes).is_ok());
    let components = built_in_components().chain(runnable.map(ComponentSource::from)).collect();
    app.runtime.warm_cache(components).await;
    let mut done = 0;
    for component in built_in_components() {
        let package = component.built_in_package().unwrap_or_default();
        done += 1;
        tracing::info!("loading plugins ({done}/{total}): built-in {package}");
        let result = load_and_install(app, component, Some("built-in".into()), PluginSource::BuiltIn, false).await;
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

/// Every load (at start, from the folder, uploaded) goes through here: counted by outcome.
async fn load_and_install(
    app: &App,
    bytes: impl Into<ComponentSource>,
    signer: Option<String>,
    source: PluginSource,
    force: bool,
) -> Result<Arc<LoadedPlugin>, PluginError> {
    let result = async {
        let mut plugin = app.runtime.load(bytes).await?;
        plugin.signer = signer;
        Ok(app.registry.install(plugin, source, force)?)
    }
    .await;
    app.metrics.plugin_load(if result.is_ok() { "loaded" } else { "refused" });
    result
}

/// Every plugin installed through any node (on one node: none), written into this node's folder
/// (where the load that follows finds it) unless it is there already.
async fn fetch_shared(app: &App) {
    let shared = &app.deployment.plugins;
    // Removed through another node while this one was down: not loaded again.
    match shared.removed_elsewhere().await {
        Ok(removed) => {
            for plugin in removed {
                let Ok(path) = shared_path(app, &plugin) else { continue };
                if path.exists()
                    && let Err(e) = std::fs::remove_file(&path)
                {
                    tracing::error!(%plugin, "cannot delete the removed plugin's {}: {e}", path.display());
                }
                keep_record(&app.plugins_dir, &plugin, None);
            }
        }
        Err(e) => tracing::error!("the plugins removed through other nodes could not be read: {e}"),
    }
    match shared.current_components().await {
        Ok(components) => {
            for (plugin, version, bytes) in components {
                let path = match shared_path(app, &plugin) {
                    Ok(path) => path,
                    Err(e) => {
                        tracing::error!(%version, "a plugin installed through another node is skipped: {e}");
                        continue;
                    }
                };
                let current = std::fs::read(&path).ok().map(|b| crate::runtime::component_hash(&b));
                if current.as_deref() != Some(crate::runtime::component_hash(&bytes).as_str())
                    && let Err(e) = crate::runtime::cache::write_atomically(&path, &bytes)
                {
                    tracing::error!(%plugin, %version, "cannot write the shared plugin to {}: {e}", path.display());
                }
            }
        }
        Err(e) => tracing::error!("the plugins installed through other nodes could not be read: {e}"),
    }
    // Where each came from, as the node that installed it recorded it.
    match shared.sources().await {
        Ok(sources) => {
            for (plugin, source) in sources {
                keep_record(&app.plugins_dir, &plugin, source.as_deref());
            }
        }
        Err(e) => tracing::error!("where the plugins installed through other nodes came from could not be read: {e}"),
    }
}

/// Where a plugin installed through the database is kept in this node's folder.
fn shared_path(app: &App, plugin: &str) -> Result<PathBuf, PluginError> {
    plugin_file(&app.plugins_dir, plugin, ".wasm")
}

/// A node announced it installed `plugin` `version` (this node too): the current shared
/// component is loaded here unless it is live already. The shared record decided the version
/// (a downgrade only when forced), so it is made live whatever this node ran. It takes this
/// node's turn to change plugins, and reads the record in it: one removed since is not loaded.
pub async fn load_shared(app: &App, plugin: &str, version: &str) {
    let Ok(_turn) = plugin_change_turn(app).await else { return };
    let bytes = match app.deployment.plugins.current_component(plugin).await {
        Ok(Some((_, bytes))) => bytes,
        Ok(None) => return,
        Err(e) => return tracing::error!(%plugin, %version, "the installed plugin could not be read: {e}"),
    };
    match app.deployment.plugins.sources().await {
        Ok(sources) => {
            let source = sources.into_iter().find(|(id, _)| id == plugin).and_then(|(_, source)| source);
            keep_record(&app.plugins_dir, plugin, source.as_deref());
        }
        Err(e) => tracing::error!(%plugin, %version, "where the installed plugin came from could not be read: {e}"),
    }
    if app.registry.get(plugin).is_some_and(|live| live.hash == crate::runtime::component_hash(&bytes)) {
        return;
    }
    let result = async {
        let path = shared_path(app, plugin)?;
        let signer = checked_signer(app, &bytes)?;
        crate::runtime::cache::write_atomically(&path, &bytes).map_err(|e| PluginError::Io(format!("cannot write {}: {e}", path.display())))?;
        let previous = app.registry.installed(plugin);
        let live = load_and_install(app, bytes, signer, PluginSource::File(path.clone()), true).await?;
        forget_other_file(app, previous.as_ref(), &path);
        Ok(live)
    }
    .await;
    log_outcome(&format!("{plugin} {version}, installed through another node"), &result);
}

/// A node announced it removed `plugin`: its file goes here too (a built-in of
/// the same id takes over).
pub async fn drop_shared(app: &App, plugin: &str) {
    let Ok(_turn) = plugin_change_turn(app).await else { return };
    if let Some(crate::registry::Installed { source: PluginSource::File(path), .. }) = app.registry.installed(plugin) {
        let _ = std::fs::remove_file(&path);
        app.registry.remove_file(&path);
        keep_record(&app.plugins_dir, plugin, None);
        tracing::info!(%plugin, file = %path.display(), "plugin removed through another node");
    }
}

/// Loads a component file of the folder and makes it live, replacing what that file
/// provided before. Unchanged files (same hash as what is live) are left alone.
pub async fn load_file(app: &App, path: &Path) -> Result<Arc<LoadedPlugin>, PluginError> {
    let io = |e: std::io::Error| PluginError::Io(format!("cannot read {}: {e}", path.display()));
    // The file an upload or an approval just placed is live already: recognised by a hash read
    // a block at a time, so it is not held in memory beside the next upload's component.
    if let Some(live) = app.registry.from_file(path) {
        let file = path.to_path_buf();
        let hash = tokio::task::spawn_blocking(move || crate::runtime::component_file_hash(&file)).await.map_err(|e| PluginError::Io(e.to_string()))?.map_err(io)?;
        if live.plugin.hash == hash {
            return Ok(live.plugin);
        }
    }
    let _turn = plugin_change_turn(app).await?;
    let bytes = std::fs::read(path).map_err(io)?;
    let signer = checked_signer(app, &bytes)?;
    let started = Instant::now();
    let plugin = load_and_install(app, bytes, signer, PluginSource::File(path.to_path_buf()), false).await?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "plugin file loaded");
    Ok(plugin)
}

/// An upload received into `<data-dir>/uploads`; the file is removed when this is dropped
/// unless it was installed (renamed into the plugins folder).
pub struct StagedUpload {
    path: PathBuf,
}

impl Drop for StagedUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the component is larger than {} MiB", .0 >> 20)]
    TooLarge(usize),
    #[error("the body is empty: send the component file")]
    Empty,
    #[error("the upload was cut off: {0}")]
    Body(String),
    #[error("{0}")]
    Io(String),
    /// What a registry sent is not the layer it named, or stopped coming.
    #[error(transparent)]
    Registry(#[from] crate::oci::OciError),
}

/// Streams an upload's body to a file under `<data-dir>/uploads`, at most `limit` bytes:
/// memory holds one chunk at a time, whatever the size and however many arrive at once.
pub async fn stage_upload<S, B>(app: &App, mut body: S, limit: usize) -> Result<StagedUpload, UploadError>
where
    S: futures_util::Stream<Item = Result<B, UploadError>> + Unpin,
    B: AsRef<[u8]>,
{
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let dir = &app.uploads_dir;
    tokio::fs::create_dir_all(dir).await.map_err(|e| UploadError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let staged = StagedUpload { path: dir.join(format!("{:016x}.part", rand::random::<u64>())) };
    let io = |e: std::io::Error| UploadError::Io(format!("cannot write {}: {e}", staged.path.display()));
    let mut file = tokio::fs::File::create(&staged.path).await.map_err(io)?;
    let mut received = 0usize;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        received += chunk.as_ref().len();
        if received > limit {
            return Err(UploadError::TooLarge(limit));
        }
        file.write_all(chunk.as_ref()).await.map_err(io)?;
    }
    if received == 0 {
        return Err(UploadError::Empty);
    }
    file.sync_all().await.map_err(io)?;
    Ok(staged)
}

/// Why a plugin could not be installed from a registry.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Registry(#[from] crate::oci::OciError),
    #[error(transparent)]
    Upload(UploadError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

/// Installs a plugin from an OCI registry as an upload of its component: pulled by the
/// manifest's digest, streamed to disk at most `limit` bytes (refused as it arrives), checked
/// against the digest before anything is installed, then validated, signature and consent
/// included, exactly as an upload ([`install_upload`]). The tag it resolved to comes back too.
/// The repository (`oci://<registry>/<repository>`) is recorded with the plugin once it is live
/// (kept with the review while it waits): the catalogue matches the two by it.
pub async fn install_from_registry(app: &App, source: &crate::oci::Source, limit: usize, force: bool) -> Result<(Upload, String), PullError> {
    let pull = async {
        let repository = crate::oci::Repository::new(source, &app.outbound_allowed, false);
        let (tag, digest, bytes) = pull_component(&repository, limit).await?;
        let staged = stage_upload(app, bytes, limit).await.map_err(|error| match error {
            UploadError::Registry(error) => PullError::Registry(error),
            other => PullError::Upload(other),
        })?;
        tracing::info!(%source, %tag, %digest, "plugin pulled from a registry");
        Ok::<_, PullError>((staged, tag))
    };
    let deadline = crate::oci::PULL_DEADLINE;
    let (staged, tag) = tokio::time::timeout(deadline, pull)
        .await
        .map_err(|_| crate::oci::OciError::Unreachable(format!("{}: the pull did not finish within {} s", source.registry, deadline.as_secs())))??;
    Ok((install_staged(app, staged, force, Some(source.repository_reference())).await?, tag))
}

/// The component a repository's reference names, for the API's install and the command line's
/// alike: the tag it resolved to, the layer's digest, and the layer's bytes as they arrive
/// (checked against that digest); a layer declared larger than `limit` is refused before a
/// byte is read (the caller still bounds what arrives).
pub(crate) async fn pull_component(
    repository: &crate::oci::Repository,
    limit: usize,
) -> Result<(String, String, impl futures_util::Stream<Item = Result<bytes::Bytes, UploadError>> + Unpin + use<>), PullError> {
    let tag = repository.resolve_tag().await?;
    let layer = repository.component_layer(&tag).await?;
    if layer.size() > limit as u64 {
        return Err(PullError::Upload(UploadError::TooLarge(limit)));
    }
    let bytes = futures_util::StreamExt::map(repository.layer_bytes(&layer).await?, |chunk| chunk.map_err(UploadError::Registry));
    Ok((tag, layer.digest().to_string(), bytes))
}

/// What became of an upload.
pub enum Upload {
    /// Live now; `replaced` a version.
    Live { plugin: Arc<LoadedPlugin>, replaced: bool },
    /// Waits for the operator (see `review`); what was live keeps serving.
    Pending(Review),
}

/// An uploaded component: validated, then either made live (moved into the folder as
/// `<id>.wasm`, replacing any other file of the same id) or, when it needs the operator's
/// approval, kept in `<data-dir>/pending`. Uploads are validated one at a time
/// (`App::upload_slot`): each holds its component in memory while compiling, so concurrent
/// uploads cannot multiply that.
pub async fn install_upload(app: &App, staged: StagedUpload, force: bool) -> Result<Upload, PluginError> {
    install_staged(app, staged, force, None).await
}

/// [`install_upload`] of a component that came from `origin` (a registry's repository), or
/// from a file (`None`).
async fn install_staged(app: &App, staged: StagedUpload, force: bool, origin: Option<String>) -> Result<Upload, PluginError> {
    let _turn = plugin_change_turn(app).await?;
    let (plugin, previous) = validated(app, &staged.path, force).await?;
    let mut review = Review::of(&plugin, previous.as_ref().map(|p| p.plugin.as_ref()));
    review.source = origin.clone();
    if review.needs_approval() {
        let path = review::pending_path(app, &review.id)?;
        let io = |e: std::io::Error| PluginError::Io(format!("cannot keep the upload in {}: {e}", app.pending_dir.display()));
        std::fs::create_dir_all(&app.pending_dir).map_err(io)?;
        // What the operator reviews is kept beside it: listing never loads a component again.
        let json = serde_json::to_vec(&review).expect("a review serializes");
        crate::runtime::cache::write_atomically(&review::review_path(app, &review.id)?, &json).map_err(io)?;
        std::fs::rename(&staged.path, &path).map_err(io)?;
        tracing::info!(id = %review.id, version = %review.version, new_hosts = ?review.new_outbound_hosts, "plugin upload waits for the operator's approval");
        return Ok(Upload::Pending(review));
    }
    let (plugin, replaced) = place(app, plugin, &staged.path, previous, force, origin.as_deref()).await?;
    Ok(Upload::Live { plugin, replaced })
}

/// The operator approves a pending upload: it is validated again (the trusted keys or the
/// live version may have changed since) and made live.
pub async fn approve(app: &App, id: &str, force: bool) -> Result<(Arc<LoadedPlugin>, bool), PluginError> {
    let _turn = plugin_change_turn(app).await?;
    let path = review::pending_path(app, id)?;
    if !path.is_file() {
        return Err(PluginError::NotPending(id.to_owned()));
    }
    let (plugin, previous) = validated(app, &path, force).await?;
    if plugin.id() != id {
        return Err(PluginError::NotPending(id.to_owned()));
    }
    // Where it was pulled from, kept with its review.
    let origin = std::fs::read(review::review_path(app, id)?).ok().and_then(|bytes| serde_json::from_slice::<Review>(&bytes).ok()).and_then(|review| review.source);
    let (plugin, replaced) = place(app, plugin, &path, previous, force, origin.as_deref()).await?;
    let _ = std::fs::remove_file(review::review_path(app, id)?);
    tracing::info!(id, version = %plugin.version, "plugin approved by the operator");
    Ok((plugin, replaced))
}

/// The operator rejects a pending upload: it is deleted. In this node's turn to change plugins:
/// an approval of it at the same moment comes wholly before (it is live, nothing is pending)
/// or after (nothing is pending to approve).
pub async fn reject(app: &App, id: &str) -> Result<(), PluginError> {
    let _turn = plugin_change_turn(app).await?;
    let pending = review::pending_path(app, id)?;
    let _ = std::fs::remove_file(review::review_path(app, id)?);
    match std::fs::remove_file(pending) {
        Ok(()) => Ok(tracing::info!(id, "pending plugin upload rejected")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(PluginError::NotPending(id.to_owned())),
        Err(e) => Err(PluginError::Io(format!("cannot delete the pending upload of {id}: {e}"))),
    }
}

/// What waits for approval, as the operator reviews it (read from the review kept at upload).
pub fn pending(app: &App) -> Vec<Review> {
    review::pending_ids(app)
        .into_iter()
        .filter_map(|id| {
            let path = review::review_path(app, &id).ok()?;
            match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())) {
                Ok(review) => Some(review),
                Err(e) => {
                    tracing::warn!(file = %path.display(), "a pending upload's review cannot be read: {e}");
                    None
                }
            }
        })
        .collect()
}

/// A component file checked as an upload is: signature, component, contract, downgrade.
async fn validated(app: &App, path: &Path, force: bool) -> Result<(LoadedPlugin, Option<crate::registry::Installed>), PluginError> {
    let bytes = std::fs::read(path).map_err(|e| PluginError::Io(format!("cannot read {}: {e}", path.display())))?;
    let signer = checked_signer(app, &bytes)?;
    let mut plugin = app.runtime.load(bytes).await?;
    plugin.signer = signer;
    let id = plugin.id().to_owned();
    let previous = app.registry.installed(&id);
    if let Some(current) = &previous
        && current.plugin.version > plugin.version
        && !force
    {
        return Err(InstallError::Downgrade { id, installed: current.plugin.version.clone(), offered: plugin.version.clone() }.into());
    }
    Ok((plugin, previous))
}

/// Moves a validated component file into the plugins folder as `<id>.wasm` and makes it live,
/// recording where it came from (`origin`, a registry's repository; `None`: a file).
/// On Postgres it is stored in the database first, which every node loads from; the
/// database's check of the version decides across nodes (two nodes uploading at once).
async fn place(
    app: &App,
    plugin: LoadedPlugin,
    from: &Path,
    previous: Option<crate::registry::Installed>,
    force: bool,
    origin: Option<&str>,
) -> Result<(Arc<LoadedPlugin>, bool), PluginError> {
    {
        use crate::store::pg::plugins::ComponentInstall;
        let id = plugin.id().to_owned();
        match app.deployment.plugins.publish(&id, &plugin.version, from, force, origin).await {
            Ok(ComponentInstall::Stored | ComponentInstall::Unchanged) => {}
            Ok(ComponentInstall::Older { newest }) => return Err(InstallError::Downgrade { id, installed: newest, offered: plugin.version.clone() }.into()),
            Ok(ComponentInstall::Conflict) => return Err(PluginError::VersionTaken { id, version: plugin.version.clone() }),
            Err(e) => return Err(PluginError::Io(format!("the plugin could not be shared with the other nodes: {e}"))),
        }
    }
    let path = plugin_file(&app.plugins_dir, plugin.id(), ".wasm")?;
    std::fs::create_dir_all(&app.plugins_dir).map_err(|e| PluginError::Io(format!("cannot create {}: {e}", app.plugins_dir.display())))?;
    std::fs::rename(from, &path).map_err(|e| PluginError::Io(format!("cannot move the upload to {}: {e}", path.display())))?;
    keep_record(&app.plugins_dir, plugin.id(), origin);
    forget_other_file(app, previous.as_ref(), &path);
    let live = app.registry.install(plugin, PluginSource::File(path.clone()), true)?;
    tracing::info!(id = %live.id(), version = %live.version, file = %path.display(), "plugin installed");
    Ok((live, previous.is_some()))
}

/// The folder file that provided a plugin before it was installed as `path`: deleted, so it
/// does not come back on the next start.
fn forget_other_file(app: &App, previous: Option<&crate::registry::Installed>, path: &Path) {
    if let Some(crate::registry::Installed { source: PluginSource::File(other), .. }) = previous
        && other != path
    {
        let _ = std::fs::remove_file(other);
        app.registry.remove_file(other);
    }
}

/// The component's signer, or why this host does not run it (see `signing`): a component
/// from the folder or an upload runs when a trusted key signed it, or unsigned when the
/// operator allowed unsigned plugins.
fn checked_signer(app: &App, bytes: &[u8]) -> Result<Option<String>, PluginError> {
    let verdict = crate::signing::verify(bytes, &app.trust.keys);
    match verdict.refusal(app.trust.allow_unsigned) {
        Some(why) => Err(PluginError::Untrusted(why)),
        None => Ok(verdict.signer()),
    }
}

/// This node's turn to change its plugins (`App::upload_slot`): one load, upload, approval or
/// removal at a time.
async fn plugin_change_turn(app: &App) -> Result<tokio::sync::SemaphorePermit<'_>, PluginError> {
    app.upload_slot.acquire().await.map_err(|_| PluginError::Io("the server is stopping".into()))
}

/// Deletes the folder file(s) of a plugin and unloads it (a built-in of the same id takes over).
/// On Postgres every node drops it: the database forgets it first and announces that.
/// It takes its turn with uploads, approvals and folder loads (`App::upload_slot`): an upload
/// placed between this removal's file delete and its unload would otherwise stay on disk
/// (back at the next start) while no longer live.
pub async fn remove(app: &App, id: &str) -> Result<(), PluginError> {
    plugin_file(&app.plugins_dir, id, ".wasm")?;
    let _turn = plugin_change_turn(app).await?;
    match app.registry.installed(id) {
        None => Err(PluginError::NotInstalled(id.to_owned())),
        Some(installed) => match installed.source {
            PluginSource::BuiltIn => Err(PluginError::BuiltIn(id.to_owned())),
            PluginSource::File(path) => {
                app.deployment.plugins.withdraw(id).await.map_err(|e| PluginError::Io(format!("the plugin could not be removed for the other nodes: {e}")))?;
                match std::fs::remove_file(&path) {
                    // On Postgres this node's relay may have dropped it already.
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(PluginError::Io(format!("cannot remove {}: {e}", path.display())));
                    }
                    _ => {}
                }
                app.registry.remove_file(&path);
                keep_record(&app.plugins_dir, id, None);
                tracing::info!(id, file = %path.display(), "plugin removed; its channels are unavailable until it returns");
                Ok(())
            }
        },
    }
}
