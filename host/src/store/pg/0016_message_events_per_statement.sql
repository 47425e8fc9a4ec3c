-- A customer's message and choice become their events once per statement, not once per row.
-- The ingest stores a group commit's lone messages with one statement (`messages::store_together`),
-- and the row triggers (0013) still ran two PL/pgSQL functions and two lookups for each of its
-- messages, subscribed or not: 6 % of the database's CPU per webhook (perf over `scale_out_http`,
-- 2026-11-28). One statement trigger sees the statement's new rows as a transition table and
-- writes every subscribed event of them with one INSERT, in the order the row triggers wrote
-- them (SQLite's, 0014 and 0016, stay row triggers: SQLite has no other kind): message by
-- message, `choice.made` before `message.received` (Postgres fires a row's triggers in name order).
DROP TRIGGER webhook_message_received ON messages;
DROP TRIGGER webhook_choice_made ON messages;
DROP FUNCTION webhook_on_choice();

CREATE FUNCTION webhook_on_messages_stored() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 24), event.kind, e.workspace_id, m.channel_id, m.conversation_id, m.id, NULL,
        (extract(epoch FROM clock_timestamp()) * 1000)::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
    FROM stored m
    JOIN channels c ON c.id = m.channel_id
    JOIN webhook_endpoints e ON e.workspace_id = c.workspace_id AND e.enabled
    CROSS JOIN (VALUES (1, 'choice.made'), (2, 'message.received')) AS event (rank, kind)
    JOIN webhook_subscriptions s ON s.endpoint_id = e.id AND s.event_type = event.kind
    WHERE m.direction = 'inbound'
      AND (event.kind = 'message.received' OR (position('"choice"' in m.content) > 0 AND (m.content::jsonb) ? 'choice'))
    ORDER BY m.id, event.rank, e.id;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_messages_stored AFTER INSERT ON messages REFERENCING NEW TABLE AS stored
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_on_messages_stored();
