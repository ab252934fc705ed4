-- Retention: indexes by which the housekeeping finds what has outlived
-- its period (store.Retention), so a prune reads only what it deletes.
-- SQLite and PostgreSQL run the same text.

-- +goose Up
CREATE INDEX ingested_batches_received ON ingested_batches (received_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
CREATE INDEX findings_resolved ON findings (resolved_at);
CREATE INDEX inventory_changes_collected ON inventory_changes (collected_at);
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose Down
DROP INDEX audit_events_at;
DROP INDEX inventory_changes_collected;
DROP INDEX findings_resolved;
DROP INDEX webhook_deliveries_created;
DROP INDEX rate_limits_window;
DROP INDEX sessions_expires;
DROP INDEX ingested_batches_received;
