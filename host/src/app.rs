//! Wiring: the database, the plugin runtime and registry, the outbox worker and the HTTP API,
//! served on a listener until shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::registry::Registry;
use crate::runtime::{ChannelStateBackend, CompileCache, HostPattern, Limits, MailConfig, Runtime};
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
    pub mail: MailOptions,
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
    pub db: Arc<Db>,
    pub runtime: Runtime,
    pub registry: Registry,
    pub public_url: String,
    /// `<data-dir>/plugins`: component files loaded at start and watched while serving.
    pub plugins_dir: PathBuf,
    /// Wakes the outbox worker when a message is queued.
    pub outbox_wake: Notify,
    /// The largest mail message taken (SMTP listener and relay webhooks).
    pub max_mail_bytes: usize,
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
        Self::start_with_smtp(config, local_addr, false).await
    }

    /// As [`App::start`]; `smtp_listener`: the host receives mail by SMTP itself.
    pub async fn start_with_smtp(config: &ServeConfig, local_addr: SocketAddr, smtp_listener: bool) -> anyhow::Result<Arc<Self>> {
        let db = Arc::new(Db::open(&config.data_dir)?);
        let allowed = config
            .allow_outbound
            .iter()
            .map(|h| HostPattern::parse(h).map_err(|e| anyhow::anyhow!("--allow-outbound {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let cache = CompileCache::new(crate::plugins::offline::cache_dir(&config.data_dir));
        let mail = MailConfig { inbound_domain: inbound_domain(config)?, smtp_listener };
        let runtime = Runtime::new(config.limits.clone(), allowed, Arc::new(DbState(db.clone())), Some(cache))?.with_mail(mail);
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
            max_mail_bytes: config.mail.max_message_bytes,
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

/// The inbound mail domain: as configured, else the public URL's host when it is a name.
fn inbound_domain(config: &ServeConfig) -> anyhow::Result<Option<String>> {
    if let Some(domain) = &config.mail.inbound_domain {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty() && !label.starts_with('-') && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        anyhow::ensure!(valid, "--inbound-domain `{domain}` is not a domain name");
        return Ok(Some(domain));
    }
    let host = config.public_url.as_deref().and_then(|url| url.parse::<axum::http::Uri>().ok()).and_then(|uri| uri.host().map(str::to_ascii_lowercase));
    Ok(host.filter(|h| h.contains('.') && h.parse::<std::net::IpAddr>().is_err() && !h.starts_with('[')))
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with_smtp(listener, None, config, shutdown).await
}

/// As [`serve`], plus the SMTP listener for inbound mail on `smtp` (`--smtp-listen`).
pub async fn serve_with_smtp(
    listener: TcpListener,
    smtp: Option<TcpListener>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local_addr = listener.local_addr()?;
    let app = App::start_with_smtp(&config, local_addr, smtp.is_some()).await?;
    let (stop_tasks, tasks_stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(crate::outbox::run(app.clone(), tasks_stopped.clone()));
    let mail = match smtp {
        Some(smtp) => {
            let smtp_addr = smtp.local_addr()?;
            match app.runtime.mail().inbound_domain.as_deref() {
                Some(domain) => tracing::info!(%smtp_addr, domain, "receiving mail by SMTP"),
                None => tracing::warn!(%smtp_addr, "SMTP listener without an inbound domain (--inbound-domain): it refuses every recipient"),
            }
            Some(tokio::spawn(crate::mail::listener::run(app.clone(), smtp, tasks_stopped.clone())))
        }
        None => None,
    };
    let watcher = crate::plugins::watcher::spawn(app.clone(), tasks_stopped)?;
    if app.db.token_count()? == 0 {
        let token = app.db.create_token(crate::store::tokens::Role::Admin)?;
        tracing::warn!("first start: created an admin API token, shown only now: {token}");
    }
    tracing::info!(%local_addr, public_url = %app.public_url, "serving; admin pages at http://{local_addr}/");
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
    if let Some(mail) = mail {
        let _ = mail.await;
    }
    result.map_err(Into::into)
}
