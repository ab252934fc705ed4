package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

const webhookCols = `id, org_id, url, secret, events, description, created_by, created_at,
	kind, user_id, min_severity, categories, ou_id, digest, language`

// scanWebhook reads a webhook row, unsealing its secret.
func (d *DB) scanWebhook(row rowScanner) (store.Webhook, error) {
	var w store.Webhook
	var events, secret, sev, cats string
	var created int64
	if err := row.Scan(&w.ID, &w.OrgID, &w.URL, &secret, &events, &w.Description, &w.CreatedBy, &created,
		&w.Kind, &w.UserID, &sev, &cats, &w.OUID, &w.Digest, &w.Language); err != nil {
		return w, err
	}
	w.Events, w.CreatedAt = strings.Fields(events), fromMS(created)
	w.MinSeverity = store.Severity(sev)
	if cats != "" {
		w.Categories = strings.Fields(cats)
	}
	var err error
	w.Secret, err = d.unsealSecret(webhookSecrets, w.ID, secret)
	return w, err
}

// CreateWebhook implements store.Webhooks.
func (d *DB) CreateWebhook(ctx context.Context, w *store.Webhook) error {
	w.ID = uuid.NewString()
	w.CreatedAt = w.CreatedAt.UTC().Truncate(time.Millisecond)
	secret, err := d.sealSecret(webhookSecrets, w.ID, w.Secret)
	if err != nil {
		return fmt.Errorf("creating webhook: %w", err)
	}
	w.Kind = w.ChannelKind()
	if w.Language == "" {
		w.Language = "en"
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO webhooks (`+webhookCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		w.ID, w.OrgID, w.URL, secret, strings.Join(w.Events, " "), w.Description, w.CreatedBy, ms(w.CreatedAt),
		w.Kind, w.UserID, string(w.MinSeverity), strings.Join(w.Categories, " "), w.OUID, w.Digest, w.Language)
	if err != nil {
		return fmt.Errorf("creating webhook: %w", err)
	}
	return nil
}

// Webhook implements store.Webhooks.
func (d *DB) Webhook(ctx context.Context, id string) (store.Webhook, error) {
	w, err := d.scanWebhook(d.db.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = $1`, id))
	if err != nil {
		return w, notFound(err, "webhook")
	}
	return w, nil
}

