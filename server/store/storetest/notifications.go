package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// notificationTests cover store.Notifications and the channel fields of
// store.Webhooks.
var notificationTests = []test{
	{"NotificationChannels", testNotificationChannels},
	{"NotificationSettings", testNotificationSettings},
}

func testNotificationChannels(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newOrg(t, s, "A")
	now := time.Now().UTC().Truncate(time.Millisecond)
	teams := store.Webhook{OrgID: a.ID, Kind: store.KindTeams, URL: "https://example.webhook.office.com/…",
		Secret: "https://example.webhook.office.com/workflows/secret", Events: []string{"finding.*"}, CreatedBy: "u", CreatedAt: now}
	require.NoError(t, s.CreateWebhook(ctx, &teams))
	sub := store.Webhook{OrgID: a.ID, Kind: store.KindEmail, UserID: "user-1", Events: []string{"finding.opened"},
		MinSeverity: store.SeverityWarning, Categories: []string{"server", "storage"}, OUID: "ou-1", Digest: "daily",
		Language: "de", CreatedBy: "user-1", CreatedAt: now}
	require.NoError(t, s.CreateWebhook(ctx, &sub))

	got, err := s.Webhook(ctx, teams.ID)
	require.NoError(t, err)
	require.Equal(t, teams, got, "the URL of a Teams channel comes back (sealed at rest)")
	subs, err := s.UserWebhooks(ctx, "user-1")
	require.NoError(t, err)
	require.Equal(t, []store.Webhook{sub}, subs)

	sub.MinSeverity, sub.Categories, sub.Digest, sub.Events = store.SeverityCritical, nil, "", []string{"finding.resolved"}
	require.NoError(t, s.UpdateWebhook(ctx, sub))
	got, err = s.Webhook(ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, sub, got)
	require.ErrorIs(t, s.UpdateWebhook(ctx, store.Webhook{ID: "nope"}), store.ErrNotFound)

	// A dedupe key is queued once per channel and recipient.
	mk := func(recipient, key string) *store.WebhookDelivery {
		return &store.WebhookDelivery{WebhookID: teams.ID, OrgID: a.ID, Event: "finding.opened", Payload: []byte(`{}`),
			CreatedAt: now, NextAttemptAt: now, Recipient: recipient, FindingID: "f-1", DedupeKey: key}
	}
	first, again, other, plain1, plain2 := mk("", "f-1:opened"), mk("", "f-1:opened"), mk("x@example.com", "f-1:opened"), mk("", ""), mk("", "")
	require.NoError(t, s.EnqueueDeliveries(ctx, []*store.WebhookDelivery{first, other, plain1, plain2}))
	require.NoError(t, s.EnqueueDeliveries(ctx, []*store.WebhookDelivery{again}))
	require.Equal(t, store.DeliveryPending, first.State)
	require.Empty(t, again.State, "the same key again is skipped")
	byFinding, err := s.FindingDeliveries(ctx, "f-1")
	require.NoError(t, err)
	require.Len(t, byFinding, 4, "first, other recipient, and the two without a key")
	due, err := s.DueDeliveriesOf(ctx, teams.ID, now, 10)
	require.NoError(t, err)
	require.Len(t, due, 4)
	require.Equal(t, "x@example.com", func() string {
		for _, v := range due {
			if v.ID == other.ID {
				return v.Recipient
			}
		}
		return ""
	}())
}

func testNotificationSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s, "A"), newOrg(t, s, "B")
	got, err := s.NotificationSettings(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, store.NotificationSettings{OrgID: a.ID}, got)
	now := time.Now().UTC().Truncate(time.Millisecond)
	require.NoError(t, s.PutNotificationSettings(ctx, store.NotificationSettings{OrgID: a.ID, RepeatEvery: 4 * time.Hour, UpdatedAt: now}))
	require.NoError(t, s.PutNotificationSettings(ctx, store.NotificationSettings{OrgID: b.ID, RepeatEvery: time.Hour, UpdatedAt: now}))
	require.NoError(t, s.PutNotificationSettings(ctx, store.NotificationSettings{OrgID: b.ID, RepeatEvery: 0, UpdatedAt: now}))
	got, err = s.NotificationSettings(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, 4*time.Hour, got.RepeatEvery)
	rep, err := s.RepeatingOrganizations(ctx)
	require.NoError(t, err)
	require.Len(t, rep, 1, "b repeats no more")
	require.Equal(t, a.ID, rep[0].OrgID)
}
