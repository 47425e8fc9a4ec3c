-- Event webhooks: a workspace's endpoints (a CRM, a bot), the events each wants, and one
-- delivery per event and endpoint, written by the triggers below in the very transaction that
-- stores the event (a message, a status, a conversation or channel change): nothing is lost
-- by a crash between the two. Deliveries are sent, retried and recorded by `event_webhooks`.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- the signing secret, sealed; the one before a rotation stays valid until previous_until
    secret          TEXT NOT NULL,
    previous_secret TEXT,
    previous_until  INTEGER,
    enabled         INTEGER NOT NULL DEFAULT 1,
    -- why it was disabled (the retry horizon passed), shown to the workspace's admins
    disabled_reason TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints (workspace_id);

CREATE TABLE webhook_subscriptions (
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    PRIMARY KEY (event_type, endpoint_id)
);
CREATE INDEX webhook_subscriptions_of_endpoint ON webhook_subscriptions (endpoint_id);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    -- the Standard Webhooks message id: the same for every attempt and every redelivery
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    workspace_id    INTEGER NOT NULL,
    channel_id      TEXT,
    conversation_id INTEGER,
    message_id      INTEGER,
    -- what the event says beyond its ids: the status reached, the person assigned
    detail          TEXT,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- a node's lease on the send (Postgres; one SQLite node needs none)
    claimed_by      TEXT,
    claimed_until   INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_of_endpoint ON webhook_deliveries (endpoint_id, id);
-- a conversation's events go out in order: the next waits for the one before it
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (endpoint_id, conversation_id, id) WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    -- the receiver's HTTP status; NULL when it gave none (refused, timed out)
    status      INTEGER,
    latency_ms  INTEGER NOT NULL,
    -- the first 2 KiB of its answer, or why there was none
    response    TEXT NOT NULL
);
CREATE INDEX webhook_attempts_of_delivery ON webhook_attempts (delivery_id);
CREATE INDEX webhook_attempts_by_time ON webhook_attempts (at);

-- The triggers: one delivery per subscribed, enabled endpoint of the event's workspace.
CREATE TRIGGER webhook_message_received AFTER INSERT ON messages WHEN NEW.direction = 'inbound'
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'message.received', e.workspace_id, NEW.channel_id, NEW.conversation_id, NEW.id, NULL, NEW.created_at, NEW.created_at, NEW.created_at
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'message.received' AND e.enabled = 1 AND e.workspace_id = (SELECT workspace_id FROM channels WHERE id = NEW.channel_id);
END;

CREATE TRIGGER webhook_message_status AFTER UPDATE OF status ON messages
WHEN NEW.status <> OLD.status AND NEW.status IN ('sent', 'delivered', 'read', 'failed')
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'message.' || NEW.status, e.workspace_id, NEW.channel_id, NEW.conversation_id, NEW.id, NEW.error, NEW.updated_at, NEW.updated_at, NEW.updated_at
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'message.' || NEW.status AND e.enabled = 1 AND e.workspace_id = (SELECT workspace_id FROM channels WHERE id = NEW.channel_id);
END;

CREATE TRIGGER webhook_conversation_created AFTER INSERT ON conversations
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'conversation.created', e.workspace_id, NEW.channel_id, NEW.id, NULL, NULL, NEW.created_at, NEW.created_at, NEW.created_at
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'conversation.created' AND e.enabled = 1 AND e.workspace_id = (SELECT workspace_id FROM channels WHERE id = NEW.channel_id);
END;

CREATE TRIGGER webhook_conversation_status AFTER UPDATE OF status ON conversations
WHEN NEW.status <> OLD.status AND (NEW.status = 'resolved' OR OLD.status = 'resolved')
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), CASE NEW.status WHEN 'resolved' THEN 'conversation.resolved' ELSE 'conversation.reopened' END,
        e.workspace_id, NEW.channel_id, NEW.id, NULL, NEW.status, CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = CASE NEW.status WHEN 'resolved' THEN 'conversation.resolved' ELSE 'conversation.reopened' END
        AND e.enabled = 1 AND e.workspace_id = (SELECT workspace_id FROM channels WHERE id = NEW.channel_id);
END;

CREATE TRIGGER webhook_conversation_assigned AFTER UPDATE OF assignee_id ON conversations
WHEN NEW.assignee_id IS NOT OLD.assignee_id
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'conversation.assigned', e.workspace_id, NEW.channel_id, NEW.id, NULL, CAST(NEW.assignee_id AS TEXT),
        CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'conversation.assigned' AND e.enabled = 1 AND e.workspace_id = (SELECT workspace_id FROM channels WHERE id = NEW.channel_id);
END;

CREATE TRIGGER webhook_channel_connected AFTER UPDATE OF status ON channels
WHEN NEW.status = 'active' AND OLD.status <> 'active'
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'channel.connected', e.workspace_id, NEW.id, NULL, NULL, NULL, NEW.updated_at, NEW.updated_at, NEW.updated_at
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'channel.connected' AND e.enabled = 1 AND e.workspace_id = NEW.workspace_id;
END;

CREATE TRIGGER webhook_channel_connected_at_once AFTER INSERT ON channels WHEN NEW.status = 'active'
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'channel.connected', e.workspace_id, NEW.id, NULL, NULL, NULL, NEW.created_at, NEW.created_at, NEW.created_at
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'channel.connected' AND e.enabled = 1 AND e.workspace_id = NEW.workspace_id;
END;

CREATE TRIGGER webhook_channel_needs_reconnect AFTER INSERT ON channel_reconnect
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'channel.needs_reconnect', e.workspace_id, NEW.channel_id, NULL, NULL, NEW.reason, NEW.since, NEW.since, NEW.since
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'channel.needs_reconnect' AND e.enabled = 1 AND e.workspace_id = (SELECT workspace_id FROM channels WHERE id = NEW.channel_id);
END;

CREATE TRIGGER webhook_channel_disconnected AFTER DELETE ON channels
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, workspace_id, channel_id, conversation_id, message_id, detail, next_attempt_at, created_at, updated_at)
    SELECT e.id, 'evt_' || lower(hex(randomblob(12))), 'channel.disconnected', e.workspace_id, OLD.id, NULL, NULL, OLD.name,
        CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id
    WHERE s.event_type = 'channel.disconnected' AND e.enabled = 1 AND e.workspace_id = OLD.workspace_id;
END;
