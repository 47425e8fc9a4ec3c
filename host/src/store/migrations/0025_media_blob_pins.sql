-- A put pins its file's blob before it looks whether the bytes are there, and the sweep leaves
-- a pinned blob and its bytes alone: identical bytes stored at the moment of a sweep are no
-- longer deleted under the file that names them (`store::backend::media`, `media::Media::keep`).
-- `pins`: puts between their pin and the file they record (each record takes one off);
-- `pinned_until`: when the last pin lapses, should a put never record (a crash).
ALTER TABLE media_blobs ADD COLUMN pins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media_blobs ADD COLUMN pinned_until INTEGER;
