-- Who did what, when, from where. Rows are only ever added (no route changes or deletes them);
-- they outlive what they name (a deleted channel or workspace keeps its history).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    workspace_id INTEGER,
    actor TEXT NOT NULL,
    address TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_log_by_workspace ON audit_log (workspace_id, id);
