//! The wiring: open the [`App`], load the plugins, start the workers (outbox, plugin folder
//! watcher, SMTP listener) and serve the HTTP API until shutdown, then stop them in order.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::{App, ServeConfig};
use crate::mail::address::MailAddresses;

/// The username of the operator account made on the first start.
pub const FIRST_OPERATOR: &str = "operator";

/// Where the host listens.
pub struct Listeners {
    /// The API, the admin pages, webhooks and the website chat.
    pub http: TcpListener,
    /// Inbound mail by SMTP (`--smtp-listen`), if the host receives it itself.
    pub smtp: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(http: TcpListener) -> Self {
        Self { http, smtp: None }
    }
}

/// Opens the data dir and loads every plugin: the [`App`] `serve` runs on.
pub async fn start(config: &ServeConfig, local_addr: SocketAddr, smtp_listener: bool) -> anyhow::Result<Arc<App>> {
    let app = open(config, local_addr, smtp_listener).await?;
    crate::plugins::load_all(&app).await;
    app.health.plugins_loaded();
    Ok(app)
}

/// The shared state, no plugin loaded yet.
async fn open(config: &ServeConfig, local_addr: SocketAddr, smtp_listener: bool) -> anyhow::Result<Arc<App>> {
    let inbound_domain = crate::mail::address::inbound_domain(config)?;
    let mail = Arc::new(MailAddresses { inbound_domain: inbound_domain.clone(), smtp_listener });
    let app = Arc::new(App::open(config, local_addr, inbound_domain, mail).await?);
    relay_other_nodes(&app);
    Ok(app)
}

/// Other nodes' changes reach this node's live followers, and a plugin installed or removed
/// through any node is loaded or dropped here (on one node there are none).
/// Plugin notices are handled one at a time, in the order they came: a removal announced after
/// an install is not overtaken by that install's slower load (which would leave the plugin live
/// here, removed everywhere else).
fn relay_other_nodes(app: &Arc<App>) {
    use crate::deployment::PluginNotice;
    let (notices, mut queued) = tokio::sync::mpsc::unbounded_channel::<PluginNotice>();
    let loader = app.clone();
    tokio::spawn(async move {
        while let Some(notice) = queued.recv().await {
            match notice {
                PluginNotice::Installed { plugin, version } => crate::plugins::load_shared(&loader, &plugin, &version).await,
                PluginNotice::Removed { plugin } => crate::plugins::drop_shared(&loader, &plugin).await,
            }
        }
    });
    app.deployment.relay(app.clone(), |app: &App| &app.live, move |notice| {
        let _ = notices.send(notice);
    });
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listeners: impl Into<Listeners>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Listeners { http, smtp } = listeners.into();
    let local_addr = http.local_addr()?;
    let app = open(&config, local_addr, smtp.is_some()).await?;
    let (stop_tasks, tasks_stopped) = tokio::sync::watch::channel(false);
    // HTTP is served while plugins load (cold compiles take a while): `/readyz` says when they
    // are in; until then their webhooks get 503 and providers send them again. The folder
    // watcher starts once the first load is done.
    // Start-up is over once the plugins are in and the router is built: then the heap it freed
    // and the pages of code it read are handed back (see `heap` and `resident`).
    let (router_built, router_ready) = tokio::sync::oneshot::channel::<()>();
    let release_start_up_code = config.release_start_up_code.then(|| config.compile_cache_dir());
    let loading = {
        let (app, stopped) = (app.clone(), tasks_stopped.clone());
        tokio::spawn(async move {
            crate::plugins::load_all(&app).await;
            app.health.plugins_loaded();
            let watcher = crate::plugins::watcher::spawn(app, stopped);
            let _ = router_ready.await;
            crate::heap::after_start_up();
            if let Some(compiled_plugins) = release_start_up_code {
                // Walking the mappings' pages takes a few milliseconds: not on an async worker.
                tokio::task::spawn_blocking(move || crate::resident::release_start_up_code(&compiled_plugins));
            }
            watcher
        })
    };
    let worker = tokio::spawn(crate::outbox::run(app.clone(), tasks_stopped.clone()));
    // Files nothing names any more (deleted while the server was down, or by a crash).
    app.media.sweep().await;
    let sweeper = tokio::spawn(crate::media::sweep_while_serving(app.media.clone(), tasks_stopped.clone()));
    let fetcher = tokio::spawn(crate::media_fetch::run(app.clone(), tasks_stopped.clone()));
    let event_webhooks = tokio::spawn(crate::event_webhooks::run(app.clone(), tasks_stopped.clone()));
    let mail = match smtp {
        Some(smtp) => {
            let smtp_addr = smtp.local_addr()?;
            match app.inbound_domain.as_deref() {
                Some(domain) => tracing::info!(%smtp_addr, domain, "receiving mail by SMTP"),
                None => tracing::warn!(%smtp_addr, "SMTP listener without an inbound domain (--inbound-domain): it refuses every recipient"),
            }
            Some(tokio::spawn(crate::mail::listener::run(app.clone(), smtp, tasks_stopped.clone())))
        }
        None => None,
    };
    first_start(&app).await?;
    tracing::info!(%local_addr, public_url = %app.public_url, "serving; admin pages at http://{local_addr}/");
    // Live streams (open widget pages) end when shutdown starts, or the graceful shutdown
    // would wait for them forever.
    let closing = app.clone();
    let shutdown = async move {
        shutdown.await;
        closing.live.close();
    };
    // The peer address is kept for per-client limits (see `api::webchat`).
    let router = crate::api::router(app);
    let _ = router_built.send(());
    let result = crate::http_listener::serve(http, router, shutdown).await;
    let _ = stop_tasks.send(true);
    let _ = worker.await;
    let _ = fetcher.await;
    let _ = sweeper.await;
    let _ = event_webhooks.await;
    match loading.await {
        Ok(Ok(watcher)) => {
            let _ = watcher.await;
        }
        Ok(Err(error)) => tracing::error!("the plugins folder was not watched: {error:#}"),
        Err(error) => tracing::error!("loading plugins stopped: {error}"),
    }
    if let Some(mail) = mail {
        let _ = mail.await;
    }
    result.map_err(Into::into)
}

/// First start: the operator's account, with a one-time link to set its password. The link
/// goes to standard output only, never to the log. Nodes starting together on one database
/// race here: the username is unique, so one creates the account and the others find it.
async fn first_start(app: &App) -> anyhow::Result<()> {
    if app.store.token_count().await? > 0 || !app.store.people(None).await?.is_empty() {
        return Ok(());
    }
    let operator = match app.store.create_person(None, FIRST_OPERATOR, "Operator", crate::store::model::Role::Operator).await {
        Ok(operator) => operator,
        Err(e) if e.is_unique_violation() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let (token, _) = app.store.create_invitation(operator.id, crate::store::Scope::Every, crate::api::people::INVITATION_LIFETIME_MS, false).await?;
    println!("Set the operator's password (username `{FIRST_OPERATOR}`, link valid 72 hours, shown once): {}", crate::api::people::invitation_url(app, &token));
    tracing::warn!("first start: a one-time setup link for the operator account was printed on standard output");
    Ok(())
}
