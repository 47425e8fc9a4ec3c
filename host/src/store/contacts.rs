//! Contacts: the people behind conversations, per channel, by the provider's id.

use rusqlite::Connection;

use super::now_ms;
use super::row::numbered;
use super::model::ContactInfo;

/// Inserts or refreshes a contact (known fields are kept when the provider omits them): `$1`
/// channel, `$2` external id, `$3` name, `$4` handle, `$5` now. A macro, so that `concat!`
/// takes it.
macro_rules! upsert_contact {
    () => {
        "INSERT INTO contacts (channel_id, external_id, name, handle, updated_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (channel_id, external_id) DO UPDATE SET
        name = COALESCE(excluded.name, contacts.name),
        handle = COALESCE(excluded.handle, contacts.handle),
        updated_at = excluded.updated_at"
    };
}

/// [`upsert_contact!`], returning the contact's id.
pub(crate) const UPSERT_CONTACT: &str = concat!(upsert_contact!(), "\n    RETURNING id");

/// [`upsert_contact!`] inside SQLite's transaction, then the contact's id read by its key: on
/// the webhook path's hot loop, not by `RETURNING`, which SQLite buffers in a temporary table
/// (see `messages::record_inbound_in`).
pub(crate) fn upsert(tx: &Connection, channel_id: &str, contact: &ContactInfo) -> rusqlite::Result<i64> {
    tx.prepare_cached(upsert_contact!())?.execute(&*numbered(&[&channel_id, &contact.external_id, &contact.name, &contact.handle, &now_ms()]))?;
    tx.prepare_cached("SELECT id FROM contacts WHERE channel_id = $1 AND external_id = $2")?
        .query_row(&*numbered(&[&channel_id, &contact.external_id]), |row| row.get(0))
}
