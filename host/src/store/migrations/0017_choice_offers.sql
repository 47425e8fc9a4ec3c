-- Interactive messages: the channels that ever offered options (an outbound message with
-- interactive content), written by a trigger. A customer's short reply is looked at for an
-- option it names only on these channels, so channels that never send options pay nothing.
CREATE TABLE channel_choice_offers (
    channel_id       TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    first_offered_at INTEGER NOT NULL
);

CREATE TRIGGER choice_offered AFTER INSERT ON messages
WHEN NEW.direction = 'outbound' AND instr(NEW.content, '"interactive"') > 0 AND json_extract(NEW.content, '$.interactive') IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO channel_choice_offers (channel_id, first_offered_at) VALUES (NEW.channel_id, NEW.created_at);
END;

-- The choice trigger of 0016, with the JSON read only when the text can hold a choice.
DROP TRIGGER webhook_choice_made;
CREATE TRIGGER webhook_choice_made AFTER INSERT ON messages
WHEN NEW.direction = 'inbound' AND instr(NEW.content, '"choice"') > 0 AND json_extract(NEW.content, '$.choice') IS NOT NULL
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'choice.made', e.workspace_id, NEW.channel_id, NEW.conversation_id, NEW.id, NULL, NEW.created_at, NEW.created_at, NEW.created_at
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'choice.made' AND e.enabled = 1 AND e.workspace_id = (SELECT workspace_id FROM channels WHERE id = NEW.channel_id);
END;
