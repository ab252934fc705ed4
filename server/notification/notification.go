// Package notification holds the rules of who may set up which
// notifications: an organization's channels (email addresses, a Microsoft
// Teams Workflows URL, a Slack incoming webhook, a signed webhook) are
// set up by the admins of all of it and listed to every user of it; each
// user sets up their own subscriptions (email to their address, filtered
// by severity, category, OU and event, at once or as a digest). Sending
// is package webhook's: every channel kind shares its delivery queue.
// Failures a caller should read are *problem.Error.
package notification

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
	"github.com/kpilot/kpilot/server/webhook"
)

// Limits of one organization and one user.
const (
	MaxChannels      = 20
	MaxSubscriptions = 20
	MaxAddresses     = 20
)

// Store is what the rules need of the metadata store.
type Store interface {
	Organization(ctx context.Context, id string) (store.Organization, error)
	OUs(ctx context.Context, orgID string) ([]store.OU, error)
	CreateWebhook(ctx context.Context, w *store.Webhook) error
	Webhook(ctx context.Context, id string) (store.Webhook, error)
	WebhooksOf(ctx context.Context, orgIDs []string) ([]store.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	UpdateWebhook(ctx context.Context, w store.Webhook) error
	UserWebhooks(ctx context.Context, userID string) ([]store.Webhook, error)
	NotificationSettings(ctx context.Context, orgID string) (store.NotificationSettings, error)
	PutNotificationSettings(ctx context.Context, s store.NotificationSettings) error
}

// Service applies the rules on a store and records every change of an
// organization's channels in its audit trail. It is safe for concurrent
// use.
type Service struct {
	st       Store
	rec      audit.Recorder
	checkURL func(string) error // webhook.Dispatcher.CheckURL
	now      func() time.Time
}

// New returns a Service; checkURL refuses URLs the dispatcher may not
// call (internal addresses).
func New(st Store, rec audit.Recorder, checkURL func(string) error, now func() time.Time) *Service {
	return &Service{st: st, rec: rec, checkURL: checkURL, now: now}
}

// Input is a channel or subscription as a user sends it.
type Input struct {
	Kind        string   `json:"kind"`      // webhook, teams, slack, email; subscriptions: email
	URL         string   `json:"url"`       // webhook, teams, slack
	Addresses   []string `json:"addresses"` // email channels
	Events      []string `json:"events"`
	Description string   `json:"description"`
	MinSeverity string   `json:"min_severity"`
	Categories  []string `json:"categories"`
	OUID        string   `json:"ou_id"`
	Digest      string   `json:"digest"` // email: "", hourly, daily
	Language    string   `json:"language"`
}

// findingEvents are what channels other than webhooks (and
// subscriptions) may receive.
var findingEvents = []string{"*", "finding.*", "asset.*", "agent.*", webhook.EventFindingOpened, webhook.EventFindingResolved,
	webhook.EventFindingAcknowledged, webhook.EventFindingRepeat, webhook.EventAssetDown, webhook.EventAssetUp, webhook.EventAgentSilent}

// build checks in and returns the channel it describes (h carries the
// fields that stay: id, organization, subscriber, creator).
func (s *Service) build(ctx context.Context, h store.Webhook, in Input) (store.Webhook, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, problem.Invalidf(format, args...)) }
	h.Kind = in.Kind
	if h.UserID != "" && h.Kind == "" {
		h.Kind = store.KindEmail
	}
	switch {
	case h.UserID != "" && h.Kind != store.KindEmail:
		bad("kind: subscriptions are email to your own address")
	case !slices.Contains([]string{store.KindWebhook, store.KindTeams, store.KindSlack, store.KindEmail}, h.Kind):
		bad("kind: one of webhook, teams, slack, email")
	}
	switch h.Kind {
	case store.KindWebhook, store.KindTeams, store.KindSlack:
		if err := s.checkURL(in.URL); err != nil {
			bad("%v", err)
		}
		if h.Kind == store.KindWebhook {
			if h.Secret == "" { // made once, shown once; a new URL keeps it
				h.Secret, _ = auth.NewToken("kpwh_")
			}
			h.URL = in.URL
		} else if u, err := url.Parse(in.URL); err == nil {
			// The path of a Teams or Slack URL is its secret: kept sealed,
			// shown as the host only.
			h.URL, h.Secret = u.Scheme+"://"+u.Host+"/…", in.URL
		}
	case store.KindEmail:
		if h.UserID == "" {
			h.URL = "mailto:" + strings.Join(in.Addresses, ",")
			if len(in.Addresses) == 0 || len(in.Addresses) > MaxAddresses {
				bad("addresses: 1 to %d email addresses", MaxAddresses)
			}
			for _, a := range in.Addresses {
				if m, err := mail.ParseAddress(a); err != nil || m.Address != a || strings.Contains(a, ",") {
					bad("addresses: %q is not an email address like ops@example.com", a)
				}
			}
		}
	}
	h.Events = slices.Compact(slices.Sorted(slices.Values(in.Events)))
	if len(h.Events) == 0 || len(h.Events) > 20 {
		bad("events: 1 to 20 of %s", strings.Join(findingEvents, ", "))
	}
	for _, e := range h.Events {
		if !slices.Contains(findingEvents, e) && (h.Kind != store.KindWebhook || !webhook.ValidEvent(e)) {
			bad("events: %q is not an event (%s; webhooks also sharing.*)", e, strings.Join(findingEvents, ", "))
		}
	}
	if in.Description != "" {
		d, err := input.Name("description", in.Description)
		if err != nil {
			errs = append(errs, err)
		}
		h.Description = d
	} else {
		h.Description = ""
	}
	h.MinSeverity = store.Severity(in.MinSeverity)
	if in.MinSeverity != "" && h.MinSeverity.Rank() == 0 {
		bad("min_severity: info, warning or critical")
	}
	h.Categories = nil
	for _, c := range in.Categories {
		if c = strings.TrimSpace(c); c == "" || strings.ContainsAny(c, " \t\n") || len(c) > 64 {
			bad("categories: %q is not a category (server, storage, network, …)", c)
		}
		h.Categories = append(h.Categories, c)
	}
	h.OUID = in.OUID
	if h.OUID != "" {
		ous, err := s.st.OUs(ctx, h.OrgID)
		if err != nil {
			return h, fmt.Errorf("loading OUs: %w", err)
		}
		if !slices.ContainsFunc(ous, func(u store.OU) bool { return u.ID == h.OUID }) {
			bad("ou_id: no such organization unit")
		}
	}
	h.Digest = in.Digest
	switch {
	case h.Digest != "" && h.Digest != webhook.DigestHourly && h.Digest != webhook.DigestDaily:
		bad("digest: empty (each event at once), hourly or daily")
	case h.Digest != "" && h.Kind != store.KindEmail:
		bad("digest: for email only")
	}
	h.Language = in.Language
	if h.Language == "" {
		h.Language = "en"
	}
	if h.Language != "en" && h.Language != "de" {
		bad("language: en or de")
	}
	return h, errors.Join(errs...)
}

