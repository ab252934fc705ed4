package portal

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// --- Notifications: the user's own subscriptions, and the organization's
// channels with their deliveries and its repeat interval ---

type channelRow struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url"` // teams, slack: the host only (the API keeps the URL secret)
	Addresses   []string  `json:"addresses"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	MinSeverity string    `json:"min_severity"`
	Categories  []string  `json:"categories"`
	OUID        string    `json:"ou_id"`
	Digest      string    `json:"digest"`
	Language    string    `json:"language"`
	CreatedAt   time.Time `json:"created_at"`
	Secret      string    `json:"secret"` // a webhook's, in the answer to its creation only
}

// subscriptionEvents are the events the subscription form offers.
var subscriptionEvents = []string{"finding.opened", "finding.resolved", "finding.acknowledged", "asset.down", "asset.up", "agent.silent"}

// channelEvents are the events the channel form offers: a subscription's
// and the repeats of long-open critical findings.
var channelEvents = []string{"finding.opened", "finding.resolved", "finding.acknowledged", "finding.repeat", "asset.down", "asset.up", "agent.silent"}

// channelKinds are the kinds of channel the form offers.
var channelKinds = []string{"email", "teams", "slack", "webhook"}

// notifyLabels are the message ids of events and channel kinds.
var notifyLabels = map[string]string{"finding.opened": "notify.ev_opened", "finding.resolved": "notify.ev_resolved",
	"finding.acknowledged": "notify.ev_acknowledged", "finding.repeat": "notify.ev_repeat", "asset.down": "notify.ev_asset_down",
	"asset.up": "notify.ev_asset_up", "agent.silent": "notify.ev_agent_silent", "ping": "notify.ev_ping",
	"email": "notify.kind_email", "teams": "notify.kind_teams", "slack": "notify.kind_slack", "webhook": "notify.kind_webhook"}

// repeatChoices are the repeat intervals the settings form offers (the
// API takes 0 or 15m to 168h).
var repeatChoices = []time.Duration{0, time.Hour, 4 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// catLabels are the message ids of the categories the portal names; any
// other category (one set through the API) shows as it is.
var catLabels = func() map[string]string {
	m := map[string]string{}
	for _, c := range append(append([]string{}, editCategories...), "other") {
		m[c] = "category." + c
	}
	return m
}()

// notifyForm is the state of the page's forms: which one is being edited
// or failed, with what the user entered and the API's messages at its
// fields.
type notifyForm struct {
	Name   string         // "channel", "subscription", "repeat" or "delete-<id>"
	EditID string         // the channel or subscription the form changes; "" creates
	Input  map[string]any // by the API's field names
	Fields map[string]string
}

type repeatChoice struct {
	Value string // as the form sends it, a Go duration
	Hours int    // 0: off
	Other string // a value the API holds that is not a choice, as is
}

func (p *Portal) notificationsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showNotifications(w, r, s, "", notifyForm{}, nil)
}

// showNotifications shows the page; f is the form to show filled in (a
// failed one, or the one ?edit= asks for), created the webhook just
// created, with its signing secret (shown once).
func (p *Portal) showNotifications(w http.ResponseWriter, r *http.Request, s *session, errMsg string, f notifyForm, created *channelRow) {
	var subs struct {
		Subscriptions []channelRow `json:"subscriptions"`
	}
	var chans struct {
		Channels []channelRow `json:"channels"`
	}
	var settings struct {
		RepeatEvery string `json:"repeat_every"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/me/subscriptions", &subs}, fetch{"/api/v1/notification-channels", &chans},
		fetch{"/api/v1/notification-settings", &settings}) {
		return
	}
	// The OU filter is offered where the user may list OUs; the rest of
	// the page does without.
	ous, names, _ := p.ous(r, s)
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
	if f.Name == "" {
		f = editForm(r.URL.Query().Get("edit"), chans.Channels, subs.Subscriptions)
	}
	if f.Input == nil {
		f.Input = map[string]any{}
	}
	if f.Fields == nil {
		f.Fields = map[string]string{}
	}
	// Each form reads its own input and messages; the others start empty.
	forms := map[string]notifyForm{}
	for _, name := range []string{"channel", "subscription", "repeat"} {
		forms[name] = notifyForm{Name: name, Input: map[string]any{}, Fields: map[string]string{}}
	}
	forms[f.Name] = f
	// A category set through the API that the form does not offer stays
	// offered (ticked), so that saving the form keeps it.
	cats := append([]string{}, categories...)
	if sel, ok := f.Input["categories"].([]string); ok {
		for _, c := range sel {
			if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
	}
	p.render(w, r, s, "notifications", errMsg, map[string]any{"Subscriptions": subs.Subscriptions, "Channels": chans.Channels,
		"Deliveries": deliveries, "SubEvents": subscriptionEvents, "ChannelEvents": channelEvents, "Kinds": channelKinds,
		"Labels": notifyLabels, "Severities": []string{"info", "warning", "critical"}, "Categories": cats, "CatLabels": catLabels, "OUs": ous, "OUNames": names, "Repeat": repeatOptions(settings.RepeatEvery),
		"Forms": forms, "Created": created})
}

