package sharing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
	"github.com/kpilot/kpilot/server/webhook"
)

// MaxWebhooks an organization may register.
const MaxWebhooks = 20

// WebhookInput is an endpoint to register.
type WebhookInput struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// Webhooks returns the webhooks of p's organization, secrets included:
// callers answer them without. The organization's other notification
// channels and its users' subscriptions, which share the table, are
// package notification's.
func (s *Service) Webhooks(ctx context.Context, p visibility.Principal) ([]store.Webhook, error) {
	hooks, err := s.st.WebhooksOf(ctx, []string{p.OrgID})
	if err != nil {
		return nil, fmt.Errorf("loading webhooks: %w", err)
	}
	return slices.DeleteFunc(hooks, func(h store.Webhook) bool { return !isWebhook(h) }), nil
}

// isWebhook reports whether h is an organization's signed webhook.
func isWebhook(h store.Webhook) bool { return h.UserID == "" && h.ChannelKind() == store.KindWebhook }

// RegisterWebhook registers an endpoint of p's organization (p is an admin
// of all of it). The returned webhook carries the signing secret, which is
// shown once.
func (s *Service) RegisterWebhook(ctx context.Context, p visibility.Principal, who audit.Actor, in WebhookInput) (store.Webhook, error) {
	if _, err := s.wholeOrgAdmin(ctx, p); err != nil {
		return store.Webhook{}, err
	}
	if err := s.checkURL(in.URL); err != nil {
		return store.Webhook{}, problem.Invalidf("%v", err)
	}
	if len(in.Events) == 0 || len(in.Events) > 20 {
		return store.Webhook{}, problem.Invalidf("events: 1 to 20 of finding.opened, sharing.<action>, sharing.*, finding.*, *")
	}
	for _, e := range in.Events {
		if !webhook.ValidEvent(e) {
			return store.Webhook{}, problem.Invalidf("events: %q is not an event (finding.opened, sharing.<action> with action one of %s, sharing.*, finding.*, *)",
				e, strings.Join(webhook.SharingActions, ", "))
		}
	}
	desc, err := input.Name("description", in.Description)
	if err != nil && in.Description != "" {
		return store.Webhook{}, err
	}
	hooks, err := s.Webhooks(ctx, p)
	if err != nil {
		return store.Webhook{}, err
	}
	if len(hooks) >= MaxWebhooks {
		return store.Webhook{}, problem.Newf(problem.Conflict, "at most %d webhooks per organization", MaxWebhooks)
	}
	secret, _ := auth.NewToken("kpwh_")
	h := store.Webhook{OrgID: p.OrgID, URL: in.URL, Secret: secret, Events: slices.Compact(slices.Sorted(slices.Values(in.Events))),
		Description: desc, CreatedBy: p.UserID, CreatedAt: s.now()}
	if err := s.st.CreateWebhook(ctx, &h); err != nil {
		return h, fmt.Errorf("creating webhook: %w", err)
	}
	return h, s.record(ctx, who, p.OrgID, "webhook.create", "webhook", h.ID, map[string]any{"url": h.URL, "events": h.Events})
}

// Webhook returns the webhook id of p's organization; any other is not
// found.
func (s *Service) Webhook(ctx context.Context, p visibility.Principal, id string) (store.Webhook, error) {
	h, err := s.st.Webhook(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (h.OrgID != p.OrgID || !isWebhook(h))) {
		return store.Webhook{}, problem.ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("loading webhook %s: %w", id, err)
	}
	return h, nil
}

// AdminWebhook is Webhook for changes: only admins of the whole
// organization pass.
func (s *Service) AdminWebhook(ctx context.Context, p visibility.Principal, id string) (store.Webhook, error) {
	h, err := s.Webhook(ctx, p, id)
	if err != nil {
		return h, err
	}
	_, err = s.wholeOrgAdmin(ctx, p)
	return h, err
}

// DeleteWebhook removes the webhook id of p's organization, with its
// deliveries, for an admin of all of it.
func (s *Service) DeleteWebhook(ctx context.Context, p visibility.Principal, who audit.Actor, id string) error {
	h, err := s.AdminWebhook(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteWebhook(ctx, h.ID); err != nil {
		return fmt.Errorf("deleting webhook %s: %w", h.ID, err)
	}
	return s.record(ctx, who, h.OrgID, "webhook.delete", "webhook", h.ID, map[string]any{"url": h.URL})
}

// Delivery is a webhook delivery with every attempt to send it.
type Delivery struct {
	store.WebhookDelivery
	Attempts []store.WebhookAttempt
}

// Deliveries returns the newest limit deliveries of h (from Webhook).
func (s *Service) Deliveries(ctx context.Context, h store.Webhook, limit int) ([]Delivery, error) {
	ds, err := s.st.Deliveries(ctx, h.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("loading deliveries of webhook %s: %w", h.ID, err)
	}
	out := make([]Delivery, 0, len(ds))
	for _, v := range ds {
		atts, err := s.st.Attempts(ctx, v.ID)
		if err != nil {
			return nil, fmt.Errorf("loading attempts of delivery %s: %w", v.ID, err)
		}
		out = append(out, Delivery{WebhookDelivery: v, Attempts: atts})
	}
	return out, nil
}