// wholeOrgAdmin passes admins of all of p's organization.
func (s *Service) wholeOrgAdmin(ctx context.Context, p visibility.Principal) error {
	o, err := s.st.Organization(ctx, p.OrgID)
	if err != nil {
		return fmt.Errorf("loading organization %s: %w", p.OrgID, err)
	}
	if !p.AdministersAll(o) {
		return problem.ErrWholeOrgOnly
	}
	return nil
}

// Channels returns the channels of p's organization (every kind,
// secrets included: callers answer them without) to every user of it.
func (s *Service) Channels(ctx context.Context, p visibility.Principal) ([]store.Webhook, error) {
	hs, err := s.st.WebhooksOf(ctx, []string{p.OrgID})
	if err != nil {
		return nil, fmt.Errorf("loading channels: %w", err)
	}
	return slices.DeleteFunc(hs, func(h store.Webhook) bool { return h.UserID != "" }), nil
}

// Channel returns a channel of p's organization; anything else is not
// found.
func (s *Service) Channel(ctx context.Context, p visibility.Principal, id string) (store.Webhook, error) {
	h, err := s.st.Webhook(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (h.OrgID != p.OrgID || h.UserID != "")) {
		return store.Webhook{}, problem.ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("loading channel %s: %w", id, err)
	}
	return h, nil
}

