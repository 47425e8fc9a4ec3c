-- Bots (see the SQLite migration 0015): a channel's bot endpoint, and its conversations handed
-- to people when it stops.
CREATE TABLE channel_bots (
    channel_id  TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE
);
CREATE INDEX channel_bots_of_endpoint ON channel_bots (endpoint_id);

CREATE FUNCTION bot_disabled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.enabled THEN
        UPDATE conversations SET status = 'open' WHERE status = 'bot' AND channel_id IN (SELECT channel_id FROM channel_bots WHERE endpoint_id = NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER bot_disabled AFTER UPDATE OF enabled ON webhook_endpoints FOR EACH ROW EXECUTE FUNCTION bot_disabled();

CREATE FUNCTION bot_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET status = 'open' WHERE status = 'bot' AND channel_id = OLD.channel_id;
    RETURN NULL;
END $$;
CREATE TRIGGER bot_removed AFTER DELETE ON channel_bots FOR EACH ROW EXECUTE FUNCTION bot_removed();
