//! The host's shared state ([`App`]): the database, the plugin runtime and registry, live
//! followers, and what derives from them (a channel's plugin context, its webhook URL).
//! Starting workers and listeners on it is `server`'s job.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::registry::Registry;
use crate::runtime::types::ChannelContext;
use crate::runtime::types::AppContext;
use crate::runtime::{
    ChannelStateBackend, CompileCache, HostPattern, HostServices, Limits, MailAddressing, ProviderAppSettings, Resolver, ResourceHolds, Runtime, StateError, SystemResolver,
};
use crate::store::model::{Channel, Hold, ProviderApp};
use crate::store::backend::{Backend, Store};

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    /// Postgres instead of SQLite in the data dir (`--database-url`): several nodes over one
    /// database (docs/scale-out.md).
    pub database_url: Option<String>,
    /// The URL providers reach this host at; webhook URLs are built from it.
    pub public_url: Option<String>,
    /// Hosts plugins may call besides the ones they declare (`host` or `host:port`).
    pub allow_outbound: Vec<String>,
    pub limits: Limits,
    pub mail: MailOptions,
    /// The largest attachment file kept, in MiB (`--media-max-mb`).
    pub media_max_mb: u64,
    /// Where plugins' outbound host names are looked up (not a setting: a seam for tests).
    pub resolver: ResolverChoice,
    /// Which plugin signatures are trusted.
    pub plugin_trust: PluginTrust,
    /// Store failures caused on purpose (not a setting: a seam for tests).
    pub faults: Arc<crate::store::writer::Faults>,
    /// Where channel webhook deliveries are kept as fixtures (`--record-webhooks`); none: not kept.
    pub record_webhooks: Option<PathBuf>,
    /// Compile plugins in child processes of this binary (the server binary sets it; see
    /// `runtime::precompile`); none: in-process.
    pub compiler: Option<crate::runtime::ChildCompiler>,
    /// Hand the binary's start-up code back to the kernel once the plugins are in (the server
    /// binary sets it; a test process running many servers does not: see `resident`).
    pub release_start_up_code: bool,
    /// Where plugins' compilations are kept; none: the data folder's `cache/`. Servers on one
    /// machine may share one folder (the test kit's hosts do, so a suite compiles each plugin
    /// once): an entry is named by the component's hash and the engine's settings, written
    /// atomically and checked against its digest when read.
    pub compile_cache: Option<PathBuf>,
    /// When failed event webhook deliveries are tried again and given up (`--webhook-retry`).
    pub webhook_retry: crate::store::model::RetryPolicy,
    /// The OCI repositories the catalogue lists (`--catalogue oci://REGISTRY/REPOSITORY`).
    pub catalogue: Vec<String>,
}

impl ServeConfig {
    /// Where plugins' compilations are kept: `compile_cache`, else the data folder's `cache/`.
    pub fn compile_cache_dir(&self) -> PathBuf {
        self.compile_cache.clone().unwrap_or_else(|| crate::data_dir::cache_dir(&self.data_dir))
    }
}

/// Which components the host runs besides its built-ins: signed by a trusted key (base64
/// Ed25519 public keys), or any when `allow_unsigned` (development; off by default, because a
/// component file or upload would otherwise run without anyone vouching for it).
#[derive(Debug, Clone, Default)]
pub struct PluginTrust {
    pub trusted_keys: Vec<String>,
    pub allow_unsigned: bool,
}

/// [`PluginTrust`] with its keys parsed.
pub struct TrustedKeys {
    pub keys: Vec<ed25519_dalek::VerifyingKey>,
    pub allow_unsigned: bool,
}

/// The resolver outbound requests use; the system's by default.
#[derive(Clone)]
pub struct ResolverChoice(pub Arc<dyn Resolver>);

impl Default for ResolverChoice {
    fn default() -> Self {
        Self(Arc::new(SystemResolver))
    }
}

impl std::fmt::Debug for ResolverChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResolverChoice")
    }
}

