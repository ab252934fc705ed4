package store

import (
	"context"
	"time"
)

// Webhook is an organization's HTTP endpoint for events.
type Webhook struct {
	ID          string
	OrgID       string
	URL         string
	Secret      string   // HMAC-SHA256 key of the signatures; shown once at creation
	Events      []string // event names, or a prefix with "*" ("sharing.*")
	Description string
	CreatedBy   string // user id
	CreatedAt   time.Time
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // gave up after the last attempt
)

// WebhookDelivery is one event for one webhook, with its attempts so far.
type WebhookDelivery struct {
	ID            string
	WebhookID     string
	OrgID         string
	Event         string
	Payload       []byte // the JSON body, signed as sent
	CreatedAt     time.Time
	State         string
	Attempts      int
	NextAttemptAt time.Time // while pending
	LastStatus    int       // HTTP status of the last attempt; 0 when none came
	LastError     string
	DeliveredAt   time.Time
}

// WebhookAttempt is one try to deliver.
type WebhookAttempt struct {
	DeliveryID string
	At         time.Time
	StatusCode int // 0 when no response came
	Error      string
	Duration   time.Duration
}

// Webhooks stores organizations' webhooks and the queue of their
// deliveries. Several replicas work the one queue: a delivery is claimed
// before each attempt, so one replica makes it.
type Webhooks interface {
	// CreateWebhook stores w and sets w.ID.
	CreateWebhook(ctx context.Context, w *Webhook) error
	// Webhook returns a webhook by id.
	Webhook(ctx context.Context, id string) (Webhook, error)
	// WebhooksOf returns the webhooks of the organizations, oldest first.
	WebhooksOf(ctx context.Context, orgIDs []string) ([]Webhook, error)
	// DeleteWebhook removes a webhook with its deliveries and their
	// attempts, in one transaction.
	DeleteWebhook(ctx context.Context, id string) error
	// EnqueueDeliveries stores deliveries as pending (setting their ids
	// when empty and their State), due at their NextAttemptAt, in one
	// transaction.
	EnqueueDeliveries(ctx context.Context, ds []*WebhookDelivery) error
	// DueDeliveries returns up to limit pending deliveries due at now, the
	// longest due first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error)
	// ClaimDelivery takes a due delivery for one attempt by postponing it
	// to until; false when another replica took it first (it matches on
	// the delivery's attempts and due time, which a claim changes).
	ClaimDelivery(ctx context.Context, d WebhookDelivery, now, until time.Time) (bool, error)
	// RecordAttempt stores an attempt and the delivery's new state
	// (State, Attempts, NextAttemptAt, LastStatus, LastError,
	// DeliveredAt), in one transaction.
	RecordAttempt(ctx context.Context, d WebhookDelivery, a WebhookAttempt) error
	// Deliveries returns up to limit of a webhook's deliveries, newest
	// first.
	Deliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error)
	// WebhookDelivery returns a delivery by id.
	WebhookDelivery(ctx context.Context, id string) (WebhookDelivery, error)
	// Attempts returns a delivery's attempts, oldest first.
	Attempts(ctx context.Context, deliveryID string) ([]WebhookAttempt, error)
}
