-- A lookup by provider id (the ingest statement's redelivery check, a delivery status: channel,
-- direction and provider id) must take the unique `messages_provider_id`, one row. On a table not
-- yet analysed the planner costs it alike with `messages_by_channel_time`, whose leading column
-- is the channel, and often took that one, reading every message of the channel (5-6 ms per
-- webhook and growing, until autovacuum's first ANALYZE). The predicate below is true of every
-- message (times are milliseconds since 1970) and named only by the activity figures'
-- queries (`m.created_at > 0`), so they still read the index and the lookups cannot.
DROP INDEX messages_by_channel_time;
CREATE INDEX messages_by_channel_time ON messages (channel_id, created_at, direction) WHERE created_at > 0;
