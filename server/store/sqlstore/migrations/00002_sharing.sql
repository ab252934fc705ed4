-- Keys, partner sharing, device groups, invitations, API tokens, audit
-- trail and rate limits (issue 7). SQLite and PostgreSQL run the same text.

-- +goose Up
ALTER TABLE organizations ADD COLUMN channel_consent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE organizations ADD COLUMN invited_by_org TEXT NOT NULL DEFAULT '';

ALTER TABLE assets ADD COLUMN asset_type TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN created_by_org TEXT NOT NULL DEFAULT '';

-- OU and system keys are readable by admins, so they are stored as they
-- are; key_hash is the lookup index for a key a partner enters.
CREATE TABLE ou_keys (
    ou_id       TEXT PRIMARY KEY REFERENCES ous (id) ON DELETE CASCADE,
    secret      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE system_keys (
    asset_id    TEXT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    secret      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE grants (
    id               TEXT PRIMARY KEY,
    asset_id         TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    customer_org_id  TEXT NOT NULL REFERENCES organizations (id),
    partner_org_id   TEXT NOT NULL REFERENCES organizations (id),
    kind             TEXT NOT NULL CHECK (kind IN ('created', 'system-key')),
    granted_by       TEXT NOT NULL,
    granted_at       BIGINT NOT NULL,
    revoked_at       BIGINT,
    revoked_by       TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX grants_live ON grants (asset_id, partner_org_id, kind) WHERE revoked_at IS NULL;
CREATE INDEX grants_partner ON grants (partner_org_id);
CREATE INDEX grants_customer ON grants (customer_org_id);

CREATE TABLE channel_partners (
    customer_org_id  TEXT NOT NULL REFERENCES organizations (id),
    partner_org_id   TEXT NOT NULL REFERENCES organizations (id),
    default_reseller BOOLEAN NOT NULL DEFAULT FALSE,
    default_service  BOOLEAN NOT NULL DEFAULT FALSE,
    added_by         TEXT NOT NULL,
    added_at         BIGINT NOT NULL,
    PRIMARY KEY (customer_org_id, partner_org_id)
);
CREATE INDEX channel_partners_partner ON channel_partners (partner_org_id);

CREATE TABLE device_groups (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX device_groups_org ON device_groups (org_id);

CREATE TABLE device_group_members (
    group_id  TEXT NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
    asset_id  TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, asset_id)
);

-- One partner per device (or device group) and role; a device without an
-- assignment follows its group's, then the customer's default partner.
CREATE TABLE channel_assignments (
    id               TEXT PRIMARY KEY,
    customer_org_id  TEXT NOT NULL REFERENCES organizations (id),
    partner_org_id   TEXT NOT NULL REFERENCES organizations (id),
    role             TEXT NOT NULL CHECK (role IN ('reseller', 'service')),
    asset_id         TEXT REFERENCES assets (id) ON DELETE CASCADE,
    group_id         TEXT REFERENCES device_groups (id) ON DELETE CASCADE,
    assigned_by      TEXT NOT NULL,
    assigned_at      BIGINT NOT NULL,
    CHECK ((asset_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX channel_assignments_asset ON channel_assignments (asset_id, role) WHERE asset_id IS NOT NULL;
CREATE UNIQUE INDEX channel_assignments_group ON channel_assignments (group_id, role) WHERE group_id IS NOT NULL;
CREATE INDEX channel_assignments_customer ON channel_assignments (customer_org_id);

CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('user', 'customer', 'reseller')),
    email           TEXT NOT NULL,
    org_id          TEXT NOT NULL DEFAULT '',
    ou_id           TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    company         TEXT NOT NULL DEFAULT '',
    asset           TEXT NOT NULL DEFAULT '',
    invited_by      TEXT NOT NULL,
    invited_by_org  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    accepted_at     BIGINT,
    revoked_at      BIGINT,
    result_org_id   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invitations_by_org ON invitations (invited_by_org);

CREATE TABLE password_resets (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    name          TEXT NOT NULL,
    hint          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL DEFAULT 0,
    last_used_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, org_id);

-- id is a UUIDv7, so ids sort by time.
CREATE TABLE audit_events (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    actor_org_id  TEXT NOT NULL DEFAULT '',
    actor_user_id TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    target_type   TEXT NOT NULL DEFAULT '',
    target_id     TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '',
    remote_addr   TEXT NOT NULL DEFAULT '',
    at            BIGINT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_actor_org ON audit_events (actor_org_id, id);

CREATE TABLE rate_limits (
    bucket        TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    hits          INTEGER NOT NULL
);

-- +goose Down
DROP TABLE rate_limits;
DROP TABLE audit_events;
DROP TABLE api_tokens;
DROP TABLE password_resets;
DROP TABLE invitations;
DROP TABLE channel_assignments;
DROP TABLE device_group_members;
DROP TABLE device_groups;
DROP TABLE channel_partners;
DROP TABLE grants;
DROP TABLE system_keys;
DROP TABLE ou_keys;
ALTER TABLE assets DROP COLUMN created_by_org;
ALTER TABLE assets DROP COLUMN version;
ALTER TABLE assets DROP COLUMN asset_type;
ALTER TABLE organizations DROP COLUMN invited_by_org;
ALTER TABLE organizations DROP COLUMN channel_consent;
