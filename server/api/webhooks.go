package api

import (
	"context"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/webhook"
)

// WithWebhooks queues webhook deliveries through d (which the server
// runs). Without it the API queues through a dispatcher nobody runs.
func WithWebhooks(d *webhook.Dispatcher) Option { return func(a *API) { a.webhooks = d } }

type webhookJSON struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	// Secret is shown once, in the answer to POST.
	Secret string `json:"secret,omitempty"`
}

func toWebhookJSON(h store.Webhook) webhookJSON {
	return webhookJSON{ID: h.ID, URL: h.URL, Events: h.Events, Description: h.Description, CreatedAt: h.CreatedAt}
}

// listWebhooks answers the organization's webhooks (without secrets) to
// every user of it.
func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	hooks, err := a.sharing.Webhooks(ctx, p)
	return reply(w, http.StatusOK, map[string]any{"webhooks": each(hooks, toWebhookJSON)}, err)
}

// createWebhook registers an endpoint; the answer carries its signing
// secret, once.
func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := a.orgAdmin(r); err != nil {
		return err
	}
	var req sharing.WebhookInput
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx, p, who := a.caller(r)
	h, err := a.sharing.RegisterWebhook(ctx, p, who, req)
	out := toWebhookJSON(h)
	out.Secret = h.Secret
	return reply(w, http.StatusCreated, out, err)
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	return noContent(w, a.sharing.DeleteWebhook(ctx, p, who, r.PathValue("id")))
}

// pingWebhook queues a ping event, to try an endpoint.
func (a *API) pingWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	h, err := a.sharing.AdminWebhook(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := a.webhooks.Ping(ctx, h)
	return reply(w, http.StatusAccepted, map[string]any{"delivery": deliveryJSON{ID: v.ID, Event: v.Event, State: v.State,
		CreatedAt: v.CreatedAt, Attempts: []attemptJSON{}}}, err)
}

type deliveryJSON struct {
	ID            string        `json:"id"`
	Event         string        `json:"event"`
	State         string        `json:"state"` // pending, delivered, failed
	CreatedAt     time.Time     `json:"created_at"`
	NextAttemptAt *time.Time    `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time    `json:"delivered_at,omitempty"`
	Attempts      []attemptJSON `json:"attempts"`
}

type attemptJSON struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// webhookDeliveries answers a webhook's newest deliveries to every user of
// the organization.
func (a *API) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	h, err := a.sharing.Webhook(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	limit, err := limitParam(r.URL.Query(), 50, 500)
	if err != nil {
		return err
	}
	ds, err := a.sharing.Deliveries(ctx, h, limit)
	return reply(w, http.StatusOK, map[string]any{"deliveries": each(ds, toDeliveryJSON)}, err)
}

func toDeliveryJSON(v sharing.Delivery) deliveryJSON {
	j := deliveryJSON{ID: v.ID, Event: v.Event, State: v.State, CreatedAt: v.CreatedAt,
		DeliveredAt: timePtr(v.DeliveredAt), Attempts: []attemptJSON{}}
	if v.State == store.DeliveryPending {
		j.NextAttemptAt = timePtr(v.NextAttemptAt)
	}
	for _, at := range v.Attempts {
		j.Attempts = append(j.Attempts, attemptJSON{At: at.At, StatusCode: at.StatusCode, Error: at.Error, DurationMS: at.Duration.Milliseconds()})
	}
	return j
}

// publishSharing passes sharing audit events on to webhooks.
func (a *API) publishSharing(ctx context.Context, e store.AuditEvent, detail map[string]any) {
	a.webhooks.SharingEvent(ctx, e, detail, a.store.OrganizationByPartnerID)
}
