//! The plugin runtime: one wasmtime engine (component model, pooling allocator), each plugin
//! compiled once into an `InstancePre`, and a fresh instance for every call, run under a time
//! limit, a memory cap and the outbound HTTP policy. Plugins get no files, sockets or
//! environment: their WASI context is empty.

mod answers;
mod app;
mod holds;
mod bindings;
pub mod cache;
mod call;
mod capability;
pub mod doubles;
mod errors;
mod precompile;
mod source;
mod files;
mod log;
mod outbound;
pub mod smtp;
mod state;
mod translations;
pub mod types;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Instance, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

pub use cache::{CompileCache, component_file_hash, component_hash};
pub use call::CallState;
use precompile::CompileInChild;
pub use precompile::{ChildCompiler, precompile_bytes, precompile_to_bytes};
pub use source::ComponentSource;
pub use errors::{CallError, PluginFailure, Retry};
pub use outbound::{HostPattern, RequestRefusal, ResponseBody, Resolver, SystemResolver, check_global};
pub use app::{NoProviderApps, ProviderAppSettings};
pub use files::{ChannelFiles, NoFiles};
pub use holds::{NoHolds, ResourceHolds};
pub use smtp::{MailAddressing, NoMail};
pub use state::{ChannelStateBackend, NoChannelState, StateError};
pub use translations::{PAGE_LANGUAGES, TRANSLATED_LANGUAGES, Translations};

use answers::{FailedLanguage, LanguageTexts, LoadAnswers};
use bindings::{AppIndices, ChannelIndices, DeliveryIndices, GuideIndices, InteractiveAppIndices, InteractiveIndices, Lift, MediaIndices, SettingsCheckIndices, TemplateButtonsIndices, TranslationsIndices, TrafficExports, WebhookHandler};
use call::MemoryCap;
use capability::{CallSetup, HostImportError};
use outbound::OutboundPolicy;
use types::{
    AppContext, AppWebhookOutcome, Attachment, AuthAccount, AuthFinishRequest, AuthRedirect, AuthStartRequest, ChannelContext, Connection, Field, Guide, HttpRequest, SendLimits,
    ButtonParameter, ButtonTemplate, InteractiveMessage, InteractiveSupport, MediaRequest, MediaSource, NewButtonTemplate, OutboundMessage, PluginManifest, Receipt, Template, WebhookOutcome, WindowPolicy,
};

/// The contract version this host is built from, and the plugin WIT versions it serves: its
/// own and every earlier release of the same 0.1 line.
pub const HOST_WIT_VERSION: &str = "0.1.4";
pub const SERVED_WIT_VERSIONS: &str = "0.1.0 to 0.1.4";
const SERVED_WIT_REQUIREMENT: &str = ">=0.1.0, <=0.1.4";
const CONTRACT_INTERFACE: &str = "switchboard:channel/channel";

/// How often the engine's epoch advances; plugin time limits are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);
/// Instances that may exist at once (the pooling allocator reserves slots up front).
const MAX_CONCURRENT_INSTANCES: u32 = 256;
/// What one plugin's instance may hold of the pool, and the pool holds that for every instance
/// at once (slots are address space reserved, not memory used). A Rust `wasm32-wasip2`
/// component has a few core instances, one memory and a table or two; a Python one
/// (componentize-py) 14 core instances.
const CORE_INSTANCES_PER_COMPONENT: u32 = 32;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 8;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock limit of one plugin call, HTTP waits included.
    pub call_timeout: Duration,
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// How instance slots are recycled between calls.
    pub pool: PoolTuning,
}

impl Default for Limits {
    fn default() -> Self {
        Self { call_timeout: Duration::from_secs(15), memory_bytes: 64 << 20, pool: PoolTuning::default() }
    }
}

/// How the pooling allocator gives a fresh instance its memory back (`benches/webhook.rs`
/// measures each setting). Every call still gets a fresh instance whose memory starts from the
/// component's initial image: only *how* the previous occupant's pages are wiped changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolTuning {
    /// Bytes of a linear memory wiped with `memset` and kept mapped instead of given back
    /// with `madvise` (whose TLB shootdowns interrupt the other cores).
    pub linear_memory_keep_resident: usize,
    /// The same for tables.
    pub table_keep_resident: usize,
    /// Slot decommits queued before one `madvise` batch.
    pub decommit_batch_size: usize,
    /// Freed slots kept warm (their resident memory above stays mapped): bounds the RSS this costs.
    pub max_unused_warm_slots: u32,
    /// Find the pages a call dirtied with Linux's `PAGEMAP_SCAN` (6.7+) and reset only those,
    /// instead of wiping the whole kept-resident prefix; where the kernel lacks it, the wipe.
    pub pagemap_scan: bool,
}

impl PoolTuning {
    /// What wasmtime does unless told otherwise: every page back with `madvise` at once.
    pub const WASMTIME_DEFAULTS: Self =
        Self { linear_memory_keep_resident: 0, table_keep_resident: 0, decommit_batch_size: 1, max_unused_warm_slots: 100, pagemap_scan: false };
}

impl Default for PoolTuning {
    /// Chosen by measurement (see README "Benchmarks"): a first-party plugin's call touches
    /// well under 1 MiB of its memory, which `memset` wipes faster than page faults refill it.
    fn default() -> Self {
        Self { linear_memory_keep_resident: 1 << 20, table_keep_resident: 64 << 10, decommit_batch_size: 16, max_unused_warm_slots: 16, pagemap_scan: true }
    }
}

