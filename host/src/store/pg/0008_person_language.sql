-- The language a person chose for the pages (`en`, `id`); NULL: the browser's.
ALTER TABLE people ADD COLUMN language TEXT;
