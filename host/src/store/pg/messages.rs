//! Inbound messages over Postgres: any node stores a webhook's message; the unique key on
//! (channel, direction, provider id) decides across nodes, so a redelivery to another node, or
//! the same update sent to every node at once, is stored exactly once.

use deadpool_postgres::GenericClient;

use crate::store::contacts::UPSERT_CONTACT;
use crate::store::model::{Message, NewInbound};
use crate::store::{StoreResult, now_ms};

use crate::store::messages::stored_inbound;

/// What a customer's messages do to their conversation when it is stored already, in both
/// statements that store them: the name and contact given fill in; a new message (one that is
/// not a redelivery: the proposed row's `last_inbound_at` is its provider time, none for a
/// redelivery) touches it, moves its window forward and reopens it when resolved (to its
/// channel's bot, if it has one).
static TOUCHED_BY_INBOUND: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let bot_or_open = crate::store::conversations::bot_or_open("conversations.channel_id", true);
    format!(
        "ON CONFLICT (channel_id, external_id) DO UPDATE SET
            name = COALESCE(excluded.name, conversations.name),
            contact_id = COALESCE(conversations.contact_id, excluded.contact_id),
            last_activity_at = CASE WHEN excluded.last_inbound_at IS NOT NULL
                THEN excluded.last_activity_at ELSE conversations.last_activity_at END,
            status = CASE WHEN conversations.status = 'resolved' AND excluded.last_inbound_at IS NOT NULL
                THEN {bot_or_open} ELSE conversations.status END,
            last_inbound_at = GREATEST(conversations.last_inbound_at, excluded.last_inbound_at)"
    )
});

/// A customer's message of a webhook's events (`MessageStore::record_events`), inside their
/// transaction: one statement (a round trip and a plan per message, not four). Contact, conversation, message:
/// always in this order, so concurrent webhooks of one conversation wait for each other instead
/// of deadlocking. A redelivery (its provider id stored already, by this node or another)
/// stores nothing, leaves the conversation as it was and announces nothing; a new message
/// opens its conversation, whose window counts from the provider's time (never later than we
/// received it), and is announced to every node once (and only if) the transaction commits.
/// Only new messages move a window: a redelivery whose conversation is not stored (its message
/// is in another of the channel's conversations) opens it without one, as storing it with
/// others does ([`record_inbounds_in`]).
///
/// `is_new` is read from the statement's snapshot: when two nodes take the same message at the
/// same moment, both see it new and both open and touch the conversation, but only one inserts
/// the message (the other waits on its unique key, then does nothing). That is what the first
/// does anyway, so the duplicate changes nothing a person sees; a redelivery that comes after
/// the first committed sees the message and leaves the conversation alone (resolved stays so).
pub(super) async fn record_inbound_in<C: GenericClient>(tx: &C, channel_id: &str, inbound: &NewInbound) -> StoreResult<Option<Message>> {
    // Written once (every inbound message runs it).
    static RECORD_INBOUND: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let bot_or_open = crate::store::conversations::bot_or_open("$1", true);
        let touched = &*TOUCHED_BY_INBOUND;
        format!(
            "WITH contact AS ({UPSERT_CONTACT}),
             is_new AS (
                SELECT NOT EXISTS (SELECT 1 FROM messages WHERE channel_id = $1 AND direction = 'inbound' AND provider_message_id = $6) AS yes),
             conversation AS (
                INSERT INTO conversations (channel_id, external_id, contact_id, name, last_activity_at, created_at, last_inbound_at, status)
                SELECT $1, $7, contact.id, $8, $5, $5, CASE WHEN (SELECT yes FROM is_new) THEN LEAST($9, $5) END, {bot_or_open} FROM contact
                {touched}
                RETURNING id),
             message AS (
                INSERT INTO messages (conversation_id, channel_id, direction, provider_message_id, contact_id, text, content,
                    properties, reply_to, status, provider_timestamp, created_at, updated_at)
                SELECT conversation.id, $1, 'inbound', $6, contact.id, $10, $11, $12, $13, 'received', $9, $5, $5 FROM conversation, contact
                ON CONFLICT DO NOTHING
                RETURNING id, conversation_id, contact_id)
             SELECT id, conversation_id, contact_id, pg_notify($14::text, json_build_object(
                'change', 'message', 'channel_id', $1::text, 'conversation_id', conversation_id, 'message_id', id)::text)
             FROM message"
        )
    });
    let statement = tx
        .prepare_cached(&RECORD_INBOUND)
        .await?;
    let sender = &inbound.sender;
    let properties = serde_json::to_string(&inbound.properties).expect("pairs serialize");
    let now = now_ms();
    let row = tx
        .query_opt(
            &statement,
            &[
                &channel_id,
                &sender.external_id,
                &sender.name,
                &sender.handle,
                &now,
                &inbound.provider_message_id,
                &inbound.conversation_external_id,
                &inbound.conversation_name,
                &inbound.provider_timestamp,
                &inbound.text,
                &inbound.content.to_json(),
                &properties,
                &inbound.reply_to,
                &super::live::CHANNEL,
            ],
        )
        .await?;
    // Built from what the insert wrote, not read back (see `messages::stored_inbound`).
    Ok(row.map(|row| stored_inbound(row.get(0), row.get(1), channel_id, row.get(2), inbound, now)))
}

