-- Provider resources several channels rely on at once (the `holds` import, contract 0.1.3):
-- a Meta Page serving a Messenger and an Instagram channel. A channel's holds go with it.
CREATE TABLE resource_holds (
    resource TEXT NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    PRIMARY KEY (resource, channel_id)
);
CREATE INDEX resource_holds_by_channel ON resource_holds (channel_id);
