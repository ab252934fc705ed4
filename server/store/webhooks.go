package store

import (
	"context"
	"time"
)

// Webhook is a notification channel: an organization's HTTP endpoint
// for events (Kind webhook), one of its other channels (teams, slack,
// email), or, with UserID set, one user's own subscription (email to the
// user's address).
type Webhook struct {
	ID    string
	OrgID string // the organization the channel, or the subscriber, acts in
	Kind  string // webhook (also for ""), teams, slack, email
	// URL is where a webhook posts; for teams and slack a display form
	// without the secret path (the URL itself is in Secret); for email
	// "mailto:" and the addresses, comma-separated.
	URL         string
	Secret      string   // webhook: HMAC-SHA256 key, shown once at creation; teams, slack: the URL; sealed at rest
	Events      []string // event names, or a prefix with "*" ("sharing.*")
	Description string
	CreatedBy   string // user id
	CreatedAt   time.Time

	// UserID is the subscriber of a user's subscription; empty for an
	// organization's channel.
	UserID      string
	MinSeverity Severity // only findings at least this severe ("": any)
	Categories  []string // only assets of these categories (nil: any)
	OUID        string   // only assets of this OU and below ("": any)
	Digest      string   // "" (each event at once), hourly or daily
	Language    string   // of email bodies: en or de
}

// Channel kinds.
const (
	KindWebhook = "webhook"
	KindTeams   = "teams"
	KindSlack   = "slack"
	KindEmail   = "email"
)

// ChannelKind is w's kind, webhook when unset.
func (w Webhook) ChannelKind() string {
	if w.Kind == "" {
		return KindWebhook
	}
	return w.Kind
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // gave up after the last attempt
	// DeliverySuppressed: not sent, because at send time the recipient
	// may no longer see what it is about (LastError says why).
	DeliverySuppressed = "suppressed"
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

	Recipient string // the address of an email delivery; "" for a user's subscription (the user's address at send time)
	FindingID string // the finding the event is about, if any
	// DedupeKey, when set, is unique per channel and recipient: queueing
	// it again is a no-op (EnqueueDeliveries skips it).
	DedupeKey string
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
	// transaction. A delivery whose DedupeKey is queued already for its
	// webhook and recipient is skipped (its State stays empty).
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
