-- Interactive messages (contract 0.1.4): an inbound message that is a customer's choice (its
-- content has `choice`) is also the event `choice.made`, delivered to endpoints subscribed to it
-- in the transaction that stores it, as every event. The JSON is read only when the text can hold a choice.
CREATE TRIGGER webhook_choice_made AFTER INSERT ON messages
WHEN NEW.direction = 'inbound' AND instr(NEW.content, '"choice"') > 0 AND json_extract(NEW.content, '$.choice') IS NOT NULL
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'choice.made', e.workspace_id, NEW.channel_id, NEW.conversation_id, NEW.id, NULL, NEW.created_at, NEW.created_at, NEW.created_at
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'choice.made' AND e.enabled = 1 AND e.workspace_id = (SELECT workspace_id FROM channels WHERE id = NEW.channel_id);
END;
