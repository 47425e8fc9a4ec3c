-- The repository a plugin component was pulled from (`oci://<registry>/<repository>`), NULL for a
-- file: every node writes it beside its copy (`<id>.source`), where the catalogue matches it.
ALTER TABLE plugin_components ADD COLUMN source TEXT;
