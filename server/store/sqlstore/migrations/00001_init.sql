-- +goose Up
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('distributor', 'reseller', 'customer')),
    partner_id  TEXT UNIQUE,
    root_ou     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE ous (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    parent_id   TEXT REFERENCES ous (id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX ous_org ON ous (org_id);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE memberships (
    user_id  TEXT NOT NULL REFERENCES users (id),
    org_id   TEXT NOT NULL REFERENCES organizations (id),
    ou_id    TEXT NOT NULL REFERENCES ous (id),
    role     TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    PRIMARY KEY (user_id, org_id)
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE enrollment_tokens (
    token_hash  TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    ou_id       TEXT NOT NULL REFERENCES ous (id),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    agent_id    TEXT
);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    ou_id         TEXT NOT NULL REFERENCES ous (id),
    name          TEXT NOT NULL,
    hostname      TEXT NOT NULL,
    version       TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE assets (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    ou_id         TEXT NOT NULL REFERENCES ous (id),
    source_key    TEXT NOT NULL,
    name          TEXT NOT NULL,
    category      TEXT NOT NULL DEFAULT '',
    manufacturer  TEXT NOT NULL DEFAULT '',
    product       TEXT NOT NULL DEFAULT '',
    serial        TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    UNIQUE (org_id, source_key)
);
CREATE INDEX assets_ou ON assets (ou_id);

CREATE TABLE inventory_latest (
    asset_id      TEXT PRIMARY KEY REFERENCES assets (id),
    collected_at  BIGINT NOT NULL,
    document      TEXT NOT NULL
);

CREATE TABLE ingested_batches (
    agent_id     TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (agent_id, batch_id)
);

-- +goose Down
DROP TABLE ingested_batches;
DROP TABLE inventory_latest;
DROP TABLE assets;
DROP TABLE agents;
DROP TABLE enrollment_tokens;
DROP TABLE sessions;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE ous;
DROP TABLE organizations;
