//! Live fan-out across nodes: a change is announced with `pg_notify` inside the transaction that
//! makes it (so a rollback announces nothing), and every node listens on its own connection.
//! A node that loses its listener hears [`Notice::Lost`]: what it missed cannot be replayed, so
//! its followers are told to start from a fresh snapshot, as after a backlog gap on one node.
//! The same connection hears changes to `channels` (migration 0015's trigger): they make the
//! node's kept channels stale, and kept channels are served only while a listener hears
//! (`store::channel_cache`).

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::PgStore;
use crate::store::channel_cache::ChannelCache;

/// The channel every node listens on.
pub(super) const CHANNEL: &str = "switchboard_live";
/// The channel plugin installs are announced on (payload: `plugin@version`; a removal: `plugin@`).
pub(super) const PLUGINS_CHANNEL: &str = "switchboard_plugins";
/// The channel a change to `channels` is announced on (migration 0015's trigger; no payload):
/// the node's kept channels are stale (`store::channel_cache`).
const CHANNELS_CHANNEL: &str = "switchboard_channels";

/// What a node hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A committed change, as the live hub names it (`message`, `status`, `conversation`, `media`).
    Change { change: String, channel_id: String, conversation_id: i64, message_id: Option<i64> },
    /// A plugin version was installed (on any node): load it.
    Installed { plugin: String, version: String },
    /// A plugin was removed (on any node): drop it.
    Removed { plugin: String },
    /// The listening connection ended: changes since then were not heard.
    Lost,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    change: String,
    channel_id: String,
    conversation_id: i64,
    message_id: Option<i64>,
}

/// The `pg_notify` payload of a change (ids only; listeners read the rest with their own rights).
/// An inbound message's is built in its SQL, as the same JSON (`messages::record_inbound_in`).
pub(super) fn payload(change: &str, channel_id: &str, conversation_id: i64, message_id: Option<i64>) -> String {
    serde_json::to_string(&Payload { change: change.into(), channel_id: channel_id.into(), conversation_id, message_id }).expect("ids serialize")
}

/// An announcement to every node: `$1` the channel listened on, `$2` the payload.
pub(super) const NOTIFY: &str = "SELECT pg_notify($1, $2)";

/// Announces a change to every node once (and only if) the transaction commits, in a body
/// written for both backends: on Postgres only (SQLite's one node has no other node to tell; its
/// callers announce to their own inbox after the write).
pub(crate) async fn announce_in(sql: &dyn crate::store::sql::Sql, change: &str, channel_id: &str, conversation_id: i64, message_id: Option<i64>) -> crate::store::StoreResult<()> {
    if sql.is_postgres() {
        sql.execute(NOTIFY, &[&CHANNEL, &payload(change, channel_id, conversation_id, message_id)]).await?;
    }
    Ok(())
}

fn notice(channel: &str, payload: &str) -> Option<Notice> {
    if channel == PLUGINS_CHANNEL {
        let (plugin, version) = payload.rsplit_once('@')?;
        if version.is_empty() {
            return Some(Notice::Removed { plugin: plugin.into() });
        }
        return Some(Notice::Installed { plugin: plugin.into(), version: version.into() });
    }
    let p = serde_json::from_str::<Payload>(payload).ok()?;
    Some(Notice::Change { change: p.change, channel_id: p.channel_id, conversation_id: p.conversation_id, message_id: p.message_id })
}

impl PgStore {
    /// Listens for every node's changes and plugin installs on a connection of its own (not the
    /// pool's).
    pub async fn listen(&self) -> anyhow::Result<mpsc::UnboundedReceiver<Notice>> {
        let (client, mut connection) = self.config.connect(tokio_postgres::NoTls).await.map_err(|e| anyhow::anyhow!("cannot listen on Postgres: {e}"))?;
        let (notices, heard) = mpsc::unbounded_channel();
        let node = self.node.clone();
        // The connection's messages (notifications among them) come only while it is polled.
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        let forward = notices.clone();
        let listening = Arc::new(Listening { state: Mutex::new(ListenerState::Starting), cache: self.channel_cache.clone() });
        let ended = listening.clone();
        tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(notification)) if notification.channel() == CHANNELS_CHANNEL => ended.cache.changed(),
                    Ok(AsyncMessage::Notification(notification)) => match notice(notification.channel(), notification.payload()) {
                        Some(notice) => {
                            if forward.send(notice).is_err() {
                                break; // nobody listens any more
                            }
                        }
                        None => tracing::warn!(%node, channel = notification.channel(), "an unreadable notice was ignored"),
                    },
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(%node, "the live listener's connection failed: {e}");
                        break;
                    }
                }
            }
            ended.ended();
            let _ = forward.send(Notice::Lost);
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {PLUGINS_CHANNEL}; LISTEN {CHANNELS_CHANNEL}")).await?;
        listening.started();
        // The client must outlive the LISTEN: it goes with the forwarding task's channel.
        tokio::spawn(async move {
            notices.closed().await;
            drop(client);
        });
        Ok(heard)
    }
}

/// One listener's part in serving kept channels: from its `LISTEN` until its connection ends,
/// whichever order the two are seen in.
struct Listening {
    state: Mutex<ListenerState>,
    cache: Arc<ChannelCache>,
}

#[derive(PartialEq)]
enum ListenerState {
    Starting,
    Listening,
    Ended,
}

impl Listening {
    fn started(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if *state == ListenerState::Starting {
            *state = ListenerState::Listening;
            self.cache.listening();
        }
    }

    fn ended(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if *state == ListenerState::Listening {
            self.cache.not_listening();
        }
        *state = ListenerState::Ended;
    }
}
