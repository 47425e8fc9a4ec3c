-- A delivery's claim by a node (what Postgres's nodes race for, see pg/0001_schema.sql): the
-- same columns on SQLite, so one statement chooses and ends a delivery on both. Its one node
-- never writes them: they stay NULL.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
