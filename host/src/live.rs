//! What changed in conversations, as it happens, for whoever follows live: the inbox pages (a
//! workspace's stream) and the website chat's open pages (one visitor's conversation).
//!
//! Events name what changed (ids only); followers read the content through the store with
//! their own rights. Each event has an id `<boot>-<seq>`; the last [`BACKLOG`] events are kept
//! in memory, so a follower that reconnects with its last id gets what it missed. When that is
//! not possible (another process since, or it fell further behind) it is told to start from a
//! fresh snapshot instead ([`Resume::Snapshot`]): nothing is missed silently.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::{broadcast, watch};

use crate::store::model::Message;

/// Events kept for followers that reconnect, and that a slow follower may fall behind by.
const BACKLOG: usize = 4096;

/// What kind of change an event announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A message was stored: an inbound one, or an outbound one queued by an agent.
    Message,
    /// An outbound message's delivery changed (sent, delivered, read, failed, retrying).
    Status,
    /// The conversation itself changed: assigned, resolved or reopened.
    Conversation,
    /// A message's attachment was downloaded (or its download failed for good).
    Media,
    /// Changes were missed (this node's database listener was cut): every follower starts
    /// again from a fresh snapshot, as when it falls behind the backlog.
    Reset,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Status => "status",
            Self::Conversation => "conversation",
            Self::Media => "media",
            Self::Reset => "reset",
        }
    }

    /// The change a name stands for (as another node announced it).
    pub fn named(name: &str) -> Option<Self> {
        [Self::Message, Self::Status, Self::Conversation, Self::Media, Self::Reset].into_iter().find(|change| change.name() == name)
    }
}

#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub seq: u64,
    pub change: Change,
    pub channel_id: String,
    pub conversation_id: i64,
    /// The message concerned (`None` for a conversation change, or a status change of many).
    pub message_id: Option<i64>,
}

/// Where a follower starts.
pub enum Resume {
    /// The events after its last one, to send before the live ones.
    Replay(Vec<LiveEvent>),
    /// Its last event is no longer known: re-read everything, then follow.
    Snapshot,
}

pub struct Live {
    /// Differs per process, so an id from before a restart is never taken for a current one.
    boot: String,
    /// On Postgres every change, this node's own too, arrives through the database's
    /// notices (`live_relay`), in commit order: the announcements made after a store are
    /// then skipped, or each change would reach this node's followers twice.
    relayed: bool,
    backlog: Mutex<Backlog>,
    events: broadcast::Sender<LiveEvent>,
    closing: watch::Sender<bool>,
}

#[derive(Default)]
struct Backlog {
    last_seq: u64,
    events: VecDeque<LiveEvent>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            boot: format!("{:x}", rand::random::<u32>()),
            relayed: false,
            backlog: Mutex::default(),
            events: broadcast::channel(BACKLOG).0,
            closing: watch::channel(false).0,
        }
    }
}

impl Live {
    /// A hub fed only by [`Live::heard`] (a node on Postgres).
    pub fn relayed() -> Self {
        Self { relayed: true, ..Self::default() }
    }

    /// A message was stored (inbound) or queued (outbound).
    pub fn message(&self, message: &Message) {
        self.local(Change::Message, &message.channel_id, message.conversation_id, Some(message.id));
    }

    /// A message's delivery status changed (`None`: several of the conversation's at once).
    pub fn status(&self, channel_id: &str, conversation_id: i64, message_id: Option<i64>) {
        self.local(Change::Status, channel_id, conversation_id, message_id);
    }

    /// An attachment of a message is stored, or failed for good.
    pub fn media(&self, channel_id: &str, conversation_id: i64, message_id: i64) {
        self.local(Change::Media, channel_id, conversation_id, Some(message_id));
    }

    pub fn conversation(&self, channel_id: &str, conversation_id: i64) {
        self.local(Change::Conversation, channel_id, conversation_id, None);
    }

    /// A change a node announced through the database (relayed by `live_relay`).
    pub fn heard(&self, change: Change, channel_id: &str, conversation_id: i64, message_id: Option<i64>) {
        self.publish(change, channel_id, conversation_id, message_id);
    }

    /// Changes were missed: every follower re-reads its snapshot.
    pub fn reset(&self) {
        self.publish(Change::Reset, "", 0, None);
    }

    /// A change this node made, unless the database announces it ([`Live::relayed`]).
    fn local(&self, change: Change, channel_id: &str, conversation_id: i64, message_id: Option<i64>) {
        if !self.relayed {
            self.publish(change, channel_id, conversation_id, message_id);
        }
    }

