//! Wiring: the database, the plugin runtime and registry, the outbox worker and the HTTP API,
//! served on a listener until shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::registry::Registry;
use crate::runtime::{ChannelStateBackend, CompileCache, HostPattern, Limits, Runtime};
use crate::runtime::types::ChannelContext;
use crate::store::Db;
use crate::store::channels::Channel;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    /// The URL providers reach this host at; webhook URLs are built from it.
    pub public_url: Option<String>,
    /// Hosts plugins may call besides the ones they declare (`host` or `host:port`).
    pub allow_outbound: Vec<String>,
    pub limits: Limits,
}

/// Everything a request handler or worker needs.
pub struct App {
    pub db: Arc<Db>,
    pub runtime: Runtime,
    pub registry: Registry,
    pub public_url: String,
    /// `<data-dir>/plugins`: component files loaded at start and watched while serving.
    pub plugins_dir: PathBuf,
    /// Wakes the outbox worker when a message is queued.
    pub outbox_wake: Notify,
    /// Messages stored or sent, for live followers (the website chat widget).
    pub live: crate::live::Live,
}

struct DbState(Arc<Db>);

impl ChannelStateBackend for DbState {
    fn get(&self, channel_id: &str, key: &str) -> Option<String> {
        self.0.state_get(channel_id, key).unwrap_or_else(|e| {
            tracing::error!(channel_id, "reading plugin state failed: {e}");
            None
        })
    }
    fn set(&self, channel_id: &str, key: &str, value: &str) {
        if let Err(e) = self.0.state_set(channel_id, key, value) {
            tracing::error!(channel_id, "writing plugin state failed: {e}");
        }
    }
    fn remove(&self, channel_id: &str, key: &str) {
        if let Err(e) = self.0.state_remove(channel_id, key) {
            tracing::error!(channel_id, "removing plugin state failed: {e}");
        }
    }
    fn keys(&self, channel_id: &str, prefix: &str) -> Vec<String> {
        self.0.state_keys(channel_id, prefix).unwrap_or_else(|e| {
            tracing::error!(channel_id, "listing plugin state failed: {e}");
            Vec::new()
        })
    }
}

impl App {
    /// Opens the data dir, starts the runtime and loads every plugin.
    pub async fn start(config: &ServeConfig, local_addr: SocketAddr) -> anyhow::Result<Arc<Self>> {
        let db = Arc::new(Db::open(&config.data_dir)?);
        let allowed = config
            .allow_outbound
            .iter()
            .map(|h| HostPattern::parse(h).map_err(|e| anyhow::anyhow!("--allow-outbound {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let cache = CompileCache::new(crate::plugins::offline::cache_dir(&config.data_dir));
        let runtime = Runtime::new(config.limits.clone(), allowed, Arc::new(DbState(db.clone())), Some(cache))?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"))
            .trim_end_matches('/')
            .to_owned();
        let app = Arc::new(Self {
            db,
            runtime,
            registry: Registry::default(),
            public_url,
            plugins_dir: crate::plugins::offline::plugins_dir(&config.data_dir),
            outbox_wake: Notify::new(),
            live: Default::default(),
        });
        crate::plugins::load_all(&app).await;
        Ok(app)
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

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local_addr = listener.local_addr()?;
    let app = App::start(&config, local_addr).await?;
    let (stop_tasks, tasks_stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(crate::outbox::run(app.clone(), tasks_stopped.clone()));
    let watcher = crate::plugins::watcher::spawn(app.clone(), tasks_stopped)?;
    tracing::info!(%local_addr, public_url = %app.public_url, "serving");
    // Live streams (open widget pages) end when shutdown starts, or the graceful shutdown
    // would wait for them forever.
    let closing = app.clone();
    let shutdown = async move {
        shutdown.await;
        closing.live.close();
    };
    // The peer address is kept for per-client limits (see `api::webchat`).
    let service = crate::api::router(app).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, service).with_graceful_shutdown(shutdown).await;
    let _ = stop_tasks.send(true);
    let _ = worker.await;
    let _ = watcher.await;
    result.map_err(Into::into)
}
