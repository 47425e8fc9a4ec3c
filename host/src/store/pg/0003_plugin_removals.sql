-- Plugins removed through any node, until installed again: a node that was down during the
-- removal deletes its copy when it starts, instead of loading it again.
CREATE TABLE plugin_removals (
    plugin     TEXT PRIMARY KEY,
    removed_at BIGINT NOT NULL
);
