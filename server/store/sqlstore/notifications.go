package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

// UpdateWebhook implements store.Notifications.
func (d *DB) UpdateWebhook(ctx context.Context, w store.Webhook) error {
	secret, err := d.sealSecret(webhookSecrets, w.ID, w.Secret)
	if err != nil {
		return fmt.Errorf("updating webhook %s: %w", w.ID, err)
	}
	if w.Language == "" {
		w.Language = "en"
	}
	res, err := d.db.ExecContext(ctx, `UPDATE webhooks SET url = $1, secret = $2, events = $3, description = $4,
		min_severity = $5, categories = $6, ou_id = $7, digest = $8, language = $9 WHERE id = $10`,
		w.URL, secret, strings.Join(w.Events, " "), w.Description, string(w.MinSeverity), strings.Join(w.Categories, " "),
		w.OUID, w.Digest, w.Language, w.ID)
	if err != nil {
		return fmt.Errorf("updating webhook %s: %w", w.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("webhook %s: %w", w.ID, store.ErrNotFound)
	}
	return nil
}

// UserWebhooks implements store.Notifications.
func (d *DB) UserWebhooks(ctx context.Context, userID string) ([]store.Webhook, error) {
	return queryAll(ctx, d.db, "subscriptions", d.scanWebhook,
		`SELECT `+webhookCols+` FROM webhooks WHERE user_id = $1 ORDER BY created_at, id`, userID)
}

// FindingDeliveries implements store.Notifications.
func (d *DB) FindingDeliveries(ctx context.Context, findingID string) ([]store.WebhookDelivery, error) {
	return queryAll(ctx, d.db, "deliveries of a finding", scanDelivery,
		`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE finding_id = $1 ORDER BY created_at, id`, findingID)
}

// DueDeliveriesOf implements store.Notifications.
func (d *DB) DueDeliveriesOf(ctx context.Context, webhookID string, now time.Time, limit int) ([]store.WebhookDelivery, error) {
	return queryAll(ctx, d.db, "due deliveries of a webhook", scanDelivery,
		`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook_id = $1 AND state = $2 AND next_attempt_at <= $3
		 ORDER BY created_at, id LIMIT $4`, webhookID, store.DeliveryPending, ms(now), limit)
}

func scanNotificationSettings(row rowScanner) (store.NotificationSettings, error) {
	var s store.NotificationSettings
	var every, updated int64
	err := row.Scan(&s.OrgID, &every, &updated)
	s.RepeatEvery, s.UpdatedAt = time.Duration(every)*time.Second, fromMS(updated)
	return s, err
}

// NotificationSettings implements store.Notifications.
func (d *DB) NotificationSettings(ctx context.Context, orgID string) (store.NotificationSettings, error) {
	ss, err := queryAll(ctx, d.db, "notification settings", scanNotificationSettings,
		`SELECT org_id, repeat_every_s, updated_at FROM notification_settings WHERE org_id = $1`, orgID)
	if err != nil || len(ss) == 0 {
		return store.NotificationSettings{OrgID: orgID}, err
	}
	return ss[0], nil
}

// PutNotificationSettings implements store.Notifications.
func (d *DB) PutNotificationSettings(ctx context.Context, s store.NotificationSettings) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO notification_settings (org_id, repeat_every_s, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (org_id) DO UPDATE SET repeat_every_s = excluded.repeat_every_s, updated_at = excluded.updated_at`,
		s.OrgID, int64(s.RepeatEvery/time.Second), ms(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("storing notification settings of %s: %w", s.OrgID, err)
	}
	return nil
}

// RepeatingOrganizations implements store.Notifications.
func (d *DB) RepeatingOrganizations(ctx context.Context) ([]store.NotificationSettings, error) {
	return queryAll(ctx, d.db, "notification settings", scanNotificationSettings,
		`SELECT org_id, repeat_every_s, updated_at FROM notification_settings WHERE repeat_every_s > 0 ORDER BY org_id`)
}
