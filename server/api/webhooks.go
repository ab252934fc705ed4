package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
	"github.com/kpilot/kpilot/server/webhook"
)

// WithWebhooks queues webhook deliveries through d (which the server
// runs). Without it the API queues through a dispatcher nobody runs.
func WithWebhooks(d *webhook.Dispatcher) Option { return func(a *API) { a.webhooks = d } }

// maxWebhooks per organization.
const maxWebhooks = 20

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
	p := principalFrom(r.Context())
	hooks, err := a.store.WebhooksOf(r.Context(), []string{p.OrgID})
	if err != nil {
		return err
	}
	out := []webhookJSON{}
	for _, h := range hooks {
		out = append(out, toWebhookJSON(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
	return nil
}

// createWebhook registers an endpoint; the answer carries its signing
// secret, once.
func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) error {
	p, o, err := a.orgAdmin(r)
	if err != nil {
		return err
	}
	var req struct {
		URL         string   `json:"url"`
		Events      []string `json:"events"`
		Description string   `json:"description"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.webhooks.CheckURL(req.URL); err != nil {
		return badRequest("%v", err)
	}
	if len(req.Events) == 0 || len(req.Events) > 20 {
		return badRequest("events: 1 to 20 of finding.opened, sharing.<action>, sharing.*, finding.*, *")
	}
	for _, e := range req.Events {
		if !webhook.ValidEvent(e) {
			return badRequest("events: %q is not an event (finding.opened, sharing.<action> with action one of %s, sharing.*, finding.*, *)",
				e, strings.Join(webhook.SharingActions, ", "))
		}
	}
	desc, err := checkName("description", req.Description)
	if err != nil && req.Description != "" {
		return err
	}
	hooks, err := a.store.WebhooksOf(r.Context(), []string{o.ID})
	if err != nil {
		return err
	}
	if len(hooks) >= maxWebhooks {
		return &HTTPError{Code: http.StatusConflict, Msg: "at most " + strconv.Itoa(maxWebhooks) + " webhooks per organization"}
	}
	secret, _ := auth.NewToken("kpwh_")
	h := store.Webhook{OrgID: o.ID, URL: req.URL, Secret: secret, Events: slices.Compact(slices.Sorted(slices.Values(req.Events))),
		Description: desc, CreatedBy: p.UserID, CreatedAt: a.now()}
	if err := a.store.CreateWebhook(r.Context(), &h); err != nil {
		return err
	}
	if err := a.audit(r, o.ID, "webhook.create", "webhook", h.ID, map[string]any{"url": h.URL, "events": h.Events}); err != nil {
		return err
	}
	out := toWebhookJSON(h)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// ownWebhook loads the webhook {id} of the caller's organization; any
// other is 404.
func (a *API) ownWebhook(r *http.Request) (visibility.Principal, store.Webhook, error) {
	p := principalFrom(r.Context())
	h, err := a.store.Webhook(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && h.OrgID != p.OrgID) {
		return p, store.Webhook{}, errNotFound
	}
	return p, h, err
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	_, h, err := a.ownWebhook(r)
	if err != nil {
		return err
	}
	if _, _, err := a.orgAdmin(r); err != nil {
		return err
	}
	if err := a.store.DeleteWebhook(r.Context(), h.ID); err != nil {
		return err
	}
	if err := a.audit(r, h.OrgID, "webhook.delete", "webhook", h.ID, map[string]any{"url": h.URL}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pingWebhook queues a ping event, to try an endpoint.
func (a *API) pingWebhook(w http.ResponseWriter, r *http.Request) error {
	_, h, err := a.ownWebhook(r)
	if err != nil {
		return err
	}
	if _, _, err := a.orgAdmin(r); err != nil {
		return err
	}
	v, err := a.webhooks.Ping(r.Context(), h)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"delivery": deliveryJSON{ID: v.ID, Event: v.Event, State: v.State,
		CreatedAt: v.CreatedAt, Attempts: []attemptJSON{}}})
	return nil
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

// webhookDeliveries answers a webhook's newest deliveries with every
// attempt, to every user of the organization.
func (a *API) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	_, h, err := a.ownWebhook(r)
	if err != nil {
		return err
	}
	limit := 50
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return badRequest("limit: 1 to 500")
		}
		limit = n
	}
	ds, err := a.store.Deliveries(r.Context(), h.ID, limit)
	if err != nil {
		return err
	}
	out := []deliveryJSON{}
	for _, v := range ds {
		j := deliveryJSON{ID: v.ID, Event: v.Event, State: v.State, CreatedAt: v.CreatedAt,
			DeliveredAt: timePtr(v.DeliveredAt), Attempts: []attemptJSON{}}
		if v.State == store.DeliveryPending {
			j.NextAttemptAt = timePtr(v.NextAttemptAt)
		}
		atts, err := a.store.Attempts(r.Context(), v.ID)
		if err != nil {
			return err
		}
		for _, at := range atts {
			j.Attempts = append(j.Attempts, attemptJSON{At: at.At, StatusCode: at.StatusCode, Error: at.Error, DurationMS: at.Duration.Milliseconds()})
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
	return nil
}

// publishSharing passes a sharing audit event on to the webhooks of the
// organizations involved: where it happened, the acting partner and the
// partner it concerns.
func (a *API) publishSharing(ctx context.Context, e store.AuditEvent, detail map[string]any) {
	if !webhook.IsSharing(e.Action) {
		return
	}
	to := []string{e.OrgID, e.ActorOrgID}
	if e.TargetType == "partner" {
		to = append(to, e.TargetID)
	}
	if id, ok := detail["partner_org_id"].(string); ok {
		to = append(to, id)
	}
	if pid, ok := detail["partner_id"].(string); ok {
		if o, err := a.store.OrganizationByPartnerID(ctx, pid); err == nil {
			to = append(to, o.ID)
		}
	}
	d := map[string]any{}
	for k, v := range detail {
		if k != "api_token_id" {
			d[k] = v
		}
	}
	a.webhooks.Sharing(ctx, to, webhook.SharingData{Action: e.Action, CustomerID: e.OrgID, ActorOrganizationID: e.ActorOrgID,
		TargetType: e.TargetType, TargetID: e.TargetID, Detail: d, At: e.At})
}
