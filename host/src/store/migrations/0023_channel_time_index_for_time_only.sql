-- `messages_by_channel_time` serves the activity figures. Its predicate (true of every message:
-- times are milliseconds since 1970) is named by those queries (`m.created_at > 0`) and by no
-- other, so a lookup by provider id (a redelivery check, a delivery status) can only take the
-- unique `messages_provider_id`. Postgres's planner, on a table not yet analysed, costed the two
-- alike and took this one, reading every message of the channel (see the Postgres migration
-- 0014); SQLite keeps the same schema.
DROP INDEX messages_by_channel_time;
CREATE INDEX messages_by_channel_time ON messages (channel_id, created_at, direction) WHERE created_at > 0;
