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

