-- What the portal shows at a glance (issue 9): each asset's last poll and
-- each agent's last ingest problem. SQLite and PostgreSQL run the same text.

-- +goose Up
ALTER TABLE assets ADD COLUMN last_poll_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN last_poll_up INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN last_error_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE agents DROP COLUMN last_error_at;
ALTER TABLE agents DROP COLUMN last_error;
ALTER TABLE assets DROP COLUMN last_poll_up;
ALTER TABLE assets DROP COLUMN last_poll_at;
