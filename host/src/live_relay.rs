//! Live across nodes: what any node announces through Postgres (`pg_notify` in the transaction
//! that made the change, `store::pg::live`) reaches this node's [`Live`] hub, and through it
//! this node's followers (inbox pages, website chat pages). When the listening connection is
//! cut, changes made meanwhile cannot be replayed: the hub publishes a reset (every follower
//! re-reads its snapshot) and the relay listens again.

use std::time::Duration;

use crate::live::{Change, Live};
use crate::store::pg::PgStore;
use crate::store::pg::live::Notice;

/// How long the relay waits before listening again after its connection failed.
const RELISTEN: Duration = Duration::from_millis(500);

/// Relays notices until `live` closes. `plugins` is told of each plugin installed or removed
/// through any node ([`Notice::Installed`], [`Notice::Removed`]), to load or drop it.
pub async fn relay(store: &PgStore, live: &Live, plugins: impl Fn(Notice)) {
    let mut cut = false;
    loop {
        match store.listen().await {
            Ok(mut notices) => {
                if cut {
                    // Listening again: what was announced in between is unknown.
                    live.reset();
                }
                loop {
                    let notice = tokio::select! {
                        notice = notices.recv() => notice,
                        _ = live.closed() => return,
                    };
                    match notice {
                        Some(Notice::Change { change, channel_id, conversation_id, message_id }) => match Change::named(&change) {
                            Some(change) => live.heard(change, &channel_id, conversation_id, message_id),
                            None => tracing::warn!(change, "a live notice of an unknown kind was ignored"),
                        },
                        Some(notice @ (Notice::Installed { .. } | Notice::Removed { .. })) => plugins(notice),
                        Some(Notice::Lost) | None => {
                            live.reset();
                            cut = true;
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for other nodes' changes: {e}");
                cut = true;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RELISTEN) => {}
            _ = live.closed() => return,
        }
    }
}
