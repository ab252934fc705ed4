-- Audit scope: the OU an event concerns and the OU of the acting user's
-- membership, so an admin of a sub-OU reads only its subtree's trail.
-- Events written before have neither and stay with the whole
-- organization's admins. SQLite and PostgreSQL run the same text.

-- +goose Up
ALTER TABLE audit_events ADD COLUMN ou_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN actor_ou_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN actor_ou_id;
ALTER TABLE audit_events DROP COLUMN ou_id;
