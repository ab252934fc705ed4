-- Notifications (issue 35): a webhook is one kind of notification
-- channel. The webhooks table holds every channel of an organization
-- (kind webhook, teams, slack, email) and every user's own subscription
-- (user_id set, kind email, delivered to the user's address), with the
-- filters a channel may have; the delivery queue and its attempts serve
-- them all. SQLite and PostgreSQL run the same text.

-- +goose Up
ALTER TABLE webhooks ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE webhooks ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN min_severity TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN categories TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN ou_id TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
CREATE INDEX webhooks_user ON webhooks (user_id);

-- recipient: the address of an email delivery (one delivery per
-- address, so a retry never mails an address twice); finding_id: the
-- finding an event is about, so that its resolved message reaches every
-- channel told of it; dedupe_key: unique per channel and recipient, so an
-- event (or the n-th repeat of a finding) is queued once whichever
-- replica queues it.
ALTER TABLE webhook_deliveries ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN finding_id TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN dedupe_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX webhook_deliveries_dedupe ON webhook_deliveries (webhook_id, recipient, dedupe_key) WHERE dedupe_key <> '';
CREATE INDEX webhook_deliveries_finding ON webhook_deliveries (finding_id) WHERE finding_id <> '';

CREATE TABLE notification_settings (
    org_id         TEXT PRIMARY KEY REFERENCES organizations (id),
    repeat_every_s BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE notification_settings;
DROP INDEX webhook_deliveries_finding;
DROP INDEX webhook_deliveries_dedupe;
ALTER TABLE webhook_deliveries DROP COLUMN dedupe_key;
ALTER TABLE webhook_deliveries DROP COLUMN finding_id;
ALTER TABLE webhook_deliveries DROP COLUMN recipient;
DROP INDEX webhooks_user;
ALTER TABLE webhooks DROP COLUMN language;
ALTER TABLE webhooks DROP COLUMN digest;
ALTER TABLE webhooks DROP COLUMN ou_id;
ALTER TABLE webhooks DROP COLUMN categories;
ALTER TABLE webhooks DROP COLUMN min_severity;
ALTER TABLE webhooks DROP COLUMN user_id;
ALTER TABLE webhooks DROP COLUMN kind;
