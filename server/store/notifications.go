package store

import (
	"context"
	"time"
)

// NotificationSettings are an organization's notification options.
type NotificationSettings struct {
	OrgID string
	// RepeatEvery: a critical finding still open and unacknowledged is
	// notified again this long after it opened, and every such interval
	// after; 0 sends no repeats.
	RepeatEvery time.Duration
	UpdatedAt   time.Time
}

// Notifications is what notification channels and subscriptions need of
// the store beyond the webhooks and their delivery queue (Webhooks), which
// every channel kind shares.
type Notifications interface {
	// UpdateWebhook replaces a channel's URL, Secret, Events,
	// Description, MinSeverity, Categories, OUID, Digest and Language.
	UpdateWebhook(ctx context.Context, w Webhook) error
	// UserWebhooks returns a user's own subscriptions, oldest first.
	UserWebhooks(ctx context.Context, userID string) ([]Webhook, error)
	// FindingDeliveries returns the deliveries about a finding, oldest
	// first.
	FindingDeliveries(ctx context.Context, findingID string) ([]WebhookDelivery, error)
	// DueDeliveriesOf returns up to limit of one webhook's pending
	// deliveries due at now, oldest first: the events of a digest.
	DueDeliveriesOf(ctx context.Context, webhookID string, now time.Time, limit int) ([]WebhookDelivery, error)
	// NotificationSettings returns an organization's settings; the zero
	// settings (with OrgID) when it has none.
	NotificationSettings(ctx context.Context, orgID string) (NotificationSettings, error)
	// PutNotificationSettings stores an organization's settings.
	PutNotificationSettings(ctx context.Context, s NotificationSettings) error
	// RepeatingOrganizations returns the settings of every organization
	// with a repeat interval.
	RepeatingOrganizations(ctx context.Context) ([]NotificationSettings, error)
}
