-- A put pins its file's blob before it looks whether the bytes are there, and the sweep leaves
-- a pinned blob and its bytes alone (as SQLite's 0025). The bytes go with their blob's row, in
-- the deleting transaction: a pin waits on that row's deletion, then finds the bytes gone and
-- writes them again.
-- `pins`: puts between their pin and the file they record (each record takes one off);
-- `pinned_until`: when the last pin lapses, should a put never record (a crash).
ALTER TABLE media_blobs ADD COLUMN pins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media_blobs ADD COLUMN pinned_until BIGINT;

CREATE FUNCTION media_bytes_with_blob() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM media_bytes WHERE sha256 = OLD.sha256;
    RETURN NULL;
END $$;
CREATE TRIGGER media_bytes_with_blob AFTER DELETE ON media_blobs FOR EACH ROW EXECUTE FUNCTION media_bytes_with_blob();
