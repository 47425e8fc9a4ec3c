-- A fetch's claim by a node (what Postgres's nodes race for, see pg/0002_media_claims.sql): the
-- same columns on SQLite, so one statement reads and ends a fetch on both. Its one node never
-- writes them: they stay NULL.
ALTER TABLE media ADD COLUMN claimed_by TEXT;
ALTER TABLE media ADD COLUMN claimed_until INTEGER;
