-- KPI definitions an organization's agents sent (issue 30): what the
-- kpis sections of a user's own SNMP profiles and REST templates say of
-- the values they produce. One row per agent, measurement and field; a
-- field of '' holds the measurement's own name and description. Each
-- agent's rows are replaced as a whole when it sends again. SQLite and
-- PostgreSQL run the same text.

-- +goose Up
CREATE TABLE kpi_definitions (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    agent_id    TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    measurement TEXT NOT NULL,
    field       TEXT NOT NULL,
    definition  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, agent_id, measurement, field)
);

-- +goose Down
DROP TABLE kpi_definitions;