/// Inbound mail (the email channel's forwarding addresses).
#[derive(Debug, Clone)]
pub struct MailOptions {
    /// The domain of forwarding addresses (`<id>@<domain>`). Default: the host name of the
    /// public URL when that is a domain name; without either, email channels get no address.
    pub inbound_domain: Option<String>,
    /// The largest message taken by SMTP or relay.
    pub max_message_bytes: usize,
}

/// Gmail's and Outlook's limit is 25 MB with attachments; a plugin instance parses the whole
/// message in its memory cap (64 MiB by default), so the default stays well below that.
pub const DEFAULT_MAX_MAIL_BYTES: usize = 10 << 20;

impl Default for MailOptions {
    fn default() -> Self {
        Self { inbound_domain: None, max_message_bytes: DEFAULT_MAX_MAIL_BYTES }
    }
}

/// Everything a request handler or worker needs.
pub struct App {
    /// The data, through the interface both backends implement (`store::backend`).
    pub store: Arc<dyn Store>,
    /// What differs between one node and several (shared plugins, media files, the live relay,
    /// visitor budgets, key rotation), chosen once at start.
    pub deployment: crate::deployment::Deployment,
    pub runtime: Runtime,
    pub registry: Registry,
    pub public_url: String,
    /// `<data-dir>/plugins`: component files loaded at start and watched while serving.
    pub plugins_dir: PathBuf,
    /// Wakes the outbox worker when a message is queued.
    pub outbox_wake: Notify,
    /// Attachments' bytes (`media`).
    pub media: Arc<crate::media::Media>,
    /// Wakes the media fetcher when an attachment waits for its bytes.
    pub media_wake: Notify,
    /// The largest mail message taken (SMTP listener and relay webhooks).
    pub max_mail_bytes: usize,
    /// Messages stored or sent, for live followers (the website chat widget).
    pub live: crate::live::Live,
    /// Where plugin uploads are received before they are valid (see `plugins::stage_upload`).
    pub uploads_dir: PathBuf,
    /// Uploads waiting for the operator's approval (see `plugins::review`).
    pub pending_dir: PathBuf,
    /// One component file loaded at a time, whether uploaded, approved or changed in the plugins
    /// folder (each holds its component in memory while compiling); a removal takes its turn too.
    pub upload_slot: tokio::sync::Semaphore,
    /// The operator's `--allow-outbound` hosts: reached without the public-address check
    /// (plugins' requests, plugin registries).
    pub outbound_allowed: Vec<HostPattern>,
    /// Which plugin signatures are trusted.
    pub trust: TrustedKeys,
    /// The data dir, for what works on its files while serving (secret-key rotation).
    pub data_dir: PathBuf,
    /// Held for the process's life (see `data_dir::serve_lock`).
    _serve_lock: std::fs::File,
    /// What `/readyz` reports.
    pub health: crate::health::Health,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The domain of forwarding addresses, if the host receives mail (see `mail::address`).
    pub inbound_domain: Option<String>,
    /// Keeps webhook deliveries as fixtures, when the operator asked (`--record-webhooks`).
    pub webhook_recorder: Option<crate::fixtures::WebhookRecorder>,
    /// When failed event webhook deliveries are tried again and given up.
    pub webhook_retry: crate::store::model::RetryPolicy,
    /// Event webhook receivers' HTTP clients, kept between deliveries.
    pub webhook_clients: crate::egress::PinnedClients,
    /// The channels that offer options, as this node knows them (see `interactive::OfferCache`).
    pub choice_offers: crate::interactive::OfferCache,
    /// The repositories the operator's catalogue lists (`--catalogue`; see `plugins::catalogue`).
    pub catalogue: Vec<crate::oci::Source>,
}

/// The store as the runtime's `state` backend: a failure reaches the plugin call, which fails.
struct StoreState(Arc<dyn Store>);

