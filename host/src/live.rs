//! Messages as they are stored or delivered, for whoever follows a conversation live (the
//! website chat's open pages). In memory: a follower that connects later reads the store.

use tokio::sync::{broadcast, watch};

use crate::store::messages::Message;

/// Events a slow follower may fall behind by before it must re-read the store.
const BACKLOG: usize = 1024;

/// A message a follower may want to show: an inbound one stored, an outbound one sent.
#[derive(Debug, Clone)]
pub struct MessageEvent {
    pub channel_id: String,
    pub conversation_id: i64,
    pub message_id: i64,
}

pub struct Live {
    events: broadcast::Sender<MessageEvent>,
    closing: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Self { events: broadcast::channel(BACKLOG).0, closing: watch::channel(false).0 }
    }
}

impl Live {
    pub fn publish(&self, message: &Message) {
        // Nobody following is fine.
        let _ = self.events.send(MessageEvent {
            channel_id: message.channel_id.clone(),
            conversation_id: message.conversation_id,
            message_id: message.id,
        });
    }

    /// How many follow now (metrics).
    pub fn followers(&self) -> usize {
        self.events.receiver_count()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<MessageEvent> {
        self.events.subscribe()
    }

    /// The server is shutting down: followers should end their streams.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes once [`Live::close`] was called.
    pub async fn closed(&self) {
        let mut closing = self.closing.subscribe();
        let _ = closing.wait_for(|closed| *closed).await;
    }
}
