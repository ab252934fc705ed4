-- Leases (store.Leases): which replica runs each periodic job. One row
-- per job while some replica holds it. SQLite and PostgreSQL run the same
-- text.

-- +goose Up
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