#[async_trait::async_trait]
impl ChannelStateBackend for StoreState {
    async fn get(&self, channel_id: &str, key: &str) -> Result<Option<String>, StateError> {
        self.0.state_get(channel_id, key).await.map_err(|e| e.to_string())
    }
    async fn set(&self, channel_id: &str, key: &str, value: &str) -> Result<(), StateError> {
        self.0.state_set(channel_id, key, value).await.map_err(|e| e.to_string())
    }
    async fn remove(&self, channel_id: &str, key: &str) -> Result<(), StateError> {
        self.0.state_remove(channel_id, key).await.map_err(|e| e.to_string())
    }
    async fn keys(&self, channel_id: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        self.0.state_keys(channel_id, prefix).await.map_err(|e| e.to_string())
    }
}

/// The store as the runtime's `app` backend (the operator's provider app settings).
struct StoreApps(Arc<dyn Store>);

#[async_trait::async_trait]
impl ProviderAppSettings for StoreApps {
    async fn settings(&self, plugin_id: &str) -> Result<Option<Vec<(String, String)>>, String> {
        let app = self.0.provider_app(plugin_id).await.map_err(|e| e.to_string())?;
        Ok(app.map(|app| app.settings.into_iter().collect()))
    }
}

/// The store as the runtime's `holds` backend.
struct StoreHolds {
    store: Arc<dyn Store>,
    /// How long a last holder's teardown may take: its disconnect call, then its channel's
    /// deletion (which ends the release at once).
    releasing: Duration,
}

/// How often a hold waiting for another channel's teardown looks again.
const HOLD_AGAIN_AFTER: Duration = Duration::from_millis(100);

#[async_trait::async_trait]
impl ResourceHolds for StoreHolds {
    /// Waits while another channel tears the resource down (bounded by its release's mark,
    /// and by this call's own limit): set up before that teardown ends, the resource would be
    /// torn down under this channel (a Page unsubscribed just after its Instagram connected).
    async fn hold(&self, channel_id: &str, resource: &str) -> Result<(), String> {
        let mut waited_for = None;
        loop {
            match self.store.hold_resource(channel_id, resource).await.map_err(|e| e.to_string())? {
                Hold::Held => return Ok(()),
                Hold::Releasing { by } => {
                    if waited_for.as_ref() != Some(&by) {
                        tracing::info!(channel = channel_id, resource, releasing = %by, "waiting for another channel's teardown of the resource");
                        waited_for = Some(by);
                    }
                    tokio::time::sleep(HOLD_AGAIN_AFTER).await;
                }
            }
        }
    }
    async fn release(&self, channel_id: &str, resource: &str) -> Result<bool, String> {
        let releasing_until = crate::store::now_ms() + i64::try_from(self.releasing.as_millis()).unwrap_or(i64::MAX / 2);
        self.store.release_resource(channel_id, resource, releasing_until).await.map_err(|e| e.to_string())
    }
}

