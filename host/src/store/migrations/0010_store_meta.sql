-- Facts about the store itself: `key_check`, a value sealed with the secret key, tells at
-- start whether the key beside the database is the one its secrets were sealed with.
CREATE TABLE store_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
