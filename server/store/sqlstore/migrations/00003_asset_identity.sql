-- Asset identity and inventory history (issue 8). SQLite and PostgreSQL run
-- the same text.

-- +goose Up
-- Every agent-side asset id (target name) that ever reported an asset of an
-- organization, so a renamed target keeps its asset.
CREATE TABLE asset_sources (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    source_key  TEXT NOT NULL,
    asset_id    TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, source_key)
);
CREATE INDEX asset_sources_asset ON asset_sources (asset_id);
INSERT INTO asset_sources (org_id, source_key, asset_id, updated_at)
    SELECT org_id, source_key, id, created_at FROM assets;

-- What identifies the device itself ("uuid:…", "serial:<maker>:<serial>"),
-- so that a re-installed agent or a new target name finds the asset again.
CREATE TABLE asset_identities (
    org_id    TEXT NOT NULL REFERENCES organizations (id),
    identity  TEXT NOT NULL,
    asset_id  TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, identity)
);
CREATE INDEX asset_identities_asset ON asset_identities (asset_id);

-- One row per inventory snapshot that differed from the one before it.
CREATE TABLE inventory_changes (
    asset_id      TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    collected_at  BIGINT NOT NULL,
    changes       TEXT NOT NULL,
    PRIMARY KEY (asset_id, collected_at)
);

-- +goose Down
DROP TABLE inventory_changes;
DROP TABLE asset_identities;
DROP TABLE asset_sources;