impl App {
    /// Opens the data dir (and the database) and starts the runtime; no plugin is loaded yet
    /// (`plugins::load_all`). `mail`: the addresses the host receives mail at, as the `mail`
    /// module derives them.
    pub async fn open(
        config: &ServeConfig,
        local_addr: SocketAddr,
        inbound_domain: Option<String>,
        mail: Arc<dyn MailAddressing>,
    ) -> anyhow::Result<Self> {
        let trust = TrustedKeys {
            keys: config
                .plugin_trust
                .trusted_keys
                .iter()
                .map(|k| crate::signing::parse_public_key(k).map_err(|e| anyhow::anyhow!("trusted key: {e}")))
                .collect::<anyhow::Result<_>>()?,
            allow_unsigned: config.plugin_trust.allow_unsigned,
        };
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create the data dir {}: {e}", config.data_dir.display()))?;
        let serve_lock = crate::data_dir::serve_lock(&config.data_dir)?;
        // Named by where it serves, unique among the nodes of one database.
        let node = format!("{}@{local_addr}", hostname());
        let backend = Backend::open(&config.data_dir, config.database_url.as_deref(), &node, config.faults.clone()).await?;
        let media_dir = crate::data_dir::media_dir(&config.data_dir);
        let (store, deployment) = crate::deployment::Deployment::of(backend, media_dir)?;
        // Uploads cut off by a crash: nothing refers to them.
        let _ = std::fs::remove_dir_all(crate::data_dir::uploads_dir(&config.data_dir));
        let allowed = config
            .allow_outbound
            .iter()
            .map(|h| HostPattern::parse(h).map_err(|e| anyhow::anyhow!("--allow-outbound {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let catalogue = config
            .catalogue
            .iter()
            .map(|r| crate::oci::Source::parse_repository(r).map_err(|e| anyhow::anyhow!("--catalogue {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let cache = CompileCache::new(config.compile_cache_dir());
        let metrics = Arc::new(crate::metrics::Metrics::new(deployment.store_metrics.clone()));
        let media = Arc::new(crate::media::Media::new(deployment.files.clone(), store.clone(), config.media_max_mb));
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"))
            .trim_end_matches('/')
            .to_owned();
        let services = HostServices {
            files: Arc::new(crate::media::plugin_files::PluginFiles { media: media.clone(), store: store.clone(), public_url: public_url.clone() }),
            state: Arc::new(StoreState(store.clone())),
            mail,
            apps: Arc::new(StoreApps(store.clone())),
            holds: Arc::new(StoreHolds { store: store.clone(), releasing: config.limits.call_timeout * 2 }),
            calls: metrics.clone(),
            resolver: config.resolver.0.clone(),
            doubles: None,
        };
        let runtime = Runtime::new(config.limits.clone(), allowed.clone(), services, Some(cache))?;
        if let Some(compiler) = &config.compiler {
            runtime.compile_in_child(compiler.clone());
        }
        Ok(Self {
            live: deployment.live(),
            store,
            deployment,
            runtime,
            registry: Registry::default(),
            public_url,
            plugins_dir: crate::data_dir::plugins_dir(&config.data_dir),
            outbox_wake: Notify::new(),
            media,
            media_wake: Notify::new(),
            max_mail_bytes: config.mail.max_message_bytes,
            uploads_dir: crate::data_dir::uploads_dir(&config.data_dir),
            pending_dir: crate::data_dir::pending_dir(&config.data_dir),
            upload_slot: tokio::sync::Semaphore::new(1),
            outbound_allowed: allowed,
            trust,
            data_dir: config.data_dir.clone(),
            _serve_lock: serve_lock,
            health: Default::default(),
            metrics,
            inbound_domain,
            webhook_recorder: config.record_webhooks.as_deref().map(crate::fixtures::WebhookRecorder::new),
            webhook_retry: config.webhook_retry.clone(),
            webhook_clients: Default::default(),
            choice_offers: Default::default(),
            catalogue,
        })
    }

    /// The one callback URL of a plugin's provider app.
    pub fn app_callback_url(&self, plugin_id: &str) -> String {
        format!("{}/webhooks/apps/{plugin_id}", self.public_url)
    }

    /// What an app-level plugin call gets.
    pub fn app_context(&self, app: &ProviderApp) -> AppContext {
        AppContext {
            callback_url: self.app_callback_url(&app.plugin),
            verify_token: app.verify_token.clone(),
            settings: app.settings.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }

    pub fn webhook_url(&self, channel_id: &str) -> String {
        format!("{}/webhooks/{channel_id}", self.public_url)
    }

    /// What a plugin call about this channel gets.
    pub fn channel_context(&self, channel: &Channel) -> ChannelContext {
        ChannelContext {
            channel_id: channel.id.clone(),
            webhook_url: self.webhook_url(&channel.id),
            webhook_secret: channel.webhook_secret.clone(),
            settings: channel.settings.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }
}

/// This machine's name (nodes on several machines), or `localhost` when it has none.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into())
}