// AdminChannel is Channel for changes: admins of the whole organization.
func (s *Service) AdminChannel(ctx context.Context, p visibility.Principal, id string) (store.Webhook, error) {
	h, err := s.Channel(ctx, p, id)
	if err != nil {
		return h, err
	}
	return h, s.wholeOrgAdmin(ctx, p)
}

// CreateChannel adds a channel to p's organization. A webhook's answer
// carries its signing secret, shown once.
func (s *Service) CreateChannel(ctx context.Context, p visibility.Principal, who audit.Actor, in Input) (store.Webhook, error) {
	if err := s.wholeOrgAdmin(ctx, p); err != nil {
		return store.Webhook{}, err
	}
	h, err := s.build(ctx, store.Webhook{OrgID: p.OrgID, CreatedBy: p.UserID, CreatedAt: s.now()}, in)
	if err != nil {
		return store.Webhook{}, err
	}
	hs, err := s.Channels(ctx, p)
	if err != nil {
		return store.Webhook{}, err
	}
	if len(hs) >= MaxChannels {
		return store.Webhook{}, problem.Newf(problem.Conflict, "at most %d channels per organization", MaxChannels)
	}
	if err := s.st.CreateWebhook(ctx, &h); err != nil {
		return h, fmt.Errorf("creating channel: %w", err)
	}
	return h, s.record(ctx, who, p.OrgID, "notification_channel.create", h)
}

// UpdateChannel replaces a channel's settings.
func (s *Service) UpdateChannel(ctx context.Context, p visibility.Principal, who audit.Actor, id string, in Input) (store.Webhook, error) {
	h, err := s.AdminChannel(ctx, p, id)
	if err != nil {
		return h, err
	}
	if in.Kind != h.ChannelKind() {
		return h, problem.Invalidf("kind: a channel keeps its kind (%s); delete it and create another", h.ChannelKind())
	}
	if h, err = s.build(ctx, h, in); err != nil {
		return h, err
	}
	if err := s.st.UpdateWebhook(ctx, h); err != nil {
		return h, fmt.Errorf("updating channel %s: %w", id, err)
	}
	return h, s.record(ctx, who, p.OrgID, "notification_channel.update", h)
}

