-- The last holder's hold stays, marked releasing, while it tears the resource down (as
-- SQLite's 0026); a new hold waits meanwhile.
ALTER TABLE resource_holds ADD COLUMN releasing_until BIGINT;
