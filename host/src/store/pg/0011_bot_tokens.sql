-- Bots as API tokens (see the SQLite migration 0020): the role `bot`, and a channel's bot is an
-- endpoint or a token, never both. Revoking the token deletes its rows by cascade, and the
-- trigger `bot_removed` (0005) hands their conversations to people in the same transaction.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('operator', 'admin', 'supervisor', 'agent', 'bot'));

ALTER TABLE channel_bots ALTER COLUMN endpoint_id DROP NOT NULL;
ALTER TABLE channel_bots ADD COLUMN token_id BIGINT REFERENCES api_tokens(id) ON DELETE CASCADE;
ALTER TABLE channel_bots ADD CONSTRAINT channel_bots_one_bot CHECK ((endpoint_id IS NULL) <> (token_id IS NULL));
CREATE INDEX channel_bots_of_token ON channel_bots (token_id);
