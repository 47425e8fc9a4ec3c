-- The host's on/off switch for a channel's message templates, by name (every language of it).
-- The templates themselves live with the provider (WhatsApp Cloud: message_templates) or, where
-- the provider keeps none (WhatsApp On-Premises), in the plugin's channel state with their
-- namespace. A template without a row here is enabled; a disabled one cannot be sent.
CREATE TABLE template_switches (
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, name)
);
