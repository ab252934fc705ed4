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

// Webhooks stores webhooks and their deliveries.
type Webhooks interface {
	// CreateWebhook stores w and sets w.ID.
	CreateWebhook(ctx context.Context, w *Webhook) error
	Webhook(ctx context.Context, id string) (Webhook, error)
	// WebhooksOf returns the webhooks of the organizations.
	WebhooksOf(ctx context.Context, orgIDs []string) ([]Webhook, error)
	// DeleteWebhook removes a webhook and its deliveries.
	DeleteWebhook(ctx context.Context, id string) error
	// EnqueueDeliveries stores pending deliveries (setting their ids when
	// empty), due at their NextAttemptAt.
	EnqueueDeliveries(ctx context.Context, ds []*WebhookDelivery) error
	// DueDeliveries returns up to limit pending deliveries due at now.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error)
	// ClaimDelivery takes a due delivery for one attempt by postponing it
	// to until; false when another replica took it first.
	ClaimDelivery(ctx context.Context, d WebhookDelivery, now, until time.Time) (bool, error)
	// RecordAttempt stores an attempt and the delivery's new state
	// (State, Attempts, NextAttemptAt, LastStatus, LastError,
	// DeliveredAt).
	RecordAttempt(ctx context.Context, d WebhookDelivery, a WebhookAttempt) error
	// Deliveries returns a webhook's newest deliveries.
	Deliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error)
	WebhookDelivery(ctx context.Context, id string) (WebhookDelivery, error)
	// Attempts returns a delivery's attempts, oldest first.
	Attempts(ctx context.Context, deliveryID string) ([]WebhookAttempt, error)
}

// ReportSchedule mails a report to recipients on a schedule, as the
// user who set it up sees the assets at the time it runs.
type ReportSchedule struct {
	ID         string
	OrgID      string
	UserID     string // the report is made with this user's visibility
	Template   string // inventory, availability, capacity, backup
	Format     string // csv or pdf
	Query      string // the report's scope parameters, URL-encoded
	Every      string // daily, weekly, monthly
	Recipients []string
	NextRunAt  time.Time
	LastRunAt  time.Time
	LastError  string
	CreatedAt  time.Time
}

// ReportSchedules stores report schedules.
type ReportSchedules interface {
	// CreateReportSchedule stores s and sets s.ID.
	CreateReportSchedule(ctx context.Context, s *ReportSchedule) error
	ReportSchedule(ctx context.Context, id string) (ReportSchedule, error)
	ReportSchedulesOf(ctx context.Context, orgID string) ([]ReportSchedule, error)
	DeleteReportSchedule(ctx context.Context, id string) error
	// DueReportSchedules returns up to limit schedules due at now.
	DueReportSchedules(ctx context.Context, now time.Time, limit int) ([]ReportSchedule, error)
	// ClaimReportSchedule moves a due schedule's next run to next; false
	// when another replica claimed it first.
	ClaimReportSchedule(ctx context.Context, s ReportSchedule, next time.Time) (bool, error)
	// FinishReportSchedule records a run: its time and error ("" when
	// every recipient got the report).
	FinishReportSchedule(ctx context.Context, id string, at time.Time, errMsg string) error
}
