-- Asset edit, move and delete (issue 31). home_ou_id is the OU whose
-- agents may write the asset: a move changes ou_id (who sees it) only, so
-- the agent that reports a moved asset keeps writing it while agents of
-- the new OU still cannot. '' means the asset was never moved: its OU.
-- category_pinned says a user chose the category: the agent's inventory
-- no longer overwrites it. location (where the device is, read by all who
-- see the asset) and notes (for the owner's users) are the user's own;
-- no agent writes them. inventory_latest was created without ON DELETE
-- CASCADE; deleting an asset removes its row first. SQLite and
-- PostgreSQL run the same text.

-- +goose Up
ALTER TABLE assets ADD COLUMN home_ou_id TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN category_pinned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN notes TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE assets DROP COLUMN notes;
ALTER TABLE assets DROP COLUMN location;
ALTER TABLE assets DROP COLUMN category_pinned;
ALTER TABLE assets DROP COLUMN home_ou_id;
