-- The event triggers on the ingest path run their functions only when their event can happen.
-- Every inbound message fired four PL/pgSQL functions (0004, 0006, 0007), and a message of an
-- existing conversation one more: the ingest's upsert names `status` in its SET list, which
-- fires `UPDATE OF status` triggers even when the value stays. A trigger's WHEN is evaluated
-- without calling the function, as SQLite's triggers (0014, 0016, 0017) always did. And an
-- event nobody subscribed to writes nothing: webhook_enqueue looks before it inserts (a read is
-- cheaper than an INSERT that finds no row to write).
DROP TRIGGER webhook_message ON messages;
CREATE TRIGGER webhook_message_received AFTER INSERT ON messages FOR EACH ROW
    WHEN (NEW.direction = 'inbound') EXECUTE FUNCTION webhook_on_message();
CREATE TRIGGER webhook_message_status AFTER UPDATE OF status ON messages FOR EACH ROW
    WHEN (NEW.status <> OLD.status AND NEW.status IN ('sent', 'delivered', 'read', 'failed')) EXECUTE FUNCTION webhook_on_message();

DROP TRIGGER webhook_conversation ON conversations;
CREATE TRIGGER webhook_conversation_created AFTER INSERT ON conversations FOR EACH ROW EXECUTE FUNCTION webhook_on_conversation();
CREATE TRIGGER webhook_conversation_changed AFTER UPDATE OF status, assignee_id ON conversations FOR EACH ROW
    WHEN ((NEW.status <> OLD.status AND (NEW.status = 'resolved' OR OLD.status = 'resolved')) OR NEW.assignee_id IS DISTINCT FROM OLD.assignee_id)
    EXECUTE FUNCTION webhook_on_conversation();

DROP TRIGGER webhook_choice_made ON messages;
CREATE TRIGGER webhook_choice_made AFTER INSERT ON messages FOR EACH ROW
    WHEN (NEW.direction = 'inbound' AND position('"choice"' in NEW.content) > 0) EXECUTE FUNCTION webhook_on_choice();

DROP TRIGGER choice_offered ON messages;
CREATE TRIGGER choice_offered AFTER INSERT ON messages FOR EACH ROW
    WHEN (NEW.direction = 'outbound' AND position('"interactive"' in NEW.content) > 0) EXECUTE FUNCTION choice_offered();

-- The insert (0012's) keeps its body under a new name; webhook_enqueue, which every trigger
-- calls, now looks first.
ALTER FUNCTION webhook_enqueue(BIGINT, TEXT, TEXT, BIGINT, BIGINT, TEXT) RENAME TO webhook_enqueue_subscribed;
CREATE FUNCTION webhook_enqueue(workspace BIGINT, kind TEXT, channel TEXT, conversation BIGINT, message BIGINT, detail TEXT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
               WHERE s.event_type = kind AND e.enabled AND e.workspace_id = workspace) THEN
        PERFORM webhook_enqueue_subscribed(workspace, kind, channel, conversation, message, detail);
    END IF;
END
$$;
