-- Compact series ids (issue 28): InfluxDB tags each point with one short
-- asset tag, "<organization number>.<asset number>", instead of three
-- UUIDs. Organizations are numbered across the server, assets within
-- their organization; numbers are never reused. SQLite and PostgreSQL run
-- the same text.

-- +goose Up
ALTER TABLE organizations ADD COLUMN series_no BIGINT;
ALTER TABLE organizations ADD COLUMN assets_numbered BIGINT NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN series_id TEXT;

UPDATE organizations SET series_no = n.rn
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS rn FROM organizations) AS n
WHERE n.id = organizations.id;

UPDATE assets SET series_id = n.sid
FROM (SELECT a.id AS id,
             CAST(o.series_no AS TEXT) || '.' || CAST(ROW_NUMBER() OVER (PARTITION BY a.org_id ORDER BY a.created_at, a.id) AS TEXT) AS sid
      FROM assets a JOIN organizations o ON o.id = a.org_id) AS n
WHERE n.id = assets.id;

UPDATE organizations SET assets_numbered = (SELECT COUNT(*) FROM assets WHERE assets.org_id = organizations.id);

-- counters hands out numbers: an UPDATE ... RETURNING holds the row, so
-- replicas creating organizations at once get different numbers.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) SELECT 'organizations', COALESCE(MAX(series_no), 0) FROM organizations;

CREATE UNIQUE INDEX organizations_series_no ON organizations (series_no);
CREATE UNIQUE INDEX assets_series_id ON assets (series_id);

-- +goose Down
DROP TABLE counters;
DROP INDEX assets_series_id;
DROP INDEX organizations_series_no;
ALTER TABLE assets DROP COLUMN series_id;
ALTER TABLE organizations DROP COLUMN assets_numbered;
ALTER TABLE organizations DROP COLUMN series_no;