    fn publish(&self, change: Change, channel_id: &str, conversation_id: i64, message_id: Option<i64>) {
        let mut backlog = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
        backlog.last_seq += 1;
        let event = LiveEvent { seq: backlog.last_seq, change, channel_id: channel_id.to_owned(), conversation_id, message_id };
        if backlog.events.len() == BACKLOG {
            backlog.events.pop_front();
        }
        backlog.events.push_back(event.clone());
        // Sent under the lock, so followers see events in `seq` order. Nobody following is fine.
        let _ = self.events.send(event);
    }

    /// An event's id as followers see it (SSE `id:`).
    pub fn event_id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.boot)
    }

    /// Starts following after `last_id` (the id of the last event the follower saw; `None`: a
    /// new follower, which reads its snapshot itself). Returns where it resumes, the id of the
    /// newest event now (for a new follower's first resume point), and the live events after.
    pub fn follow(&self, last_id: Option<&str>) -> (Resume, String, broadcast::Receiver<LiveEvent>) {
        let backlog = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
        let receiver = self.events.subscribe();
        let now = self.event_id(backlog.last_seq);
        let resume = match last_id {
            None => Resume::Replay(Vec::new()),
            Some(id) => match self.seq_of(id) {
                Some(seq) if seq == backlog.last_seq => Resume::Replay(Vec::new()),
                // Known when the event right after it is still kept, and no reset came since.
                Some(seq)
                    if seq < backlog.last_seq
                        && backlog.events.front().is_some_and(|e| e.seq <= seq + 1)
                        && !backlog.events.iter().any(|e| e.seq > seq && e.change == Change::Reset) =>
                {
                    Resume::Replay(backlog.events.iter().filter(|e| e.seq > seq).cloned().collect())
                }
                _ => Resume::Snapshot,
            },
        };
        (resume, now, receiver)
    }

    /// The sequence number of an id of this process.
    fn seq_of(&self, id: &str) -> Option<u64> {
        let (boot, seq) = id.split_once('-')?;
        (boot == self.boot).then(|| seq.parse().ok()).flatten()
    }

    /// Just the live events (the website chat reads its own snapshot from the store).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }

    /// How many follow now (metrics).
    pub fn followers(&self) -> usize {
        self.events.receiver_count()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(resume: Resume) -> Option<Vec<u64>> {
        match resume {
            Resume::Replay(events) => Some(events.iter().map(|e| e.seq).collect()),
            Resume::Snapshot => None,
        }
    }

    #[test]
    fn a_follower_resumes_after_its_last_event_or_is_told_to_start_again() {
        let live = Live::default();
        live.conversation("ch", 1);
        let (_, first, _) = live.follow(None);
        live.conversation("ch", 2);
        live.status("ch", 2, Some(7));
        assert_eq!(seqs(live.follow(Some(&first)).0), Some(vec![2, 3]));
        assert_eq!(seqs(live.follow(Some(&live.event_id(3))).0), Some(vec![]));
        // Another process's id, a made-up one, one from the future: start from a snapshot.
        assert_eq!(seqs(live.follow(Some("ffff-1")).0), None);
        assert_eq!(seqs(live.follow(Some("nonsense")).0), None);
        assert_eq!(seqs(live.follow(Some(&live.event_id(9))).0), None);
    }

    #[test]
    fn a_follower_further_behind_than_the_backlog_starts_again() {
        let live = Live::default();
        for n in 0..(BACKLOG as i64 + 10) {
            live.conversation("ch", n);
        }
        assert_eq!(seqs(live.follow(Some(&live.event_id(5))).0), None);
        let recent = seqs(live.follow(Some(&live.event_id(20))).0).expect("still kept");
        assert_eq!(recent.first(), Some(&21));
        assert_eq!(recent.len(), BACKLOG - 10);
    }

    #[test]
    fn a_relayed_hub_publishes_what_the_database_announced_and_skips_its_own_announcements() {
        let live = Live::relayed();
        let mut events = live.subscribe();
        // What this node stored is announced by the database, and heard through the relay once.
        live.conversation("ch", 1);
        live.status("ch", 1, Some(7));
        live.media("ch", 1, 7);
        live.heard(Change::Status, "ch", 1, Some(7));
        let event = events.try_recv().expect("the relayed change");
        assert_eq!((event.change, event.seq, event.message_id), (Change::Status, 1, Some(7)));
        assert!(events.try_recv().is_err(), "nothing published twice");
        // A hub of its own (SQLite) publishes its announcements.
        let local = Live::default();
        let mut events = local.subscribe();
        local.conversation("ch", 1);
        assert_eq!(events.try_recv().expect("published").change, Change::Conversation);
    }
}
