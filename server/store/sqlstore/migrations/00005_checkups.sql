-- Check-ups (issue 10): an organization's own rule set, and the findings
-- its evaluations open, refresh and resolve. SQLite and PostgreSQL run the
-- same text.

-- +goose Up
CREATE TABLE checkup_rules (
    org_id     TEXT PRIMARY KEY REFERENCES organizations(id),
    doc        TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE findings (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id),
    rule_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    asset_id     TEXT NOT NULL DEFAULT '',
    agent_id     TEXT NOT NULL DEFAULT '',
    ou_id        TEXT NOT NULL DEFAULT '',
    subject      TEXT NOT NULL DEFAULT '',
    severity     TEXT NOT NULL,
    text         TEXT NOT NULL,
    opened_at    BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    resolved_at  BIGINT NOT NULL DEFAULT 0,
    acked_at     BIGINT NOT NULL DEFAULT 0,
    acked_by     TEXT NOT NULL DEFAULT '',
    ack_note     TEXT NOT NULL DEFAULT ''
);
-- One open finding per rule and subject: two replicas evaluating at once
-- cannot open it twice.
CREATE UNIQUE INDEX findings_open ON findings (org_id, rule_id, asset_id, agent_id, subject) WHERE resolved_at = 0;
CREATE INDEX findings_org_time ON findings (org_id, opened_at);
CREATE INDEX findings_asset ON findings (asset_id, opened_at);

-- +goose Down
DROP TABLE findings;
DROP TABLE checkup_rules;