// editForm fills the form of the channel or subscription id in.
func editForm(id string, chans, subs []channelRow) notifyForm {
	for name, rows := range map[string][]channelRow{"channel": chans, "subscription": subs} {
		if i := slices.IndexFunc(rows, func(c channelRow) bool { return c.ID == id }); id != "" && i >= 0 {
			c := rows[i]
			return notifyForm{Name: name, EditID: c.ID, Input: map[string]any{"kind": c.Kind, "addresses": strings.Join(c.Addresses, ", "),
				"events": c.Events, "description": c.Description, "min_severity": c.MinSeverity, "categories": c.Categories,
				"ou_id": c.OUID, "digest": c.Digest, "language": c.Language, "url": webhookURL(c)}}
		}
	}
	return notifyForm{}
}

// webhookURL is the URL a form may show again: a webhook's; a Teams or
// Slack URL is a secret the user enters anew.
func webhookURL(c channelRow) string {
	if c.Kind == "webhook" {
		return c.URL
	}
	return ""
}

// repeatOptions are the choices of the repeat form, with the API's
// current value ("4h0m0s") marked by its Value.
func repeatOptions(current string) map[string]any {
	cur, err := time.ParseDuration(current)
	if err != nil {
		cur = 0
	}
	var out []repeatChoice
	for _, d := range repeatChoices {
		out = append(out, repeatChoice{Value: d.String(), Hours: int(d / time.Hour)})
	}
	if !slices.Contains(repeatChoices, cur) {
		out = append(out, repeatChoice{Value: cur.String(), Other: cur.String()})
	}
	return map[string]any{"Choices": out, "Current": cur.String()}
}

// notifyInput reads a channel or subscription form into the API's body.
func notifyInput(r *http.Request) map[string]any {
	var addrs []string
	for _, a := range strings.FieldsFunc(r.PostFormValue("addresses"), func(c rune) bool {
		return c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r' || c == '\t'
	}) {
		addrs = append(addrs, a)
	}
	in := map[string]any{"kind": r.PostFormValue("kind"), "url": strings.TrimSpace(r.PostFormValue("url")), "addresses": addrs,
		"events": append([]string{}, r.PostForm["events"]...), "description": strings.TrimSpace(r.PostFormValue("description")),
		"min_severity": r.PostFormValue("min_severity"), "categories": append([]string{}, r.PostForm["categories"]...),
		"ou_id": r.PostFormValue("ou_id"), "digest": r.PostFormValue("digest"), "language": strings.TrimSpace(r.PostFormValue("language"))}
	if in["kind"] != "email" {
		in["addresses"] = []string{}
	}
	return in
}