// DeleteChannel removes a channel with its deliveries.
func (s *Service) DeleteChannel(ctx context.Context, p visibility.Principal, who audit.Actor, id string) error {
	h, err := s.AdminChannel(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteWebhook(ctx, h.ID); err != nil {
		return fmt.Errorf("deleting channel %s: %w", id, err)
	}
	return s.record(ctx, who, p.OrgID, "notification_channel.delete", h)
}

func (s *Service) record(ctx context.Context, who audit.Actor, orgID, action string, h store.Webhook) error {
	err := s.rec.Record(ctx, who, audit.Entry{OrgID: orgID, Action: action, TargetType: "notification_channel", TargetID: h.ID,
		Detail: map[string]any{"kind": h.ChannelKind(), "url": h.URL, "events": h.Events}})
	if err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}

// Subscriptions returns p's own subscriptions in the organization p acts
// in.
func (s *Service) Subscriptions(ctx context.Context, p visibility.Principal) ([]store.Webhook, error) {
	hs, err := s.st.UserWebhooks(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("loading subscriptions: %w", err)
	}
	return slices.DeleteFunc(hs, func(h store.Webhook) bool { return h.OrgID != p.OrgID }), nil
}

// Subscription returns one of p's subscriptions; any other is not found.
func (s *Service) Subscription(ctx context.Context, p visibility.Principal, id string) (store.Webhook, error) {
	h, err := s.st.Webhook(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (h.UserID != p.UserID || h.OrgID != p.OrgID || p.UserID == "")) {
		return store.Webhook{}, problem.ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("loading subscription %s: %w", id, err)
	}
	return h, nil
}

// Subscribe adds a subscription of p (any user, partners' too: what it
// delivers is what p may see at send time).
func (s *Service) Subscribe(ctx context.Context, p visibility.Principal, in Input) (store.Webhook, error) {
	if p.UserID == "" {
		return store.Webhook{}, problem.New(problem.Forbidden, "subscriptions belong to users")
	}
	h, err := s.build(ctx, store.Webhook{OrgID: p.OrgID, UserID: p.UserID, CreatedBy: p.UserID, CreatedAt: s.now()}, in)
	if err != nil {
		return h, err
	}
	hs, err := s.Subscriptions(ctx, p)
	if err != nil {
		return h, err
	}
	if len(hs) >= MaxSubscriptions {
		return h, problem.Newf(problem.Conflict, "at most %d subscriptions per user", MaxSubscriptions)
	}
	if err := s.st.CreateWebhook(ctx, &h); err != nil {
		return h, fmt.Errorf("creating subscription: %w", err)
	}
	return h, nil
}

// UpdateSubscription replaces one of p's subscriptions' settings.
func (s *Service) UpdateSubscription(ctx context.Context, p visibility.Principal, id string, in Input) (store.Webhook, error) {
	h, err := s.Subscription(ctx, p, id)
	if err != nil {
		return h, err
	}
	if h, err = s.build(ctx, h, in); err != nil {
		return h, err
	}
	if err := s.st.UpdateWebhook(ctx, h); err != nil {
		return h, fmt.Errorf("updating subscription %s: %w", id, err)
	}
	return h, nil
}

// Unsubscribe deletes one of p's subscriptions.
func (s *Service) Unsubscribe(ctx context.Context, p visibility.Principal, id string) error {
	h, err := s.Subscription(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteWebhook(ctx, h.ID); err != nil {
		return fmt.Errorf("deleting subscription %s: %w", id, err)
	}
	return nil
}

// Settings returns p's organization's notification settings.
func (s *Service) Settings(ctx context.Context, p visibility.Principal) (store.NotificationSettings, error) {
	st, err := s.st.NotificationSettings(ctx, p.OrgID)
	if err != nil {
		return st, fmt.Errorf("loading notification settings: %w", err)
	}
	return st, nil
}

// SetRepeat sets the organization's repeat interval (0: no repeats; at
// least 15 minutes, at most a week).
func (s *Service) SetRepeat(ctx context.Context, p visibility.Principal, who audit.Actor, every time.Duration) (store.NotificationSettings, error) {
	if err := s.wholeOrgAdmin(ctx, p); err != nil {
		return store.NotificationSettings{}, err
	}
	if every != 0 && (every < 15*time.Minute || every > 7*24*time.Hour) {
		return store.NotificationSettings{}, problem.Invalidf("repeat_every: 0 (no repeats) or from 15m to 168h, like 4h")
	}
	st := store.NotificationSettings{OrgID: p.OrgID, RepeatEvery: every, UpdatedAt: s.now()}
	if err := s.st.PutNotificationSettings(ctx, st); err != nil {
		return st, fmt.Errorf("storing notification settings: %w", err)
	}
	err := s.rec.Record(ctx, who, audit.Entry{OrgID: p.OrgID, Action: "notification_settings.update", TargetType: "organization",
		TargetID: p.OrgID, Detail: map[string]any{"repeat_every": every.String()}})
	if err != nil {
		return st, fmt.Errorf("recording notification_settings.update: %w", err)
	}
	return st, nil
}
