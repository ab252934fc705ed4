-- The agent that created an asset it reported (issue 29): new assets are
-- capped per agent and hour (limits.new_assets_per_agent_hour), counted
-- here so that the cap holds across restarts and replicas. Assets from
-- before, and assets entered by hand, have none. SQLite and PostgreSQL run
-- the same text.

-- +goose Up
ALTER TABLE assets ADD COLUMN created_by_agent TEXT NOT NULL DEFAULT '';
CREATE INDEX assets_created_by_agent ON assets (created_by_agent, created_at) WHERE created_by_agent <> '';

-- +goose Down
DROP INDEX assets_created_by_agent;
ALTER TABLE assets DROP COLUMN created_by_agent;