/// Why a component was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    /// A memory's initial size is over the host's per-plugin cap: the component is fine, the
    /// cap is too small for it.
    #[error("the plugin needs {needs_mib} MiB of memory at start, and this host caps a plugin's memory at {cap_mib} MiB: raise `plugin_memory_mb` (--plugin-memory-mb) or make the plugin's initial memory smaller")]
    MemoryOverCap { needs_mib: u64, cap_mib: u64 },
    #[error("the component does not export `{CONTRACT_INTERFACE}` (wrong world); it exports: {0}")]
    WrongWorld(String),
    #[error("the component is built against switchboard:channel@{found}; this host serves {SERVED_WIT_VERSIONS}")]
    UnsupportedWitVersion { found: String },
    #[error("the component cannot be linked: {0}")]
    Link(String),
    #[error("the plugin's manifest() failed: {0}")]
    Manifest(PluginFailure),
    #[error("the plugin's manifest is invalid: {0}")]
    InvalidManifest(String),
}

/// What the host's imports serve from (the store implements `state`, the mail module `smtp`'s
/// addresses). Outside a server: [`HostServices::none`].
#[derive(Clone)]
pub struct HostServices {
    pub state: Arc<dyn ChannelStateBackend>,
    pub mail: Arc<dyn MailAddressing>,
    pub apps: Arc<dyn ProviderAppSettings>,
    pub holds: Arc<dyn ResourceHolds>,
    pub calls: Arc<dyn CallObserver>,
    /// Files a plugin keeps or sends (`files`).
    pub files: Arc<dyn ChannelFiles>,
    /// Where outbound host names are looked up (the system's DNS; tests answer as an attacker).
    pub resolver: Arc<dyn Resolver>,
    /// Answers outbound HTTP and SMTP instead of the network (the test kit); `None` in a server.
    pub doubles: Option<Arc<dyn doubles::ImportDoubles>>,
}

/// Told of every finished plugin call (the host's metrics). `outcome` is `ok` when the plugin
/// answered (a typed refusal included) or the [`PluginFailure::kind`] that stopped it.
/// `export` is the binding's name (`handle_webhook`). Not told of the `manifest` call made
/// while loading: the plugin has no id to name until that call answers (see `call_export!`).
pub trait CallObserver: Send + Sync {
    fn call_finished(&self, plugin: &str, export: &'static str, outcome: &'static str, elapsed: Duration);
}

/// Nobody watching (benchmarks, tools).
pub struct NoCallObserver;

impl CallObserver for NoCallObserver {
    fn call_finished(&self, _plugin: &str, _export: &'static str, _outcome: &'static str, _elapsed: Duration) {}
}

impl HostServices {
    /// No channel state, no mail: for inspecting components and benchmarks.
    pub fn none() -> Self {
        Self { state: Arc::new(NoChannelState), mail: Arc::new(NoMail), apps: Arc::new(NoProviderApps), holds: Arc::new(NoHolds), calls: Arc::new(NoCallObserver), files: Arc::new(NoFiles), resolver: Arc::new(SystemResolver), doubles: None }
    }
}

struct Shared {
    engine: Engine,
    cache: Option<CompileCache>,
    limits: Limits,
    operator_allowed: Arc<Vec<HostPattern>>,
    services: HostServices,
    /// Compiles in child processes when set (the server binary; see `precompile`).
    child_compiler: std::sync::OnceLock<ChildCompiler>,
    /// When the compile cache last took no entry (a full disk). For a while after, what is not
    /// cached is compiled through pipes at once, not first by a child into a cache that stays
    /// empty: with every write refused, a start compiled each plugin four times (26 s, not 13).
    cache_refused_at: std::sync::Mutex<Option<Instant>>,
}

/// How long a refused cache entry spares the next compiles the attempt: a disk freed meanwhile
/// is used again after it.
const CACHE_REFUSAL_HOLDS: Duration = Duration::from_secs(60);

