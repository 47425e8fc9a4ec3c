-- webhook_enqueue in PL/pgSQL: a SQL-language function that writes is planned again on every
-- call, and the triggers call it for every message, status and conversation change, so storing
-- a message cost a plan even in a workspace without endpoints (one Postgres node's ingest fell
-- from 5.3-5.7k to 1.8-1.9k messages/s in the store bench when it came, 0004). PL/pgSQL keeps
-- its statements' plans for the session. Same signature and statement.
CREATE OR REPLACE FUNCTION webhook_enqueue(workspace BIGINT, kind TEXT, channel TEXT, conversation BIGINT, message BIGINT, detail TEXT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 24), kind, e.workspace_id, channel, conversation, message, detail,
        (extract(epoch FROM clock_timestamp()) * 1000)::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = kind AND e.enabled AND e.workspace_id = workspace;
END
$$;
