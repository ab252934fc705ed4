-- Maintenance windows and asset dependencies (issue 35). A window covers
-- one asset, one device group or one OU with its subtree, once (starts_at, ends_at) or
-- recurring (a cron expression for its start, a duration, a time zone).
-- An asset may depend on one parent asset (the switch or firewall it sits
-- behind). Findings remember the window they opened in and the parent's
-- finding that suppressed them, so notifications can skip them. SQLite
-- and PostgreSQL run the same text.

-- +goose Up
CREATE TABLE maintenance_windows (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    asset_id         TEXT NOT NULL DEFAULT '',
    ou_id            TEXT NOT NULL DEFAULT '',
    group_id         TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL DEFAULT '',
    starts_at        BIGINT NOT NULL DEFAULT 0,
    ends_at          BIGINT NOT NULL DEFAULT 0,
    recurrence       TEXT NOT NULL DEFAULT '',
    duration_seconds BIGINT NOT NULL DEFAULT 0,
    timezone         TEXT NOT NULL DEFAULT 'UTC',
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX maintenance_windows_org ON maintenance_windows (org_id);

CREATE TABLE asset_parents (
    asset_id  TEXT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    org_id    TEXT NOT NULL REFERENCES organizations (id),
    parent_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE
);
CREATE INDEX asset_parents_org ON asset_parents (org_id);

ALTER TABLE findings ADD COLUMN suppressed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN maintenance_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE findings DROP COLUMN maintenance_id;
ALTER TABLE findings DROP COLUMN suppressed_by;
DROP TABLE asset_parents;
DROP TABLE maintenance_windows;
