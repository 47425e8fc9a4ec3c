-- Interactive messages (see the SQLite migration 0016): a customer's choice is also the event
-- `choice.made`.
CREATE FUNCTION webhook_on_choice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.direction = 'inbound' AND position('"choice"' in NEW.content) > 0 AND (NEW.content::jsonb) ? 'choice' THEN
        PERFORM webhook_enqueue((SELECT workspace_id FROM channels WHERE id = NEW.channel_id), 'choice.made', NEW.channel_id, NEW.conversation_id, NEW.id, NULL);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_choice_made AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION webhook_on_choice();
