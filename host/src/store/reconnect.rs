//! Channels that need reconnecting: their provider refused the stored credentials (a revoked
//! or expired token). Marked by the outbox when a send is refused as unauthorized, cleared by
//! a successful connect.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Db, StoreResult, now_ms, Cached};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconnect {
    /// The provider's words.
    pub reason: String,
    /// When the credentials were first refused (ms).
    pub since: i64,
}

impl Db {
    /// Marks the channel; a later refusal updates the reason and keeps the first time.
    pub fn mark_needs_reconnect(&self, channel_id: &str, reason: &str) -> StoreResult<()> {
        self.conn().cached_execute(
            "INSERT INTO channel_reconnect (channel_id, reason, since) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel_id) DO UPDATE SET reason = excluded.reason",
            params![channel_id, reason, now_ms()],
        )?;
        Ok(())
    }

    pub fn clear_needs_reconnect(&self, channel_id: &str) -> StoreResult<()> {
        self.conn().cached_execute("DELETE FROM channel_reconnect WHERE channel_id = ?1", [channel_id])?;
        Ok(())
    }

    pub fn needs_reconnect(&self, channel_id: &str) -> StoreResult<Option<Reconnect>> {
        Ok(self
            .reader()
            .cached_row("SELECT reason, since FROM channel_reconnect WHERE channel_id = ?1", [channel_id], |row| {
                Ok(Reconnect { reason: row.get(0)?, since: row.get(1)? })
            })
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::backend::ChannelStore;
    use crate::store::block_on;
    use super::*;
    use crate::store::channels::SettingValue;

    #[test]
    fn marked_until_cleared_keeping_the_first_time_and_gone_with_the_channel() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = block_on(db.create_channel(1, "messenger", "Toko", &[SettingValue { key: "page_id", value: "1", secret: false }])).unwrap();
        assert_eq!(db.needs_reconnect(&channel.id).unwrap(), None);
        db.mark_needs_reconnect(&channel.id, "token revoked").unwrap();
        let first = db.needs_reconnect(&channel.id).unwrap().unwrap();
        db.mark_needs_reconnect(&channel.id, "token expired").unwrap();
        let again = db.needs_reconnect(&channel.id).unwrap().unwrap();
        assert_eq!((again.reason.as_str(), again.since), ("token expired", first.since));
        db.clear_needs_reconnect(&channel.id).unwrap();
        assert_eq!(db.needs_reconnect(&channel.id).unwrap(), None);
        db.mark_needs_reconnect(&channel.id, "token revoked").unwrap();
        block_on(db.delete_channel(&channel.id)).unwrap();
        assert_eq!(db.needs_reconnect(&channel.id).unwrap(), None);
    }
}