// shownInput is the form's input as the page shows it again: the addresses
// as typed, never a URL (a Teams or Slack URL is a secret).
func shownInput(r *http.Request, in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	out["addresses"] = r.PostFormValue("addresses")
	if in["kind"] != "webhook" {
		delete(out, "url")
	}
	return out
}

// saveNotify sends a channel or subscription form to the API at path
// (POST creates, PUT updates) and shows the page with the outcome.
func (p *Portal) saveNotify(w http.ResponseWriter, r *http.Request, s *session, form, method, path, doneKey string) {
	if err := r.ParseForm(); err != nil {
		p.failIn(w, r, s, &apiError{Code: http.StatusBadRequest, Msg: err.Error()})
		return
	}
	in := notifyInput(r)
	if form == "subscription" {
		delete(in, "url")
		delete(in, "addresses")
	}
	var h channelRow
	if err := p.call(r, s.token, method, path, in, &h); err != nil {
		top, fields := p.formErrors(r, err)
		p.showNotifications(withError(w, err), r, s, top, notifyForm{Name: form, EditID: r.PathValue("id"), Input: shownInput(r, in), Fields: fields}, nil)
		return
	}
	if h.Secret != "" { // a webhook's secret is in this answer only: show it now
		p.showNotifications(w, r, s, "", notifyForm{}, &h)
		return
	}
	done(w, r, "/notifications", doneKey)
}

func (p *Portal) createChannel(w http.ResponseWriter, r *http.Request, s *session) {
	p.saveNotify(w, r, s, "channel", "POST", "/api/v1/notification-channels", "channel_added")
}

func (p *Portal) updateChannel(w http.ResponseWriter, r *http.Request, s *session) {
	p.saveNotify(w, r, s, "channel", "PUT", "/api/v1/notification-channels/"+pathEscape(r.PathValue("id")), "channel_saved")
}

// deleteChannel deletes a channel once the user ticked the confirmation.
func (p *Portal) deleteChannel(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if r.PostFormValue("confirm") != "yes" {
		w.WriteHeader(http.StatusBadRequest)
		p.showNotifications(w, r, s, p.tr(r, "error.input"), notifyForm{Name: "delete-" + id,
			Fields: map[string]string{"confirm": p.tr(r, "notify.confirm_missing")}}, nil)
		return
	}
	if err := p.call(r, s.token, "DELETE", "/api/v1/notification-channels/"+pathEscape(id), nil, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/notifications", "channel_deleted")
}

// testChannel queues a test message; its outcome shows under the
// channel's deliveries.
func (p *Portal) testChannel(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "POST", "/api/v1/notification-channels/"+pathEscape(r.PathValue("id"))+"/test", nil, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/notifications", "channel_tested")
}

func (p *Portal) saveRepeat(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]any{"repeat_every": r.PostFormValue("repeat_every")}
	if err := p.call(r, s.token, "PUT", "/api/v1/notification-settings", in, nil); err != nil {
		top, fields := p.formErrors(r, err)
		p.showNotifications(withError(w, err), r, s, top, notifyForm{Name: "repeat", Input: in, Fields: fields}, nil)
		return
	}
	done(w, r, "/notifications", "repeat_saved")
}

func (p *Portal) subscribe(w http.ResponseWriter, r *http.Request, s *session) {
	p.saveNotify(w, r, s, "subscription", "POST", "/api/v1/me/subscriptions", "subscribed")
}

func (p *Portal) updateSubscription(w http.ResponseWriter, r *http.Request, s *session) {
	p.saveNotify(w, r, s, "subscription", "PUT", "/api/v1/me/subscriptions/"+pathEscape(r.PathValue("id")), "subscription_saved")
}

func (p *Portal) unsubscribe(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/me/subscriptions/"+pathEscape(r.PathValue("id")), nil, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/notifications", "unsubscribed")
}
