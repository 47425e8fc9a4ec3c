//! The channels last read, kept opened: every webhook, plugin call and send reads its channel,
//! and without this each read was a hop to a blocking thread (on Postgres a round trip), a query
//! and the decryption of the channel's settings and webhook secret (6 % of the server's CPU
//! under webhook load on SQLite).
//!
//! Whenever channels may have changed, a count moves and every kept channel is stale: the next
//! read goes to the database. A read keeps what it read only under the count of its start, so
//! a read that raced a change keeps nothing.
//! - SQLite's one node: its writer connection reports each row it changes in `channels` (an
//!   update hook: inserts, updates, deletes, those of a workspace's deletion included), and once
//!   that transaction has ended, committed or not, the count moves: after the commit and before
//!   the writer answers, so a caller told "changed" never reads the channel as it was.
//! - Postgres's nodes: a statement on `channels` announces itself at its commit (migration
//!   0015's trigger, `pg_notify`), and each node's listener (`pg::live`) moves the count when it
//!   hears it. This node's own writes move it themselves after their commit, so a caller here
//!   never waits for the notice. Another node's change reaches this node with its notice
//!   (milliseconds): a read in between sees the channel as a read made just before that commit
//!   would. Kept channels are served only while a listener hears the notices: none before the
//!   first has started, none after it was cut until another has.
//!
//! The settings kept are the ones a call gets anyway; they are never written out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::Scope;
use super::model::Channel;

/// A backend that keeps the channels it read, opened, and hears when they change (both do):
/// what `ChannelStore::channel` asks first.
pub(crate) trait KeepsChannels {
    fn channel_cache(&self) -> &ChannelCache;
}

/// More than any one node serves; past it the kept channels are dropped and kept again as read.
const MOST_KEPT: usize = 10_000;

#[derive(Default)]
pub(crate) struct ChannelCache {
    /// Moves once after each transaction that changed `channels`: what was kept under an
    /// earlier count is stale.
    changes: AtomicU64,
    /// The writer's open transaction changed `channels` (set by the update hook).
    changed_now: Arc<AtomicBool>,
    /// Kept channels are served only while one of `listeners` hears the other nodes' changes
    /// (Postgres); SQLite's one node has no other node.
    needs_listener: bool,
    listeners: AtomicUsize,
    kept: Mutex<HashMap<String, (u64, Channel)>>,
}

impl ChannelCache {
    /// For a node that hears of other nodes' changes only through listeners ([`Self::listening`]).
    pub(crate) fn heard_through_listeners() -> Self {
        Self { needs_listener: true, ..Self::default() }
    }

    /// Channels may have changed: every kept one is stale.
    pub(crate) fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// A listener hears every change from now on: kept channels may be served again (what was
    /// kept before is stale: changes may have gone unheard).
    pub(crate) fn listening(&self) {
        self.listeners.fetch_add(1, Ordering::AcqRel);
        self.changed();
    }

    /// A listener that [`Self::listening`] announced was cut.
    pub(crate) fn not_listening(&self) {
        self.listeners.fetch_sub(1, Ordering::AcqRel);
        self.changed();
    }

    fn serving(&self) -> bool {
        !self.needs_listener || self.listeners.load(Ordering::Acquire) > 0
    }

    /// Hears of every change `conn` (the writer's connection) makes to `channels`.
    pub(crate) fn watch(&self, conn: &Connection) {
        let changed_now = self.changed_now.clone();
        conn.update_hook(Some(move |_, _: &str, table: &str, _| {
            if table == "channels" {
                changed_now.store(true, Ordering::Release);
            }
        }));
    }

    /// The writer connection's transaction (or statement) ended: if it changed a channel, every
    /// kept channel is stale. Called by whoever holds that connection, before it lets go.
    pub(crate) fn transaction_ended(&self) {
        if self.changed_now.swap(false, Ordering::AcqRel) {
            self.changed();
        }
    }

