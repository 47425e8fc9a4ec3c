-- A file being fetched is claimed by one node for a lease (like an outbox delivery), so two
-- nodes never download it both; a dead node's claim lapses and another node takes it over.
ALTER TABLE media ADD COLUMN claimed_by TEXT;
ALTER TABLE media ADD COLUMN claimed_until BIGINT;
