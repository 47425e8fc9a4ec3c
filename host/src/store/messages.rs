//! Messages, inbound and outbound, with delivery status. Inbound is unique per channel and
//! provider id, so a redelivered webhook is stored once.

use rusqlite::{Connection, OptionalExtension, params};

use super::contacts;
use super::model::{DeliveryStatus, Message, MessageContent, NewInbound};
use super::conversations;
use super::row::ReadRow;
use super::sql::Sql;
use super::{Cached, StoreError, StoreResult, now_ms};

/// The columns [`read_message`] reads, in its order (the same in both dialects).
pub(crate) const COLUMNS: &str = "id, conversation_id, channel_id, direction, provider_message_id, contact_id, text, content, properties,
    reply_to, status, error, provider_timestamp, created_at, updated_at";

/// A message read from [`COLUMNS`]; a status this build does not know is unreadable data.
pub(crate) fn read_message(row: &impl ReadRow) -> StoreResult<Message> {
    let status = row.text(10);
    Ok(Message {
        id: row.int(0),
        conversation_id: row.int(1),
        channel_id: row.text(2),
        direction: row.text(3),
        provider_message_id: row.opt_text(4),
        contact_id: row.opt_int(5),
        text: row.opt_text(6),
        content: MessageContent::from_json(&row.text(7)),
        properties: serde_json::from_str(&row.text(8)).unwrap_or_default(),
        reply_to: row.opt_text(9),
        status: DeliveryStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unknown message status `{status}`")))?,
        error: row.opt_text(11),
        provider_timestamp: row.opt_int(12),
        created_at: row.int(13),
        updated_at: row.int(14),
    })
}

/// A reply's message row (text, content, reply-to, time, sender), stored only if its
/// conversation `$6` is the channel `$7`'s and the channel is in the scope `$8` (NULL: every
/// workspace), for a bot `$9` one of its channels: the reply path's boundary, in its first insert.
pub(crate) fn insert_reply_sql() -> String {
    format!(
        "INSERT INTO messages (conversation_id, channel_id, direction, text, content, reply_to, status, created_at, updated_at, sent_by)
         SELECT c.id, c.channel_id, 'outbound', CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), 'queued', CAST($4 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT)
         FROM conversations c JOIN channels ch ON ch.id = c.channel_id
         WHERE c.id = $6 AND c.channel_id = $7 AND ch.workspace_id = COALESCE($8, ch.workspace_id) AND {}",
        super::channels::of_bot("ch.id", 9)
    )
}

/// Stores an inbound message with its contact and conversation, inside the writer's transaction
/// (the group commit's savepoint makes it all or nothing). `None`: the provider id was already
/// stored (a redelivery), and nothing changed.
pub(crate) fn record_inbound_in(tx: &Connection, channel_id: &str, inbound: &NewInbound) -> StoreResult<Option<Message>> {
    // A redelivery changes nothing, not its contact nor its conversation: looked for first, on
    // the unique index. The one writer holds the database, so nothing stores it between this
    // look and the insert.
    let known = tx
        .cached_row(
            "SELECT 1 FROM messages WHERE channel_id = ?1 AND direction = 'inbound' AND provider_message_id = ?2",
            params![channel_id, inbound.provider_message_id],
            |_| Ok(()),
        )
        .optional()?;
    if known.is_some() {
        return Ok(None);
    }
    let contact_id = contacts::upsert(tx, channel_id, &inbound.sender)?;
    let now = now_ms();
    // The window counts from the provider's time, but never from later than we received it:
    // a clock ahead of ours must not stretch the window.
    let conversation_id = conversations::upsert_inbound(
        tx,
        channel_id,
        &inbound.conversation_external_id,
        inbound.conversation_name.as_deref(),
        contact_id,
        inbound.provider_timestamp.min(now),
    )?;
    // The message is built from what this insert writes ([`stored_inbound`]), not read back,
    // which parsed its content and properties again. Callgrind,
    // instructions per message: 375k against 388k one at a time, 208k against 220k with 64 at
    // once. The contact's and conversation's ids are read by key, not by `RETURNING`, which
    // SQLite buffers in a temporary table of its own (a b-tree opened, a page zeroed): see
    // README "Benchmarks", 2026-11-28, night.
    const INSERT: &str = "INSERT INTO messages (conversation_id, channel_id, direction, provider_message_id, contact_id, text, content,
            properties, reply_to, status, provider_timestamp, created_at, updated_at)
         VALUES (?1, ?2, 'inbound', ?3, ?4, ?5, ?6, ?7, ?8, 'received', ?9, ?10, ?10)";
    tx.cached_execute(
        INSERT,
        params![
            conversation_id,
            channel_id,
            inbound.provider_message_id,
            contact_id,
            inbound.text,
            inbound.content.to_json(),
            serde_json::to_string(&inbound.properties).expect("pairs serialize"),
            inbound.reply_to,
            inbound.provider_timestamp,
            now
        ],
    )?;
    Ok(Some(stored_inbound(tx.last_insert_rowid(), conversation_id, channel_id, Some(contact_id), inbound, now)))
}

/// A customer's message as its insert stored it (at `now`, with the ids the insert gave it), for
/// the backends that build it from what they wrote instead of reading it back: no trigger
/// changes a message's row, and its content and properties parse back exactly (a place's
/// coordinates are finite, and the host's serde_json parses floats exactly).
pub(crate) fn stored_inbound(id: i64, conversation_id: i64, channel_id: &str, contact_id: Option<i64>, inbound: &NewInbound, now: i64) -> Message {
    Message {
        id,
        conversation_id,
        channel_id: channel_id.to_owned(),
        direction: "inbound".into(),
        provider_message_id: Some(inbound.provider_message_id.clone()),
        contact_id,
        text: inbound.text.clone(),
        content: inbound.content.clone(),
        properties: inbound.properties.clone(),
        reply_to: inbound.reply_to.clone(),
        status: DeliveryStatus::Received,
        error: None,
        provider_timestamp: Some(inbound.provider_timestamp),
        created_at: now,
        updated_at: now,
    }
}

pub(crate) async fn message_in(sql: &dyn Sql, id: i64) -> StoreResult<Option<Message>> {
    sql.row(&format!("SELECT {COLUMNS} FROM messages WHERE id = $1"), &[&id]).await?.as_ref().map(read_message).transpose()
}

/// The customer's most recent message in a conversation, by provider time (a message without
/// one last, as SQLite sorts NULL lowest).
pub(crate) async fn last_inbound_in(sql: &dyn Sql, conversation_id: i64) -> StoreResult<Option<Message>> {
    let last = format!(
        "SELECT {COLUMNS} FROM messages WHERE conversation_id = $1 AND direction = 'inbound'
         ORDER BY provider_timestamp DESC NULLS LAST, id DESC LIMIT 1"
    );
    sql.row(&last, &[&conversation_id]).await?.as_ref().map(read_message).transpose()
}