    /// The count a read starts under; give it to [`ChannelCache::keep`] with what it read.
    pub(crate) fn count(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// The channel as last read, if nothing changed since; `Some(None)` when it lies outside `scope`
    /// (as the query would answer), `None` when it must be read.
    pub(crate) fn get(&self, id: &str, scope: Scope) -> Option<Option<Channel>> {
        if !self.serving() {
            return None;
        }
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let (count, channel) = kept.get(id)?;
        if *count != self.count() {
            return None;
        }
        // A bot's scope asks which channels it is the bot of: the database knows.
        if scope.bot().is_some() {
            return None;
        }
        Some(scope.workspace().is_none_or(|workspace| workspace == channel.workspace_id).then(|| channel.clone()))
    }

    /// Keeps `channel`, read under `count`, unless channels changed since.
    pub(crate) fn keep(&self, count: u64, channel: &Channel) {
        if count != self.count() || !self.serving() {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= MOST_KEPT {
            kept.clear();
        }
        kept.insert(channel.id.clone(), (count, channel.clone()));
    }
}

#[cfg(test)]
mod tests {
    use crate::store::backend::{ChannelStore, PeopleStore};
    use crate::store::model::{Channel, SettingValue};
    use crate::store::{Db, Scope, block_on};

    fn token_setting(value: &str) -> [SettingValue<'_>; 1] {
        [SettingValue { key: "bot_token", value, secret: true }]
    }

    /// A store with a workspace of its own (deletable) and a channel in it, its token `one`.
    fn a_workspaces_channel() -> (tempfile::TempDir, Db, i64, Channel) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let workspace = block_on(db.create_workspace("Toko")).unwrap().id;
        let created = block_on(db.create_channel(workspace, "telegram", "Bot", &token_setting("one"))).unwrap();
        (dir, db, workspace, created)
    }

    #[test]
    fn a_kept_channel_is_read_again_after_every_kind_of_change() {
        let (_dir, db, workspace, created) = a_workspaces_channel();
        let read = |scope| block_on(db.channel(&created.id, scope)).unwrap();
        assert_eq!(read(Scope::Every).unwrap().settings["bot_token"], "one");
        assert!(db.channel_cache.get(&created.id, Scope::Every).is_some(), "the read channel is kept");

        // An update through the store.
        block_on(db.update_channel(&created.id, Scope::Every, "Bot", &token_setting("two"), None)).unwrap();
        assert_eq!(read(Scope::Every).unwrap().settings["bot_token"], "two");
        // A change the store makes in SQL of its own, on the writer's connection.
        db.conn().execute("UPDATE channels SET name = 'Renamed' WHERE id = ?1", [&created.id]).unwrap();
        assert_eq!(read(Scope::Every).unwrap().name, "Renamed");
        // Another workspace's scope sees nothing, kept or not.
        assert!(read(Scope::Workspace(workspace + 1)).is_none());
        assert!(read(Scope::Workspace(workspace)).is_some());
        // The workspace's deletion takes its channels with it.
        let torn_down = block_on(db.channel(&created.id, Scope::Every)).unwrap().unwrap();
        assert!(block_on(db.delete_workspace(workspace, &[(torn_down.id, torn_down.updated_at)], 0)).unwrap());
        assert!(read(Scope::Every).is_none(), "a deleted workspace's channel is still served");
    }

    #[test]
    fn a_read_that_ran_before_a_change_committed_keeps_nothing_stale() {
        let (_dir, db, _, created) = a_workspaces_channel();
        // A read starts, then a change commits before it keeps what it read.
        let count = db.channel_cache.count();
        let before = block_on(db.channel(&created.id, Scope::Every)).unwrap().unwrap();
        block_on(db.update_channel(&created.id, Scope::Every, "Bot", &token_setting("two"), None)).unwrap();
        db.channel_cache.keep(count, &before);
        assert_eq!(block_on(db.channel(&created.id, Scope::Every)).unwrap().unwrap().settings["bot_token"], "two");
    }
}
