package api

import (
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/notification"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/webhook"
)

// notify is the rules of notification channels and subscriptions (a
// value: it keeps nothing between calls).
func (a *API) notify() *notification.Service {
	return notification.New(a.store, a.auditLog, a.webhooks.CheckURL, func() time.Time { return a.now() })
}

type channelJSON struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url,omitempty"` // teams, slack: the host only; the URL is a secret
	Addresses   []string  `json:"addresses,omitempty"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	MinSeverity string    `json:"min_severity,omitempty"`
	Categories  []string  `json:"categories,omitempty"`
	OUID        string    `json:"ou_id,omitempty"`
	Digest      string    `json:"digest,omitempty"`
	Language    string    `json:"language"`
	CreatedAt   time.Time `json:"created_at"`
	Secret      string    `json:"secret,omitempty"` // a webhook's, once, in the answer to POST
}

func toChannelJSON(h store.Webhook) channelJSON {
	j := channelJSON{ID: h.ID, Kind: h.ChannelKind(), URL: h.URL, Events: h.Events, Description: h.Description,
		MinSeverity: string(h.MinSeverity), Categories: h.Categories, OUID: h.OUID, Digest: h.Digest, Language: h.Language, CreatedAt: h.CreatedAt}
	if j.Kind == store.KindEmail {
		j.URL, j.Addresses = "", webhook.EmailAddresses(h.URL)
	}
	return j
}

func (a *API) listChannels(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	hs, err := a.notify().Channels(ctx, p)
	return reply(w, http.StatusOK, map[string]any{"channels": each(hs, toChannelJSON)}, err)
}

func (a *API) getChannel(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	h, err := a.notify().Channel(ctx, p, r.PathValue("id"))
	return reply(w, http.StatusOK, toChannelJSON(h), err)
}

func (a *API) createChannel(w http.ResponseWriter, r *http.Request) error {
	var in notification.Input
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx, p, who := a.caller(r)
	h, err := a.notify().CreateChannel(ctx, p, who, in)
	out := toChannelJSON(h)
	if h.ChannelKind() == store.KindWebhook {
		out.Secret = h.Secret
	}
	return reply(w, http.StatusCreated, out, err)
}

func (a *API) updateChannel(w http.ResponseWriter, r *http.Request) error {
	var in notification.Input
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx, p, who := a.caller(r)
	h, err := a.notify().UpdateChannel(ctx, p, who, r.PathValue("id"), in)
	return reply(w, http.StatusOK, toChannelJSON(h), err)
}

func (a *API) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	return noContent(w, a.notify().DeleteChannel(ctx, p, who, r.PathValue("id")))
}

// testChannel queues a test message (to each address of an email channel).
func (a *API) testChannel(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	h, err := a.notify().AdminChannel(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := a.webhooks.Ping(ctx, h)
	return reply(w, http.StatusAccepted, map[string]any{"delivery": deliveryJSON{ID: v.ID, Event: v.Event, State: v.State,
		CreatedAt: v.CreatedAt, Attempts: []attemptJSON{}}}, err)
}

// channelDeliveries answers a channel's newest deliveries with every
// attempt, to every user of the organization (as webhooks').
func (a *API) channelDeliveries(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	h, err := a.notify().Channel(ctx, p, r.PathValue("id"))
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

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	hs, err := a.notify().Subscriptions(ctx, p)
	return reply(w, http.StatusOK, map[string]any{"subscriptions": each(hs, toChannelJSON)}, err)
}

func (a *API) createSubscription(w http.ResponseWriter, r *http.Request) error {
	var in notification.Input
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx, p, _ := a.caller(r)
	h, err := a.notify().Subscribe(ctx, p, in)
	return reply(w, http.StatusCreated, toChannelJSON(h), err)
}

func (a *API) updateSubscription(w http.ResponseWriter, r *http.Request) error {
	var in notification.Input
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx, p, _ := a.caller(r)
	h, err := a.notify().UpdateSubscription(ctx, p, r.PathValue("id"), in)
	return reply(w, http.StatusOK, toChannelJSON(h), err)
}

func (a *API) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	return noContent(w, a.notify().Unsubscribe(ctx, p, r.PathValue("id")))
}

type notificationSettingsJSON struct {
	RepeatEvery string `json:"repeat_every"` // a Go duration, "4h0m0s"; "0s": no repeats
}

func (a *API) getNotificationSettings(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	s, err := a.notify().Settings(ctx, p)
	return reply(w, http.StatusOK, notificationSettingsJSON{RepeatEvery: s.RepeatEvery.String()}, err)
}

func (a *API) putNotificationSettings(w http.ResponseWriter, r *http.Request) error {
	var in notificationSettingsJSON
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	every, err := time.ParseDuration(in.RepeatEvery)
	if err != nil {
		return badRequest("repeat_every: a duration like 4h, or 0 for no repeats")
	}
	ctx, p, who := a.caller(r)
	s, err := a.notify().SetRepeat(ctx, p, who, every)
	return reply(w, http.StatusOK, notificationSettingsJSON{RepeatEvery: s.RepeatEvery.String()}, err)
}
