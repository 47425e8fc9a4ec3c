//! Contacts: the people behind conversations, per channel, by the provider's id.

use rusqlite::Connection;

use super::now_ms;
use super::row::numbered;
use super::model::ContactInfo;

/// Inserts or refreshes a contact (known fields are kept when the provider omits them),
/// returning its id: `$1` channel, `$2` external id, `$3` name, `$4` handle, `$5` now.
pub(crate) const UPSERT_CONTACT: &str = "INSERT INTO contacts (channel_id, external_id, name, handle, updated_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (channel_id, external_id) DO UPDATE SET
        name = COALESCE(excluded.name, contacts.name),
        handle = COALESCE(excluded.handle, contacts.handle),
        updated_at = excluded.updated_at
    RETURNING id";

/// [`UPSERT_CONTACT`] inside SQLite's transaction; the contact's id.
pub(crate) fn upsert(tx: &Connection, channel_id: &str, contact: &ContactInfo) -> rusqlite::Result<i64> {
    tx.prepare_cached(UPSERT_CONTACT)?.query_row(&*numbered(&[&channel_id, &contact.external_id, &contact.name, &contact.handle, &now_ms()]), |row| row.get(0))
}