impl Shared {
    fn cache_refuses_entries(&self) -> bool {
        self.cache_refused_at.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|at| at.elapsed() < CACHE_REFUSAL_HOLDS)
    }

    fn note_cache_refusal(&self) {
        *self.cache_refused_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

/// The engine and linker every plugin shares.
pub struct Runtime {
    shared: Arc<Shared>,
    linker: Linker<CallState>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// How long one plugin call may run before it is stopped.
    pub fn call_timeout(&self) -> Duration {
        self.shared.limits.call_timeout
    }

    /// `cache`: where compiled components and their load answers are kept between runs
    /// (`None`: compile and ask every time).
    pub fn new(
        limits: Limits,
        operator_allowed: Vec<HostPattern>,
        services: HostServices,
        cache: Option<CompileCache>,
    ) -> anyhow::Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        // Each instance takes at most its share of the pool's core instances, memories and
        // tables: a component built of hundreds of core modules would otherwise hold every
        // memory slot in one call, and every other plugin's calls fail to instantiate.
        pool.total_component_instances(MAX_CONCURRENT_INSTANCES)
            .total_core_instances(MAX_CONCURRENT_INSTANCES * CORE_INSTANCES_PER_COMPONENT)
            .total_memories(MAX_CONCURRENT_INSTANCES * MEMORIES_PER_COMPONENT)
            .total_tables(MAX_CONCURRENT_INSTANCES * TABLES_PER_COMPONENT)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(MEMORIES_PER_COMPONENT)
            .max_tables_per_component(TABLES_PER_COMPONENT)
            .total_stacks(MAX_CONCURRENT_INSTANCES)
            .max_memory_size(limits.memory_bytes.max(1 << 20))
            .linear_memory_keep_resident(limits.pool.linear_memory_keep_resident)
            .table_keep_resident(limits.pool.table_keep_resident)
            .decommit_batch_size(limits.pool.decommit_batch_size.max(1))
            .max_unused_warm_slots(limits.pool.max_unused_warm_slots)
            .pagemap_scan(if limits.pool.pagemap_scan { wasmtime::Enabled::Auto } else { wasmtime::Enabled::No });
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            // Plugins arrive optimised by their own compiler (LLVM, size-optimised); Cranelift's
            // optimisation passes on top cost a cold start 18 % of its compile CPU (the nine
            // first-party plugins: 5.8 s against 7.0 s) and bought no call speed (the Telegram
            // webhook bench: 25.7-26.1 µs against 26.4-26.6 µs, 2026-11-27). Register allocation
            // stays the thorough one: the single-pass allocator saved more compile (4.7 s) but
            // made every call 24 % slower.
            .cranelift_opt_level(wasmtime::OptLevel::None);
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("creating the wasm engine: {e}"))?;

        let linker = link(&engine).map_err(anyhow_of)?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.weak();
        let stop = stop_ticker.clone();
        std::thread::Builder::new().name("wasm-epoch".into()).spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                match ticker_engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })?;

        Ok(Self {
            shared: Arc::new(Shared {
                engine,
                cache,
                limits,
                operator_allowed: Arc::new(operator_allowed),
                services,
                child_compiler: std::sync::OnceLock::new(),
                cache_refused_at: std::sync::Mutex::new(None),
            }),
            linker,
            stop_ticker,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Compile what is not cached in child processes of `compiler` (needs a compile cache).
    pub fn compile_in_child(&self, compiler: ChildCompiler) {
        let _ = self.shared.child_compiler.set(compiler);
    }

    /// Compiles the components not cached yet into the cache, as many at once as there are
    /// cores, in child processes: what a start with an empty cache would otherwise do one by
    /// one in the server's own memory. Without a child compiler or a cache, nothing happens;
    /// a cache that takes no entry ends the warming (the load compiles through pipes).
    pub async fn warm_cache(&self, components: Vec<ComponentSource>) {
        let Some(cache) = &self.shared.cache else { return };
        if self.shared.child_compiler.get().is_none() {
            return;
        }
        // What is cached is not even opened here: the load that follows maps it.
        let components: Vec<_> = components.into_iter().filter(|c| !cache.has(&self.shared.engine, c.hash())).collect();
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        let slots = Arc::new(tokio::sync::Semaphore::new(parallel));
        let tasks: Vec<_> = components
            .into_iter()
            .map(|component| {
                let (shared, slots) = (self.shared.clone(), slots.clone());
                tokio::spawn(async move {
                    let _slot = slots.acquire_owned().await;
                    let _ = tokio::task::spawn_blocking(move || warm(&shared, &component)).await;
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Compiles a component (off the async threads, or from the compile cache), checks its
    /// contract version and reads its manifest, schemas, window policy and the rest of its
    /// load-time answers (asked, or kept beside the compile cache by an earlier load).
    pub async fn load(&self, component: impl Into<ComponentSource>) -> Result<LoadedPlugin, LoadError> {
        let (shared, component) = (self.shared.clone(), component.into());
        let (component, hash) = tokio::task::spawn_blocking(move || compile(&shared, &component))
            .await
            .map_err(|e| LoadError::NotAComponent(format!("compilation stopped: {e}")))??;
        let wit_version = contract_version(&self.shared.engine, &component)?;
        let receives_mail = imports_interface(&self.shared.engine, &component, smtp::INTERFACE);
        let host_imports = host_imports(&self.shared.engine, &component);
        let pre = self.linker.instantiate_pre(&component).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let channel = ChannelIndices::new(&pre).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        // `provider-app` is optional (0.1.3): a plugin without it has no provider app.
        let app = AppIndices::new(&pre).ok();
        let guide = GuideIndices::new(&pre).ok();
        let delivery = DeliveryIndices::new(&pre).ok();
        let media = MediaIndices::new(&pre).ok();
        let interactive = InteractiveIndices::new(&pre).ok();
        let interactive_app = InteractiveAppIndices::new(&pre).ok();
        let settings_check = SettingsCheckIndices::new(&pre).ok();
        let translations = TranslationsIndices::new(&pre).ok();
        let template_buttons = TemplateButtonsIndices::new(&pre).ok();
        let traffic = TrafficExports::find(pre.component()).ok_or_else(|| LoadError::WrongWorld("the component exports no handle-webhook or no send".into()))?;
        let mut plugin = LoadedPlugin {
            manifest: PluginManifest {
                id: String::new(),
                name: String::new(),
                version: String::new(),
                description: String::new(),
                capabilities: Vec::new(),
                outbound_hosts: Vec::new(),
            },
            settings_schema: Vec::new(),
            window: WindowPolicy { free_form_seconds: None, human_agent_seconds: None, templates_outside_window: false },
            version: semver::Version::new(0, 0, 0),
            wit_version,
            receives_mail,
            host_imports,
            hash,
            signer: None,
            pre,
            channel,
            traffic,
            app,
            app_schema: Vec::new(),
            guide_export: guide,
            guide: Guide::default(),
            delivery_export: delivery,
            media_export: media,
            interactive_export: interactive,
            interactive_app_export: interactive_app,
            settings_check_export: settings_check,
            translations_export: translations,
            template_buttons_export: template_buttons,
            translations: Translations::default(),
            interactive: InteractiveSupport::default(),
            send_limits: SendLimits::default(),
            declared: Arc::new(Vec::new()),
            shared: self.shared.clone(),
        };
        // Answers kept from an earlier load of these bytes spare the plugin's instances (see
        // `answers`). Asked every time without a compile cache, and with the test kit's doubles,
        // which report what the load's calls did too (logs): a report must not depend on
        // what an earlier run kept.
        let (engine, call_timeout) = (&self.shared.engine, self.shared.limits.call_timeout);
        let cache_dir = self.shared.cache.as_ref().filter(|_| self.shared.services.doubles.is_none()).map(CompileCache::dir);
        let kept = cache_dir.and_then(|dir| LoadAnswers::read(dir, engine, &plugin.hash, call_timeout));
        let answers = match kept {
            Some(answers) => answers,
            None => {
                let answers = plugin.ask().await?;
                if let Some(dir) = cache_dir {
                    answers.write(dir, engine, &plugin.hash, call_timeout);
                }
                answers
            }
        };
        plugin.accept_answers(answers)?;
        Ok(plugin)
    }
}

/// Every import a plugin may use, one capability module each; WASI proper gets an empty context.
fn link(engine: &Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::<CallState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    outbound::add_to_linker(&mut linker)?;
    bindings::add_types_to_linker(&mut linker)?;
    log::add_to_linker(&mut linker, |call| &mut call.log)?;
    state::add_to_linker(&mut linker, |call| &mut call.state)?;
    smtp::add_to_linker(&mut linker, |call| &mut call.smtp)?;
    app::add_to_linker(&mut linker, |call| &mut call.app)?;
    holds::add_to_linker(&mut linker, |call| &mut call.holds)?;
    files::add_to_linker(&mut linker, |call| &mut call.files)?;
    Ok(linker)
}

/// Compiles `source` by a child into the cache, nothing more: the load that follows maps the
/// entry, and reports a refusal of the component in its own words.
fn warm(shared: &Shared, source: &ComponentSource) {
    let (Some(cache), Some(child)) = (&shared.cache, shared.child_compiler.get()) else { return };
    if shared.cache_refuses_entries() || !looks_like_component(source.bytes()) {
        return;
    }
    let outcome = child.compile_into(cache, source, &shared.limits);
    if !cache.has(&shared.engine, source.hash()) {
        let _ = cache_refusal(shared, outcome);
    }
}

/// A child's compile that left nothing in the cache: why, when the cache refused the entry (a
/// full disk; noted, so that the next minute's compiles go straight through pipes), or `Err`
/// with why the child itself failed.
fn cache_refusal(shared: &Shared, outcome: Result<(), CompileInChild>) -> Result<String, String> {
    let refused = match outcome {
        Ok(()) => "the compiler process left no cache entry this engine reads".to_owned(),
        Err(CompileInChild::CannotWrite(why)) => why,
        Err(CompileInChild::Failed(why)) => return Err(why),
    };
    shared.note_cache_refusal();
    Ok(refused)
}

/// The component for these bytes, from the cache or freshly compiled (and then cached).
fn compile(shared: &Shared, source: &ComponentSource) -> Result<(Component, String), LoadError> {
    let hash = source.hash().to_owned();
    if let Some(component) = shared.cache.as_ref().and_then(|cache| cache.get(&shared.engine, &hash)) {
        return Ok((component, hash));
    }
    let bytes = source.bytes();
    if !looks_like_component(bytes) {
        return Err(LoadError::NotAComponent(
            "the file is a core WebAssembly module or not WebAssembly at all; build the plugin for wasm32-wasip2".into(),
        ));
    }
    if let (Some(cache), Some(child)) = (&shared.cache, shared.child_compiler.get()) {
        let nothing_written = if shared.cache_refuses_entries() {
            Some("the compile cache took no entry within the last minute".to_owned())
        } else {
            let outcome = child.compile_into(cache, source, &shared.limits);
            // Looked for even when the child failed: it may have died after writing the
            // compilation (while loading the plugin), and a sound entry spares compiling again.
            if let Some(component) = cache.get(&shared.engine, &hash) {
                return Ok((component, hash));
            }
            // The child ran, or could not be handed the bytes, but nothing reached the cache (a
            // full disk): the same child again, through pipes.
            cache_refusal(shared, outcome).inspect_err(|why| tracing::info!("{why}: compiling in-process")).ok()
        };
        if let Some(nothing_written) = nothing_written {
            match child.compile_through_pipes(&shared.engine, source, &shared.limits) {
                Ok(component) => {
                    tracing::warn!("{nothing_written}: compiled by the compiler process through pipes");
                    return Ok((component, hash));
                }
                Err(why) => tracing::warn!("{nothing_written}; through pipes, {why}: compiling in-process"),
            }
        }
    }
    let started = Instant::now();
    let component = Component::new(&shared.engine, bytes).map_err(|e| refusal_of_compile(&format!("{e:#}")))?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "component compiled");
    if let Some(cache) = &shared.cache {
        cache.put(&shared.engine, &hash, &component);
    }
    Ok((component, hash))
}

/// Why a component did not compile. The pooling allocator refuses a memory whose initial size
/// is over the cap with "memory has a minimum byte size of N which exceeds the limit of M
/// bytes" (wasmtime's wording, pinned by a test): that is the cap's problem, said so.
fn refusal_of_compile(error: &str) -> LoadError {
    let over_cap = error.split_once("minimum byte size of ").and_then(|(_, rest)| {
        let (needs, rest) = rest.split_once(" which exceeds the limit of ")?;
        let cap = rest.split_whitespace().next()?;
        Some((number(needs.trim())?, number(cap)?))
    });
    // wasmtime writes the minimum in decimal and the limit in hex (`0x100000`).
    fn number(text: &str) -> Option<u64> {
        match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => text.parse().ok(),
        }
    }
    match over_cap {
        Some((needs, cap)) => LoadError::MemoryOverCap { needs_mib: needs.div_ceil(1 << 20), cap_mib: cap >> 20 },
        None => LoadError::NotAComponent(error.to_owned()),
    }
}

/// A component's preamble: `\0asm`, then version 0x0d and layer 1 (a core module has layer 0).
fn looks_like_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}

fn anyhow_of(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:#}")
}

/// The `switchboard:channel` version a component exports, checked against what the host serves.
fn contract_version(engine: &Engine, component: &Component) -> Result<semver::Version, LoadError> {
    let exports: Vec<String> = component.component_type().exports(engine).map(|(name, _)| name.to_owned()).collect();
    let found = exports
        .iter()
        .find_map(|name| name.strip_prefix(CONTRACT_INTERFACE)?.strip_prefix('@'))
        .ok_or_else(|| LoadError::WrongWorld(if exports.is_empty() { "nothing".into() } else { exports.join(", ") }))?;
    let version = semver::Version::parse(found).map_err(|_| LoadError::UnsupportedWitVersion { found: found.to_owned() })?;
    let served = semver::VersionReq::parse(SERVED_WIT_REQUIREMENT).expect("valid requirement");
    if !served.matches(&version) {
        return Err(LoadError::UnsupportedWitVersion { found: found.to_owned() });
    }
    Ok(version)
}

/// Whether a component imports `interface` (`switchboard:channel/smtp`, any 0.1 version).
fn imports_interface(engine: &Engine, component: &Component, interface: &str) -> bool {
    component
        .component_type()
        .imports(engine)
        .any(|(name, _)| name.strip_prefix(interface).is_some_and(|rest| rest.starts_with('@')))
}

/// The capabilities a component imports that reach beyond its own instance: the contract's
/// host imports and outbound HTTP (WASI's clocks, random and streams are every plugin's).
fn host_imports(engine: &Engine, component: &Component) -> Vec<String> {
    let mut names: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.split('@').next().unwrap_or(name).to_owned())
        .filter(|name| (name.starts_with("switchboard:") && !name.ends_with("types")) || name == "wasi:http/outgoing-handler")
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A compiled plugin, ready to be instantiated for each call.
pub struct LoadedPlugin {
    /// SHA-256 of the component (hex).
    pub hash: String,
    /// Who signed the component (base64 public key; `built-in` for first-party plugins),
    /// set by the plugins module when it checks the signature.
    pub signer: Option<String>,
    pub manifest: PluginManifest,
    pub settings_schema: Vec<Field>,
    pub window: WindowPolicy,
    pub version: semver::Version,
    pub wit_version: semver::Version,
    /// The plugin imports `smtp`: the host's SMTP listener hands its channels their mail.
    pub receives_mail: bool,
    /// The host capabilities it imports, without versions (`switchboard:channel/smtp`,
    /// `wasi:http/outgoing-handler`, ...): what the operator reviews besides outbound hosts.
    pub host_imports: Vec<String>,
    /// The operator-level settings of the plugin's provider app; empty: it has none.
    pub app_schema: Vec<Field>,
    /// What the connect form shows beside it (empty when the plugin brings no guide).
    pub guide: Guide,
    /// How fast its provider takes sends (the plugin's `delivery` export; default otherwise).
    pub send_limits: SendLimits,
    /// The interactive kinds it draws natively, with their limits (0.1.4 `interactive`; none
    /// otherwise: every kind goes as text).
    pub interactive: InteractiveSupport,
    /// Its texts in the pages' other languages (0.1.4 `translations`; none otherwise).
    pub translations: Translations,
    pre: InstancePre<CallState>,
    channel: ChannelIndices,
    /// The webhook handler and `send`, found once: their calls check their own types alone.
    traffic: TrafficExports,
    /// Where `provider-app` is, when the plugin exports it (0.1.3).
    app: Option<AppIndices>,
    /// Where `setup-guide` is, when the plugin exports it (0.1.3).
    guide_export: Option<GuideIndices>,
    /// Where `delivery` is, when the plugin exports it (0.1.3).
    delivery_export: Option<DeliveryIndices>,
    /// Where `media` is, when the plugin exports it (0.1.3).
    media_export: Option<MediaIndices>,
    /// Where `interactive` and `interactive-app` are, when the plugin exports them (0.1.4).
    interactive_export: Option<InteractiveIndices>,
    interactive_app_export: Option<InteractiveAppIndices>,
    /// Where `settings-check` is, when the plugin exports it (0.1.4).
    settings_check_export: Option<SettingsCheckIndices>,
    /// Where `translations` is, when the plugin exports it (0.1.4).
    translations_export: Option<TranslationsIndices>,
    /// Where `template-buttons` is, when the plugin exports it (0.1.4).
    template_buttons_export: Option<TemplateButtonsIndices>,
    declared: Arc<Vec<HostPattern>>,
    shared: Arc<Shared>,
}

/// Runs one function of an exported interface (`$indices`) on a fresh instance under the
/// limits; `$channel` tags state and logs. With `traffic`, the function was found at load and
/// its type is checked at its first call only ([`bindings::TrafficExports`]).
macro_rules! call_export {
    ($self:ident, $channel:expr, $indices:expr, $method:ident ( $($arg:expr),* )) => {{
        let (mut store, instance) = $self.instantiate($channel).await?;
        let guest = $indices.load(&mut store, &instance).map_err(|e| PluginFailure::Instantiate(format!("{e:#}")))?;
        let call = guest.$method(&mut store $(, $arg)*);
        call_export!(@run $self, store, call, stringify!($method).trim_start_matches("call_"))
    }};
    ($self:ident, $channel:expr, traffic $export:ident $label:literal, <$params:ty, $result:ty> ( $($arg:expr),* )) => {{
        let (mut store, instance) = $self.instantiate($channel).await?;
        let func = $self.traffic.$export::<$params, ($result,)>(&instance, &mut store).map_err(|e| PluginFailure::Instantiate(format!("{e:#}")))?;
        let call = async { func.call_async(&mut store, ($($arg,)*)).await.map(|(result,)| result) };
        call_export!(@run $self, store, call, $label)
    }};
    (@run $self:ident, $store:ident, $call:ident, $export:expr) => {{
        let started = Instant::now();
        let outcome = tokio::time::timeout($self.shared.limits.call_timeout + EPOCH_TICK * 4, $call).await;
        let verdict = $self.verdict(outcome, &$store, started);
        let outcome = verdict.as_ref().map_or_else(PluginFailure::kind, |_| "ok");
        // The `manifest` call made while loading is not observed: the plugin has no id until
        // it answers, and a made-up label (`plugin="(loading)"`, or the component's hash, which
        // no operator knows) would show a plugin that does not exist. The load itself is
        // counted (`switchboard_plugin_loads_total`, `refused` when that call fails).
        if !$self.manifest.id.is_empty() {
            $self.shared.services.calls.call_finished(&$self.manifest.id, $export, outcome, started.elapsed());
        }
        verdict
    }};
    ($self:ident, $channel:expr, $method:ident ( $($arg:expr),* )) => {
        call_export!($self, $channel, $self.channel, $method($($arg),*))
    };
}

impl LoadedPlugin {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    async fn instantiate(&self, channel: Option<&ChannelContext>) -> Result<(Store<CallState>, Instance), PluginFailure> {
        let limits = &self.shared.limits;
        let deadline = Instant::now() + limits.call_timeout;
        let setup = CallSetup { plugin_id: &self.manifest.id, channel, deadline };
        let shared = &self.shared;
        let state = CallState {
            // The default context is the sandbox: no files, environment, arguments or stdio (built
            // directly: `builder().build()` makes it twice, seeding its random generators each time).
            wasi: WasiCtx::default(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            outbound: OutboundPolicy::for_call(&setup, self.declared.clone(), shared.operator_allowed.clone(), shared.services.resolver.clone(), shared.services.doubles.clone()),
            log: log::LogCtx::for_call(&setup, shared.services.doubles.clone()),
            state: state::StateCtx::for_call(&setup, shared.services.state.clone()),
            smtp: smtp::SmtpCtx::for_call(
                &setup,
                smtp::SmtpConfig {
                    addressing: shared.services.mail.clone(),
                    operator_allowed: shared.operator_allowed.clone(),
                    resolver: shared.services.resolver.clone(),
                    doubles: shared.services.doubles.clone(),
                },
            ),
            app: app::AppCtx::for_call(&setup, shared.services.apps.clone()),
            holds: holds::HoldsCtx::for_call(&setup, shared.services.holds.clone()),
            files: files::FilesCtx::for_call(&setup, shared.services.files.clone()),
            memory: MemoryCap::new(limits.memory_bytes),
        };
        let mut store = Store::new(&self.shared.engine, state);
        store.limiter(|s| &mut s.memory);
        // Yield to the executor at every tick so a busy plugin never starves the host,
        // and trap once the call's time is up.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline { Ok(UpdateDeadline::Interrupt) } else { Ok(UpdateDeadline::Yield(1)) }
        });
        let instance = self.pre.instantiate_async(&mut store).await.map_err(|e| PluginFailure::Instantiate(format!("{e:#}")))?;
        Ok((store, instance))
    }

    fn verdict<T>(
        &self,
        outcome: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
        store: &Store<CallState>,
        started: Instant,
    ) -> Result<T, PluginFailure> {
        let limits = &self.shared.limits;
        let error = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Err(_elapsed) => return Err(PluginFailure::Timeout(limits.call_timeout)),
            Ok(Err(error)) => error,
        };
        let failure = if store.data().memory.exceeded {
            PluginFailure::MemoryLimit(limits.memory_bytes)
        } else if let Some(host) = error.downcast_ref::<HostImportError>() {
            PluginFailure::Host(host.0.clone())
        } else if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            PluginFailure::Timeout(limits.call_timeout)
        } else {
            PluginFailure::Trap(format!("{error:#}"))
        };
        tracing::warn!(plugin = %self.manifest.id, elapsed_ms = started.elapsed().as_millis() as u64, "plugin call failed: {failure}");
        Err(failure)
    }

    /// Asks the plugin's load-time exports, a fresh instance each. The manifest is accepted
    /// first: the later calls are counted under its id, and an invalid one is asked nothing more.
    async fn ask(&mut self) -> Result<LoadAnswers, LoadError> {
        let manifest = self.manifest_call().await.map_err(LoadError::Manifest)?;
        self.accept_manifest(manifest.clone())?;
        let settings_schema = self.settings_schema_call().await.map_err(LoadError::Manifest)?;
        let window = self.window_call().await.map_err(LoadError::Manifest)?;
        let app_schema = self.app_schema_call().await.map_err(LoadError::Manifest)?;
        let send_limits = self.send_limits_call().await.map_err(LoadError::Manifest)?;
        let interactive = self.interactive_support_call().await.map_err(LoadError::Manifest)?;
        let guide = self.guide_call().await.map_err(LoadError::Manifest)?;
        let (mut texts, mut failed_languages) = (Vec::new(), Vec::new());
        for &language in TRANSLATED_LANGUAGES {
            match self.texts_call(language).await {
                Ok(pairs) => texts.push(LanguageTexts { language: language.to_owned(), texts: pairs }),
                Err(failure) => failed_languages.push(FailedLanguage::new(language, &failure)),
            }
        }
        Ok(LoadAnswers { manifest, settings_schema, window, app_schema, send_limits, interactive, guide, texts, failed_languages })
    }

    /// Takes the load-time answers, asked or kept, through the same checks.
    fn accept_answers(&mut self, answers: LoadAnswers) -> Result<(), LoadError> {
        let LoadAnswers { manifest, settings_schema, window, app_schema, send_limits, interactive, guide, texts, failed_languages } = answers;
        self.accept_manifest(manifest)?;
        self.settings_schema = settings_schema;
        self.window = window;
        self.app_schema = app_schema;
        self.send_limits = send_limits;
        crate::interactive::check_support(&interactive).map_err(LoadError::InvalidManifest)?;
        self.interactive = interactive;
        self.guide = guide.checked(&self.settings_schema).map_err(LoadError::InvalidManifest)?;
        for LanguageTexts { language, texts } in texts {
            self.translations.add(&language, texts);
        }
        // Optional: a plugin whose translations fail is shown as written, not refused.
        for FailedLanguage { language, failure, .. } in failed_languages {
            tracing::warn!(plugin = %self.manifest.id, language = %language, "the plugin's translations are not used: {failure}");
        }
        Ok(())
    }

    /// The manifest's checks: a semver version, an id of the plugins' shape, outbound hosts
    /// that parse.
    fn accept_manifest(&mut self, manifest: PluginManifest) -> Result<(), LoadError> {
        self.version = semver::Version::parse(&manifest.version)
            .map_err(|e| LoadError::InvalidManifest(format!("version `{}` is not semver: {e}", manifest.version)))?;
        if !crate::ids::is_plugin_id(&manifest.id) {
            return Err(LoadError::InvalidManifest(format!("id `{}` must be {}", manifest.id.escape_debug(), crate::ids::PLUGIN_ID_SHAPE)));
        }
        let declared = manifest
            .outbound_hosts
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(LoadError::InvalidManifest)?;
        self.declared = Arc::new(declared);
        self.manifest = manifest;
        Ok(())
    }

    async fn manifest_call(&self) -> Result<PluginManifest, PluginFailure> {
        call_export!(self, None, call_manifest()).map(Lift::lift)
    }

    async fn settings_schema_call(&self) -> Result<Vec<Field>, PluginFailure> {
        call_export!(self, None, call_settings_schema()).map(Lift::lift)
    }

    async fn window_call(&self) -> Result<WindowPolicy, PluginFailure> {
        call_export!(self, None, call_messaging_window()).map(Lift::lift)
    }

    async fn app_schema_call(&self) -> Result<Vec<Field>, PluginFailure> {
        let Some(app) = &self.app else { return Ok(Vec::new()) };
        call_export!(self, None, app, call_app_settings_schema()).map(Lift::lift)
    }

    async fn send_limits_call(&self) -> Result<SendLimits, PluginFailure> {
        let Some(delivery) = &self.delivery_export else { return Ok(SendLimits::default()) };
        call_export!(self, None, delivery, call_limits()).map(Lift::lift)
    }

    async fn interactive_support_call(&self) -> Result<InteractiveSupport, PluginFailure> {
        let Some(interactive) = &self.interactive_export else { return Ok(InteractiveSupport::default()) };
        call_export!(self, None, interactive, call_support()).map(Lift::lift)
    }

    async fn texts_call(&self, language: &str) -> Result<Vec<(String, String)>, PluginFailure> {
        let Some(translations) = &self.translations_export else { return Ok(Vec::new()) };
        call_export!(self, None, translations, call_texts(language))
    }

    async fn guide_call(&self) -> Result<Guide, PluginFailure> {
        let Some(guide) = &self.guide_export else { return Ok(Guide::default()) };
        call_export!(self, None, guide, call_connect_guide()).map(Lift::lift)
    }

    /// Whether the plugin has a provider app (exports `provider-app` with a settings schema).
    pub fn has_app(&self) -> bool {
        self.app.is_some() && !self.app_schema.is_empty()
    }

    /// A request to the provider app's callback URL.
    pub async fn handle_app_webhook(&self, app: &AppContext, request: &HttpRequest) -> Result<AppWebhookOutcome, CallError> {
        let indices = self.app.as_ref().ok_or_else(|| CallError::Channel(types::ChannelError::Unsupported("this plugin has no provider app".into())))?;
        let (wit_app, wit_request) = (app.clone().lift(), request.clone().lift());
        // 0.1.4: the app's webhooks may carry choices.
        if let Some(interactive) = &self.interactive_app_export {
            return flatten(call_export!(self, None, interactive, call_handle_app_webhook(&wit_app, &wit_request)));
        }
        flatten(call_export!(self, None, indices, call_handle_app_webhook(&wit_app, &wit_request)))
    }

    pub async fn connect(&self, ctx: &ChannelContext) -> Result<Connection, CallError> {
        let wit_ctx = ctx.clone().lift();
        flatten(call_export!(self, Some(ctx), call_connect(&wit_ctx)))
    }

    pub async fn disconnect(&self, ctx: &ChannelContext) -> Result<(), CallError> {
        let wit_ctx = ctx.clone().lift();
        flatten(call_export!(self, Some(ctx), call_disconnect(&wit_ctx)))
    }

    pub async fn handle_webhook(&self, ctx: &ChannelContext, request: &HttpRequest) -> Result<WebhookOutcome, CallError> {
        let (wit_ctx, wit_request) = (bindings::ContextView::from(ctx), bindings::RequestView::from(request));
        match self.traffic.webhook {
            // 0.1.4: the same handler, whose events may be choices.
            WebhookHandler::Interactive(_) => flatten(call_export!(self, Some(ctx), traffic webhook "handle_webhook", <bindings::WebhookArgs<'_>, bindings::InteractiveWebhookResult>(wit_ctx, wit_request))),
            WebhookHandler::Channel(_) => flatten(call_export!(self, Some(ctx), traffic webhook "handle_webhook", <bindings::WebhookArgs<'_>, bindings::WebhookResult>(wit_ctx, wit_request))),
        }
    }

    /// The plugin's own checks of a settings form, per field (none when it does not export
    /// `settings-check`, or when the check itself fails: connect still checks).
    pub async fn check_settings(&self, settings: &[(String, String)]) -> Vec<types::FieldError> {
        match self.check_settings_call(settings).await {
            Ok(errors) => errors,
            Err(failure) => {
                tracing::warn!(plugin = %self.manifest.id, "checking settings failed (connect checks them): {failure}");
                Vec::new()
            }
        }
    }

    async fn check_settings_call(&self, settings: &[(String, String)]) -> Result<Vec<types::FieldError>, PluginFailure> {
        let Some(indices) = &self.settings_check_export else { return Ok(Vec::new()) };
        let settings = settings.to_vec().lift();
        call_export!(self, None, indices, call_check_settings(&settings)).map(Lift::lift)
    }

    /// Sends interactive content of a kind the plugin draws ([`Self::interactive`]).
    pub async fn send_interactive(&self, ctx: &ChannelContext, message: &InteractiveMessage) -> Result<Receipt, CallError> {
        let indices = self.interactive_export.as_ref().ok_or_else(|| CallError::Channel(types::ChannelError::Unsupported("this plugin draws no interactive content".into())))?;
        let (wit_ctx, wit_message) = (ctx.clone().lift(), message.clone().lift());
        flatten(call_export!(self, Some(ctx), indices, call_send_interactive(&wit_ctx, &wit_message)))
    }

    pub async fn send(&self, ctx: &ChannelContext, message: &OutboundMessage) -> Result<Receipt, CallError> {
        let (wit_ctx, wit_message) = (bindings::ContextView::from(ctx), message.clone().lift());
        flatten(call_export!(self, Some(ctx), traffic send "send", <bindings::SendArgs<'_>, bindings::SendResult>(wit_ctx, &wit_message)))
    }

    /// The provider's templates with their buttons (0.1.4 `template-buttons`; before it, none).
    pub async fn list_templates(&self, ctx: &ChannelContext) -> Result<Vec<ButtonTemplate>, CallError> {
        let wit_ctx = ctx.clone().lift();
        if let Some(indices) = &self.template_buttons_export {
            return flatten(call_export!(self, Some(ctx), indices, call_list_templates(&wit_ctx)));
        }
        let templates: Vec<Template> = flatten(call_export!(self, Some(ctx), call_list_templates(&wit_ctx)))?;
        Ok(templates.into_iter().map(|template| ButtonTemplate { template, buttons: Vec::new() }).collect())
    }

    /// Registers a template; one with buttons only with a plugin that exports `template-buttons`.
    pub async fn create_template(&self, ctx: &ChannelContext, template: &NewButtonTemplate) -> Result<ButtonTemplate, CallError> {
        let wit_ctx = ctx.clone().lift();
        if let Some(indices) = &self.template_buttons_export {
            let wit_template = template.clone().lift();
            return flatten(call_export!(self, Some(ctx), indices, call_create_template(&wit_ctx, &wit_template)));
        }
        if !template.buttons.is_empty() {
            return Err(CallError::Channel(types::ChannelError::InvalidSettings(vec![types::FieldError {
                key: "buttons".into(),
                message: format!("{} templates have no buttons", self.manifest.name),
            }])));
        }
        let wit_template = template.template.clone().lift();
        let created: Template = flatten(call_export!(self, Some(ctx), call_create_template(&wit_ctx, &wit_template)))?;
        Ok(ButtonTemplate { template: created, buttons: Vec::new() })
    }

    /// Whether templates sent through this plugin take button values (`template-buttons`).
    pub fn has_template_buttons(&self) -> bool {
        self.template_buttons_export.is_some()
    }

    /// Sends a template with values for its buttons (`template-buttons`).
    pub async fn send_template(&self, ctx: &ChannelContext, message: &OutboundMessage, buttons: &[ButtonParameter]) -> Result<Receipt, CallError> {
        let indices = self.template_buttons_export.as_ref().ok_or_else(|| CallError::Channel(types::ChannelError::Unsupported("this plugin's templates have no buttons".into())))?;
        let (wit_ctx, wit_message, wit_buttons) = (ctx.clone().lift(), message.clone().lift(), buttons.to_vec().lift());
        flatten(call_export!(self, Some(ctx), indices, call_send_template(&wit_ctx, &wit_message, &wit_buttons)))
    }

    pub async fn delete_template(&self, ctx: &ChannelContext, name: &str) -> Result<(), CallError> {
        let wit_ctx = ctx.clone().lift();
        flatten(call_export!(self, Some(ctx), call_delete_template(&wit_ctx, name)))
    }

    /// Whether the plugin fetches inbound attachments' bytes (exports `media`); without it
    /// attachments stay metadata only.
    pub fn fetches_media(&self) -> bool {
        self.media_export.is_some()
    }

    /// How the bytes of an inbound attachment are got.
    pub async fn fetch_media(&self, ctx: &ChannelContext, attachment: &Attachment) -> Result<MediaSource, CallError> {
        let indices = self.media_export.as_ref().ok_or_else(|| CallError::Channel(types::ChannelError::Unsupported("this plugin does not fetch media".into())))?;
        let (wit_ctx, wit_attachment) = (ctx.clone().lift(), attachment.clone().lift());
        flatten(call_export!(self, Some(ctx), indices, call_fetch_media(&wit_ctx, &wit_attachment)))
    }

    /// Makes a request the plugin asked for (a media download) under the plugin's outbound
    /// rules, as if the plugin made it; the body streams, failing after `silence` without a byte.
    pub async fn request_for(&self, request: &MediaRequest, silence: Duration) -> Result<http::Response<ResponseBody>, RequestRefusal> {
        let policy = OutboundPolicy::for_host(&self.manifest.id, self.declared.clone(), self.shared.operator_allowed.clone(), self.shared.services.resolver.clone(), None);
        policy.request(request, silence).await
    }

    pub async fn auth_start(&self, request: &AuthStartRequest) -> Result<AuthRedirect, CallError> {
        let wit_request = request.clone().lift();
        flatten(call_export!(self, None, call_auth_start(&wit_request)))
    }

    pub async fn auth_finish(&self, request: &AuthFinishRequest) -> Result<Vec<AuthAccount>, CallError> {
        let wit_request = request.clone().lift();
        flatten(call_export!(self, None, call_auth_finish(&wit_request)))
    }
}

/// A call's answer in the host's types: the plugin's value or typed error, or the host's verdict.
fn flatten<W: Lift<T>, T, E: Lift<types::ChannelError>>(result: Result<Result<W, E>, PluginFailure>) -> Result<T, CallError> {
    match result {
        Ok(Ok(value)) => Ok(value.lift()),
        Ok(Err(error)) => Err(CallError::Channel(error.lift())),
        Err(failure) => Err(CallError::Failed(failure)),
    }
}
