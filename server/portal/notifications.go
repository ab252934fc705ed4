package portal

import (
	"net/http"
	"strings"
	"time"
)

// --- Notifications: the user's own subscriptions, and the organization's
// channels with their deliveries ---

type channelRow struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	Addresses   []string  `json:"addresses"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	MinSeverity string    `json:"min_severity"`
	Digest      string    `json:"digest"`
	Language    string    `json:"language"`
	CreatedAt   time.Time `json:"created_at"`
}

// subscriptionEvents are the events the subscription form offers.
var subscriptionEvents = []string{"finding.opened", "finding.resolved", "finding.acknowledged", "asset.down", "asset.up", "agent.silent"}

func (p *Portal) notificationsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showNotifications(w, r, s, "", nil, map[string]any{"events": []string{}})
}

func (p *Portal) showNotifications(w http.ResponseWriter, r *http.Request, s *session, errMsg string, fields map[string]string, input map[string]any) {
	var subs struct {
		Subscriptions []channelRow `json:"subscriptions"`
	}
	var chans struct {
		Channels []channelRow `json:"channels"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/me/subscriptions", &subs}, fetch{"/api/v1/notification-channels", &chans}) {
		return
	}
	deliveries := map[string][]delivery{}
	for _, h := range chans.Channels {
		var ds struct {
			Deliveries []delivery `json:"deliveries"`
		}
		if !p.load(w, r, s, fetch{"/api/v1/notification-channels/" + pathEscape(h.ID) + "/deliveries" + q("limit", "5"), &ds}) {
			return
		}
		deliveries[h.ID] = ds.Deliveries
	}
	p.render(w, r, s, "notifications", errMsg, map[string]any{"Subscriptions": subs.Subscriptions, "Channels": chans.Channels,
		"Deliveries": deliveries, "AllEvents": subscriptionEvents, "Fields": fields, "Input": input})
}

func (p *Portal) subscribe(w http.ResponseWriter, r *http.Request, s *session) {
	if err := r.ParseForm(); err != nil {
		p.failIn(w, r, s, &apiError{Code: http.StatusBadRequest, Msg: err.Error()})
		return
	}
	in := map[string]any{"events": append([]string{}, r.PostForm["events"]...), "min_severity": r.PostFormValue("min_severity"),
		"digest": r.PostFormValue("digest"), "language": strings.TrimSpace(r.PostFormValue("language"))}
	if err := p.call(r, s.token, "POST", "/api/v1/me/subscriptions", in, nil); err != nil {
		top, fields := p.formErrors(r, err)
		p.showNotifications(withError(w, err), r, s, top, fields, in)
		return
	}
	done(w, r, "/notifications", "subscribed")
}

func (p *Portal) unsubscribe(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/me/subscriptions/"+pathEscape(r.PathValue("id")), nil, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/notifications", "unsubscribed")
}
