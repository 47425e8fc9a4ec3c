-- Interactive messages (see the SQLite migration 0017): the channels that ever offered options.
CREATE TABLE channel_choice_offers (
    channel_id       TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    first_offered_at BIGINT NOT NULL
);

CREATE FUNCTION choice_offered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.direction = 'outbound' AND position('"interactive"' in NEW.content) > 0 AND (NEW.content::jsonb) ? 'interactive' THEN
        INSERT INTO channel_choice_offers (channel_id, first_offered_at) VALUES (NEW.channel_id, NEW.created_at) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER choice_offered AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION choice_offered();

