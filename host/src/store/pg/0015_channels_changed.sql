-- Every node keeps the channels it read, opened (`store::channel_cache`). A statement that
-- changes `channels`, on any node (a workspace's deletion and its cascade included), tells every
-- listening node at its commit to read them again; a rolled-back one tells no one.
CREATE FUNCTION channels_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_channels', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER channels_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channels
    FOR EACH STATEMENT EXECUTE FUNCTION channels_changed();
