-- Scheduled report delivery by email (issue 10).

-- +goose Up
CREATE TABLE report_schedules (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    template    TEXT NOT NULL,
    format      TEXT NOT NULL,
    query       TEXT NOT NULL DEFAULT '',
    every       TEXT NOT NULL,
    recipients  TEXT NOT NULL,
    next_run_at BIGINT NOT NULL,
    last_run_at BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX report_schedules_due ON report_schedules (next_run_at);
CREATE INDEX report_schedules_org ON report_schedules (org_id);

-- +goose Down
DROP TABLE report_schedules;
