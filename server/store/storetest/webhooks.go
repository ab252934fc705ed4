package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// webhookTests cover store.Webhooks: webhooks and their delivery queue.
var webhookTests = []test{
	{"Webhooks", testWebhooks},
}

func testWebhooks(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s, "A"), newOrg(t, s, "B")
	now := time.Now().UTC().Truncate(time.Millisecond)
	wa := store.Webhook{OrgID: a.ID, URL: "https://hooks.example/a", Secret: "s", Events: []string{"finding.opened", "sharing.*"}, CreatedBy: "u", CreatedAt: now}
	require.NoError(t, s.CreateWebhook(ctx, &wa))
	wb := store.Webhook{OrgID: b.ID, URL: "https://hooks.example/b", Secret: "s", Events: []string{"finding.opened"}, CreatedBy: "u", CreatedAt: now}
	require.NoError(t, s.CreateWebhook(ctx, &wb))
	got, err := s.WebhooksOf(ctx, []string{a.ID})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, wa, got[0])

	d1 := &store.WebhookDelivery{WebhookID: wa.ID, OrgID: a.ID, Event: "finding.opened", Payload: []byte(`{"x":1}`), CreatedAt: now, NextAttemptAt: now}
	d2 := &store.WebhookDelivery{WebhookID: wa.ID, OrgID: a.ID, Event: "sharing.grant.revoke", Payload: []byte(`{}`), CreatedAt: now, NextAttemptAt: now.Add(time.Hour)}
	require.NoError(t, s.EnqueueDeliveries(ctx, []*store.WebhookDelivery{d1, d2}))
	due, err := s.DueDeliveries(ctx, now, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "only what is due")
	require.Equal(t, d1.ID, due[0].ID)
	require.Equal(t, `{"x":1}`, string(due[0].Payload))

	ok, err := s.ClaimDelivery(ctx, due[0], now, now.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.ClaimDelivery(ctx, due[0], now, now.Add(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "a delivery is claimed once")
	due, err = s.DueDeliveries(ctx, now, 10)
	require.NoError(t, err)
	require.Empty(t, due, "a claimed delivery is not due")

	v := due0(d1)
	v.Attempts, v.LastStatus, v.LastError, v.NextAttemptAt = 1, 500, "HTTP 500", now.Add(30*time.Second)
	require.NoError(t, s.RecordAttempt(ctx, v, store.WebhookAttempt{At: now, StatusCode: 500, Error: "HTTP 500", Duration: 12 * time.Millisecond}))
	v.Attempts, v.State, v.LastStatus, v.LastError, v.DeliveredAt = 2, store.DeliveryDelivered, 204, "", now.Add(time.Minute)
	require.NoError(t, s.RecordAttempt(ctx, v, store.WebhookAttempt{At: now.Add(time.Minute), StatusCode: 204}))
	stored, err := s.WebhookDelivery(ctx, d1.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryDelivered, stored.State)
	require.Equal(t, 2, stored.Attempts)
	require.Equal(t, now.Add(time.Minute), stored.DeliveredAt)
	atts, err := s.Attempts(ctx, d1.ID)
	require.NoError(t, err)
	require.Len(t, atts, 2)
	require.Equal(t, 500, atts[0].StatusCode)
	require.Equal(t, 12*time.Millisecond, atts[0].Duration)
	require.Equal(t, 204, atts[1].StatusCode)

	ds, err := s.Deliveries(ctx, wa.ID, 10)
	require.NoError(t, err)
	require.Len(t, ds, 2)

	require.NoError(t, s.DeleteWebhook(ctx, wa.ID))
	_, err = s.Webhook(ctx, wa.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.WebhookDelivery(ctx, d1.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "deliveries go with their webhook")
	require.ErrorIs(t, s.DeleteWebhook(ctx, wa.ID), store.ErrNotFound)
	left, err := s.WebhooksOf(ctx, []string{a.ID, b.ID})
	require.NoError(t, err)
	require.Len(t, left, 1)
}

func due0(d *store.WebhookDelivery) store.WebhookDelivery { return *d }
