-- Bots: a channel may have a bot, a webhook endpoint that answers its new conversations (they
-- start in status `bot`, out of the agents' queue) until it hands them to people (status
-- `open`), an agent takes one over, or the bot stops (its endpoint disabled or deleted, or the
-- channel's bot removed): then its conversations enter the queue at once, by the triggers below.
CREATE TABLE channel_bots (
    channel_id  TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE
);
CREATE INDEX channel_bots_of_endpoint ON channel_bots (endpoint_id);

CREATE TRIGGER bot_disabled AFTER UPDATE OF enabled ON webhook_endpoints WHEN NOT NEW.enabled
BEGIN
    UPDATE conversations SET status = 'open' WHERE status = 'bot' AND channel_id IN (SELECT channel_id FROM channel_bots WHERE endpoint_id = NEW.id);
END;

CREATE TRIGGER bot_removed AFTER DELETE ON channel_bots
BEGIN
    UPDATE conversations SET status = 'open' WHERE status = 'bot' AND channel_id = OLD.channel_id;
END;
