package portal

import (
	"net/http"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/webhook"
)

// --- Webhooks: endpoints the server posts findings and sharing events to ---

type webhookRow struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	Secret      string    `json:"secret"`
}

type delivery struct {
	ID          string     `json:"id"`
	Event       string     `json:"event"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Attempts    []struct {
		At         time.Time `json:"at"`
		StatusCode int       `json:"status_code"`
		Error      string    `json:"error"`
	} `json:"attempts"`
}

// webhookEvents are the events a webhook may subscribe to, as the form
// offers them: the wildcards first, then each sharing action.
func webhookEvents() []string {
	out := []string{"*", "finding.*", webhook.EventFindingOpened, "sharing.*"}
	for _, a := range webhook.SharingActions {
		out = append(out, webhook.SharingPrefix+a)
	}
	return out
}

func (p *Portal) webhooksPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showWebhooks(w, r, s, "", nil, map[string]any{"Events": []string{}}, nil)
}

// showWebhooks shows the organization's webhooks, each with its latest
// deliveries; created is the webhook just registered, with its secret
// (shown once).
func (p *Portal) showWebhooks(w http.ResponseWriter, r *http.Request, s *session, errMsg string, fields map[string]string, input map[string]any, created *webhookRow) {
	var res struct {
		Webhooks []webhookRow `json:"webhooks"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/webhooks", &res}) {
		return
	}
	deliveries := map[string][]delivery{}
	for _, h := range res.Webhooks {
		var ds struct {
			Deliveries []delivery `json:"deliveries"`
		}
		if !p.load(w, r, s, fetch{"/api/v1/webhooks/" + pathEscape(h.ID) + "/deliveries" + q("limit", "5"), &ds}) {
			return
		}
		deliveries[h.ID] = ds.Deliveries
	}
	p.render(w, r, s, "webhooks", errMsg, map[string]any{"Webhooks": res.Webhooks, "Deliveries": deliveries,
		"AllEvents": webhookEvents(), "Fields": fields, "Input": input, "Created": created})
}

func (p *Portal) createWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	if err := r.ParseForm(); err != nil {
		p.failIn(w, r, s, &apiError{Code: http.StatusBadRequest, Msg: err.Error()})
		return
	}
	in := map[string]any{"url": strings.TrimSpace(r.PostFormValue("url")), "events": append([]string{}, r.PostForm["events"]...),
		"description": strings.TrimSpace(r.PostFormValue("description"))}
	var h webhookRow
	if err := p.call(r, s.token, "POST", "/api/v1/webhooks", in, &h); err != nil {
		top, fields := p.formErrors(r, err)
		p.showWebhooks(withError(w, err), r, s, top, fields, in, nil)
		return
	}
	// The secret is in this answer only: show it now, do not redirect.
	p.showWebhooks(w, r, s, "", nil, map[string]any{"Events": []string{}}, &h)
}

func (p *Portal) deleteWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/webhooks/"+pathEscape(r.PathValue("id")), nil, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/webhooks", "webhook_deleted")
}

// pingWebhook queues a test delivery; its outcome shows under the
// webhook's deliveries.
func (p *Portal) pingWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "POST", "/api/v1/webhooks/"+pathEscape(r.PathValue("id"))+"/ping", nil, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/webhooks", "webhook_pinged")
}
