//! The outbox: outbound messages waiting for delivery, with attempts and the next try time.

use rusqlite::params;

use super::{Db, StoreResult, now_ms};

#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub message_id: i64,
    pub channel_id: String,
    pub attempts: u32,
}

impl Db {
    /// Deliveries due now, oldest first.
    pub fn due_deliveries(&self, limit: u32) -> StoreResult<Vec<PendingDelivery>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT message_id, channel_id, attempts FROM outbox WHERE next_attempt_at <= ?1
             ORDER BY next_attempt_at, message_id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![now_ms(), limit], |row| {
            Ok(PendingDelivery { message_id: row.get(0)?, channel_id: row.get(1)?, attempts: row.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Messages waiting in the outbox, and when the oldest of them was queued (ms).
    pub fn outbox_summary(&self) -> StoreResult<(u64, Option<i64>)> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*), MIN(m.created_at) FROM outbox o JOIN messages m ON m.id = o.message_id",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?)
    }

    /// When the next delivery is due (ms), if any.
    pub fn next_delivery_at(&self) -> StoreResult<Option<i64>> {
        Ok(self.conn().query_row("SELECT MIN(next_attempt_at) FROM outbox", [], |row| row.get(0))?)
    }

    /// The provider accepted the message: record its id, leave the outbox.
    pub fn delivery_succeeded(&self, message_id: i64, provider_message_id: &str) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'sent' ELSE status END,
                provider_message_id = ?2, error = NULL, updated_at = ?3 WHERE id = ?1",
            params![message_id, provider_message_id, now_ms()],
        )?;
        tx.execute("DELETE FROM outbox WHERE message_id = ?1", [message_id])?;
        tx.commit()?;
        Ok(())
    }

    /// A passing failure: try again at `next_attempt_at`.
    pub fn delivery_retry(&self, message_id: i64, next_attempt_at: i64, error: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE message_id = ?1",
            params![message_id, next_attempt_at, error],
        )?;
        Ok(())
    }

    /// Not tried now and not counted as an attempt (its workspace is suspended): look again at
    /// `next_attempt_at`.
    pub fn delivery_held(&self, message_id: i64, next_attempt_at: i64, reason: &str) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE outbox SET next_attempt_at = ?2, last_error = ?3 WHERE message_id = ?1",
            params![message_id, next_attempt_at, reason],
        )?;
        Ok(())
    }

    /// A permanent failure: the message is marked failed with the reason and leaves the outbox.
    pub fn delivery_failed(&self, message_id: i64, error: &str) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("UPDATE messages SET status = 'failed', error = ?2, updated_at = ?3 WHERE id = ?1", params![message_id, error, now_ms()])?;
        tx.execute("DELETE FROM outbox WHERE message_id = ?1", [message_id])?;
        tx.commit()?;
        Ok(())
    }
}
