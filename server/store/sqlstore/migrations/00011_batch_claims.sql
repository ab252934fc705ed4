-- Batch claims (store.Agents.ClaimBatch): a replica takes a batch id as
-- 'pending' before it writes the batch, so that of two requests with the
-- same id only one writes; it marks the id 'stored' once InfluxDB
-- confirmed, or deletes the claim when the write failed. A pending claim
-- whose claim_expires (ms) has passed was left by a replica that died and
-- may be taken over. Rows recorded before are stored batches.

-- +goose Up
ALTER TABLE ingested_batches ADD COLUMN state TEXT NOT NULL DEFAULT 'stored';
ALTER TABLE ingested_batches ADD COLUMN claim_id TEXT NOT NULL DEFAULT '';
ALTER TABLE ingested_batches ADD COLUMN claim_expires BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE ingested_batches DROP COLUMN claim_expires;
ALTER TABLE ingested_batches DROP COLUMN claim_id;
ALTER TABLE ingested_batches DROP COLUMN state;