/// [`record_inbounds_in`] on the writer's connection: the writer's [`super::writer::StoreTogether`].
pub(super) fn store_together<'c>(client: &'c deadpool_postgres::Client, inputs: &'c [&'c super::writer::LoneInbound]) -> futures_util::future::BoxFuture<'c, StoreResult<Vec<Option<Message>>>> {
    Box::pin(record_inbounds_in(client, inputs))
}

/// Customers' messages of several webhooks that share a group commit, each a webhook's only
/// event and without files, stored by one statement: what [`record_inbound_in`] does for each
/// in turn, once for the batch (the statement's start, its triggers' conditions, its round
/// trip), which is most of what a message costs Postgres. Each input gets what storing it in
/// its turn would have given: its message, or `None` for a redelivery (stored before, or earlier
/// in the batch). Contacts and then conversations are written in the writer's key order (bytes:
/// `COLLATE "C"`, whatever the database's collation), so two batches storing so wait for each
/// other instead of deadlocking. Against a batch storing one message at a time (which locks a
/// contact, then its conversation, and so on) a cycle is still possible where a sender is not
/// the conversation (groups); the batch that loses it runs again one write at a time (the
/// writer's fallback). So does a batch one of whose new messages another transaction stored
/// after its snapshot (the same update at two nodes at once): the messages' insert has no
/// `ON CONFLICT` (a check of the unique key before each insert, and a second WAL record to
/// confirm it, for a race that `fresh` leaves only to another transaction's commit), so the
/// unique key fails it, and one by one each finds what is stored.
async fn record_inbounds_in<C: GenericClient>(tx: &C, inputs: &[&super::writer::LoneInbound]) -> StoreResult<Vec<Option<Message>>> {
    static RECORD_INBOUNDS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let bot_or_open_new = crate::store::conversations::bot_or_open("g.channel_id", true);
        let touched = &*TOUCHED_BY_INBOUND;
        format!(
            "WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                                     $9::text[], $10::text[], $11::text[], $12::text[])
                    WITH ORDINALITY AS i(channel_id, sender, sender_name, sender_handle, provider_id, conversation, conversation_name,
                                         provider_at, text, content, properties, reply_to, ord)),
             -- New: not stored before, and the first of the batch with its provider id.
             fresh AS (
                SELECT DISTINCT ON (channel_id, provider_id) * FROM input i
                WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = i.channel_id AND m.direction = 'inbound' AND m.provider_message_id = i.provider_id)
                ORDER BY channel_id, provider_id, ord),
             -- Every sender once, with the last name and handle given (a redelivery's too, as one by one).
             contact AS (
                INSERT INTO contacts (channel_id, external_id, name, handle, updated_at)
                SELECT channel_id, sender, (array_agg(sender_name ORDER BY ord DESC) FILTER (WHERE sender_name IS NOT NULL))[1],
                       (array_agg(sender_handle ORDER BY ord DESC) FILTER (WHERE sender_handle IS NOT NULL))[1], $13::bigint
                FROM input GROUP BY channel_id, sender ORDER BY channel_id COLLATE \"C\", sender COLLATE \"C\"
                ON CONFLICT (channel_id, external_id) DO UPDATE SET
                    name = COALESCE(excluded.name, contacts.name),
                    handle = COALESCE(excluded.handle, contacts.handle),
                    updated_at = excluded.updated_at
                RETURNING id, channel_id, external_id),
             -- Every conversation once: its first sender, its last name given, and the provider time
             -- (not later than now) its window moves to: its new messages' latest, none when it has
             -- only redeliveries (which the upsert below reads from `excluded.last_inbound_at`:
             -- a subquery per row into this CTE cost 7 % of the database's CPU per webhook).
             grouped AS (
                SELECT i.channel_id, i.conversation, (array_agg(c.id ORDER BY i.ord))[1] AS contact_id,
                       (array_agg(i.conversation_name ORDER BY i.ord DESC) FILTER (WHERE i.conversation_name IS NOT NULL))[1] AS name,
                       max(LEAST(f.provider_at, $13::bigint)) FILTER (WHERE f.ord IS NOT NULL) AS new_inbound_at
                FROM input i JOIN contact c ON c.channel_id = i.channel_id AND c.external_id = i.sender
                LEFT JOIN fresh f ON f.ord = i.ord
                GROUP BY i.channel_id, i.conversation),
             conversation AS (
                INSERT INTO conversations (channel_id, external_id, contact_id, name, last_activity_at, created_at, last_inbound_at, status)
                SELECT g.channel_id, g.conversation, g.contact_id, g.name, $13::bigint, $13::bigint, g.new_inbound_at, {bot_or_open_new}
                FROM grouped g ORDER BY g.channel_id COLLATE \"C\", g.conversation COLLATE \"C\"
                {touched}
                RETURNING id, channel_id, external_id),
             message AS (
                INSERT INTO messages (conversation_id, channel_id, direction, provider_message_id, contact_id, text, content,
                    properties, reply_to, status, provider_timestamp, created_at, updated_at)
                SELECT v.id, f.channel_id, 'inbound', f.provider_id, c.id, f.text, f.content, f.properties, f.reply_to, 'received',
                       f.provider_at, $13::bigint, $13::bigint
                FROM fresh f JOIN conversation v ON v.channel_id = f.channel_id AND v.external_id = f.conversation
                JOIN contact c ON c.channel_id = f.channel_id AND c.external_id = f.sender
                ORDER BY f.ord
                RETURNING id, conversation_id, contact_id, channel_id, provider_message_id)
             SELECT id, conversation_id, contact_id, channel_id, provider_message_id, pg_notify($14::text, json_build_object(
                'change', 'message', 'channel_id', channel_id, 'conversation_id', conversation_id, 'message_id', id)::text)
             FROM message"
        )
    });
    let statement = tx.prepare_cached(&RECORD_INBOUNDS).await?;
    let column = |f: for<'a> fn(&'a super::writer::LoneInbound) -> Option<&'a str>| inputs.iter().map(|input| f(input)).collect::<Vec<_>>();
    let properties: Vec<String> = inputs.iter().map(|input| serde_json::to_string(&input.inbound.properties).expect("pairs serialize")).collect();
    let contents: Vec<String> = inputs.iter().map(|input| input.inbound.content.to_json()).collect();
    let provider_at: Vec<i64> = inputs.iter().map(|input| input.inbound.provider_timestamp).collect();
    let now = now_ms();
    let rows = tx
        .query(
            &statement,
            &[
                &column(|i| Some(i.channel_id.as_str())),
                &column(|i| Some(i.inbound.sender.external_id.as_str())),
                &column(|i| i.inbound.sender.name.as_deref()),
                &column(|i| i.inbound.sender.handle.as_deref()),
                &column(|i| Some(i.inbound.provider_message_id.as_str())),
                &column(|i| Some(i.inbound.conversation_external_id.as_str())),
                &column(|i| i.inbound.conversation_name.as_deref()),
                &provider_at,
                &column(|i| i.inbound.text.as_deref()),
                &contents,
                &properties,
                &column(|i| i.inbound.reply_to.as_deref()),
                &now,
                &super::live::CHANNEL,
            ],
        )
        .await?;
    // Each stored message goes to the first input with its provider id (the one `fresh` stored);
    // a later one is a redelivery. Built from that input, not read back (see
    // `messages::stored_inbound`).
    let mut stored: std::collections::HashMap<(String, String), (i64, i64, Option<i64>)> =
        rows.iter().map(|row| ((row.get(3), row.get(4)), (row.get(0), row.get(1), row.get(2)))).collect();
    Ok(inputs
        .iter()
        .map(|input| {
            let (id, conversation_id, contact_id) = stored.remove(&(input.channel_id.clone(), input.inbound.provider_message_id.clone()))?;
            Some(stored_inbound(id, conversation_id, &input.channel_id, contact_id, &input.inbound, now))
        })
        .collect())
}

/// Where an inbound message's locks start: its conversation, by channel and provider address
/// (the writer runs a batch's writes in this order: see `writer`).
pub(super) fn lock_order(channel_id: &str, conversation_external_id: &str) -> String {
    format!("{channel_id}\u{0}{conversation_external_id}")
}
