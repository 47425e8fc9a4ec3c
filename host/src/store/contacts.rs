//! Contacts: the people behind conversations, per channel, by the provider's id.

use rusqlite::{Connection, params};

use super::{Db, StoreResult, now_ms, Cached};

/// A person as the provider describes them.
#[derive(Debug, Clone, Default)]
pub struct ContactInfo {
    pub external_id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
}

/// Inserts or refreshes a contact (known fields are kept when the provider omits them); returns its id.
pub(crate) fn upsert(tx: &Connection, channel_id: &str, contact: &ContactInfo) -> rusqlite::Result<i64> {
    tx.cached_row(
        "INSERT INTO contacts (channel_id, external_id, name, handle, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (channel_id, external_id) DO UPDATE SET
            name = COALESCE(excluded.name, contacts.name),
            handle = COALESCE(excluded.handle, contacts.handle),
            updated_at = excluded.updated_at
         RETURNING id",
        params![channel_id, contact.external_id, contact.name, contact.handle, now_ms()],
        |row| row.get(0),
    )
}

impl Db {
    pub fn upsert_contact(&self, channel_id: &str, contact: &ContactInfo) -> StoreResult<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = upsert(&tx, channel_id, contact)?;
        tx.commit()?;
        Ok(id)
    }
}