// WebhooksOf implements store.Webhooks.
func (d *DB) WebhooksOf(ctx context.Context, orgIDs []string) ([]store.Webhook, error) {
	var out []store.Webhook
	for _, c := range chunks(orgIDs) {
		ws, err := queryAll(ctx, d.db, "webhooks", d.scanWebhook,
			`SELECT `+webhookCols+` FROM webhooks WHERE org_id IN (`+placeholders(1, len(c))+`) ORDER BY created_at, id`, anys(c)...)
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

// DeleteWebhook implements store.Webhooks. Deliveries and attempts go
// with it (explicitly: SQLite enforces ON DELETE CASCADE only with
// foreign keys on, which the store sets, but say what is meant).
func (d *DB) DeleteWebhook(ctx context.Context, id string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)`, id); err != nil {
			return fmt.Errorf("deleting webhook attempts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = $1`, id); err != nil {
			return fmt.Errorf("deleting webhook deliveries: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("deleting webhook: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("webhook %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

const deliveryCols = `id, webhook_id, org_id, event, payload, created_at, state, attempts, next_attempt_at,
	last_status, last_error, delivered_at, recipient, finding_id, dedupe_key`

func scanDelivery(row rowScanner) (store.WebhookDelivery, error) {
	var v store.WebhookDelivery
	var payload string
	var created, next, delivered int64
	err := row.Scan(&v.ID, &v.WebhookID, &v.OrgID, &v.Event, &payload, &created, &v.State, &v.Attempts, &next,
		&v.LastStatus, &v.LastError, &delivered, &v.Recipient, &v.FindingID, &v.DedupeKey)
	v.Payload, v.CreatedAt, v.NextAttemptAt, v.DeliveredAt = []byte(payload), fromMS(created), fromMS(next), fromMS(delivered)
	return v, err
}

// EnqueueDeliveries implements store.Webhooks.
func (d *DB) EnqueueDeliveries(ctx context.Context, ds []*store.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		for _, v := range ds {
			if v.ID == "" {
				v.ID = uuid.NewString()
			}
			// ON CONFLICT names no target: it is the partial unique index
			// on the dedupe key, which both databases match this way.
			res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+deliveryCols+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, 0, '', 0, $9, $10, $11) ON CONFLICT DO NOTHING`,
				v.ID, v.WebhookID, v.OrgID, v.Event, string(v.Payload), ms(v.CreatedAt), store.DeliveryPending, ms(v.NextAttemptAt),
				v.Recipient, v.FindingID, v.DedupeKey)
			if err != nil {
				return fmt.Errorf("queueing webhook delivery: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				v.State = store.DeliveryPending
			}
		}
		return nil
	})
}

// DueDeliveries implements store.Webhooks.
func (d *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.WebhookDelivery, error) {
	return queryAll(ctx, d.db, "due webhook deliveries", scanDelivery,
		`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE state = $1 AND next_attempt_at <= $2
		 ORDER BY next_attempt_at, id LIMIT $3`, store.DeliveryPending, ms(now), limit)
}

// ClaimDelivery implements store.Webhooks: the UPDATE succeeds for one
// replica only, since it changes what it matches on.
func (d *DB) ClaimDelivery(ctx context.Context, v store.WebhookDelivery, now, until time.Time) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1
		WHERE id = $2 AND state = $3 AND attempts = $4 AND next_attempt_at <= $5`,
		ms(until), v.ID, store.DeliveryPending, v.Attempts, ms(now))
	if err != nil {
		return false, fmt.Errorf("claiming webhook delivery %s: %w", v.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecordAttempt implements store.Webhooks.
func (d *DB) RecordAttempt(ctx context.Context, v store.WebhookDelivery, a store.WebhookAttempt) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms)
			VALUES ($1, $2, $3, $4, $5)`, v.ID, ms(a.At), a.StatusCode, a.Error, a.Duration.Milliseconds()); err != nil {
			return fmt.Errorf("recording webhook attempt: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $1, attempts = $2, next_attempt_at = $3,
			last_status = $4, last_error = $5, delivered_at = $6 WHERE id = $7`,
			v.State, v.Attempts, ms(v.NextAttemptAt), v.LastStatus, v.LastError, ms(v.DeliveredAt), v.ID); err != nil {
			return fmt.Errorf("updating webhook delivery %s: %w", v.ID, err)
		}
		return nil
	})
}

// Deliveries implements store.Webhooks.
func (d *DB) Deliveries(ctx context.Context, webhookID string, limit int) ([]store.WebhookDelivery, error) {
	return queryAll(ctx, d.db, "webhook deliveries", scanDelivery,
		`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id LIMIT $2`, webhookID, limit)
}

// WebhookDelivery implements store.Webhooks.
func (d *DB) WebhookDelivery(ctx context.Context, id string) (store.WebhookDelivery, error) {
	v, err := scanDelivery(d.db.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = $1`, id))
	if err != nil {
		return v, notFound(err, "webhook delivery")
	}
	return v, nil
}

// Attempts implements store.Webhooks.
func (d *DB) Attempts(ctx context.Context, deliveryID string) ([]store.WebhookAttempt, error) {
	return queryAll(ctx, d.db, "webhook attempts", func(row rowScanner) (store.WebhookAttempt, error) {
		var a store.WebhookAttempt
		var at, dur int64
		err := row.Scan(&a.DeliveryID, &at, &a.StatusCode, &a.Error, &dur)
		a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Millisecond
		return a, err
	}, `SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id = $1 ORDER BY at`, deliveryID)
}
