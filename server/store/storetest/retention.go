package storetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// retentionTests cover store.Pruner.
var retentionTests = []test{
	{"Prune", testPrune},
	{"PruneInChunks", testPruneInChunks},
}

// testPrune fills every table a prune looks at with rows that have and
// have not outlived a retention, and checks that exactly the former go.
func testPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	day := 24 * time.Hour
	o := newOrg(t, s, "Acme")
	u := user(t, s, "a@example.com", o, store.Admin)

	// Batch ids: one from 40 days ago, one from an hour ago.
	require.NoError(t, s.RecordBatch(ctx, "agent", "old", now.Add(-40*day)))
	require.NoError(t, s.RecordBatch(ctx, "agent", "new", now.Add(-time.Hour)))
	// Sessions and password resets: one expired, one not.
	for _, h := range []struct {
		hash    string
		expires time.Time
	}{{"expired", now.Add(-time.Minute)}, {"valid", now.Add(time.Hour)}} {
		require.NoError(t, s.CreateSession(ctx, store.Session{TokenHash: h.hash, UserID: u.ID, OrgID: o.ID, CreatedAt: now.Add(-day), ExpiresAt: h.expires}))
		require.NoError(t, s.CreatePasswordReset(ctx, h.hash, u.ID, now.Add(-day), h.expires))
	}
	// Rate-limit windows: one begun two days ago, one a minute ago.
	_, _, err := s.Hit(ctx, "login:old", 15*time.Minute, now.Add(-2*day))
	require.NoError(t, err)
	_, _, err = s.Hit(ctx, "login:new", 15*time.Minute, now.Add(-time.Minute))
	require.NoError(t, err)
	// Webhook deliveries: delivered and failed long ago, pending long ago,
	// delivered lately.
	w := store.Webhook{OrgID: o.ID, URL: "https://hooks.example/a", Secret: "s", Events: []string{"finding.opened"}, CreatedBy: u.ID, CreatedAt: now.Add(-60 * day)}
	require.NoError(t, s.CreateWebhook(ctx, &w))
	deliveries := map[string]*store.WebhookDelivery{}
	for name, d := range map[string]struct {
		created time.Time
		state   string
	}{
		"delivered-old":  {now.Add(-40 * day), store.DeliveryDelivered},
		"failed-old":     {now.Add(-40 * day), store.DeliveryFailed},
		"suppressed-old": {now.Add(-40 * day), store.DeliverySuppressed},
		"pending-old":    {now.Add(-40 * day), store.DeliveryPending},
		"delivered-new":  {now.Add(-day), store.DeliveryDelivered},
	} {
		v := &store.WebhookDelivery{WebhookID: w.ID, OrgID: o.ID, Event: "finding.opened", Payload: []byte(`{}`), CreatedAt: d.created, NextAttemptAt: d.created}
		require.NoError(t, s.EnqueueDeliveries(ctx, []*store.WebhookDelivery{v}))
		if d.state != store.DeliveryPending {
			v.State, v.Attempts = d.state, 1
			require.NoError(t, s.RecordAttempt(ctx, *v, store.WebhookAttempt{At: d.created, StatusCode: 500}))
		}
		deliveries[name] = v
	}
	// Findings: one resolved 100 days ago, one resolved an hour ago, one
	// open for 200 days.
	r := func(subject string) store.FindingResult {
		return result("storage", "as1", subject, store.SeverityWarning, "full")
	}
	_, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{r("/a"), r("/b"), r("/c")}, now.Add(-200*day))
	require.NoError(t, err)
	_, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{r("/b"), r("/c")}, now.Add(-100*day))
	require.NoError(t, err)
	_, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{r("/c")}, now.Add(-time.Hour))
	require.NoError(t, err)
	findings, err := s.Findings(ctx, store.FindingFilter{OrgID: o.ID})
	require.NoError(t, err)
	require.Len(t, findings, 3)
	// Inventory history: changes 400 days ago and yesterday.
	a := asset(t, s, o.ID, o.RootOU, "nas")
	for i, at := range []time.Time{now.Add(-400 * day), now.Add(-day)} {
		_, err := s.PutInventory(ctx, a.ID, at, []byte(`{}`), []byte(`[{"path":"v","op":"changed"}]`))
		require.NoError(t, err, i)
	}
	// Audit events: 400 days ago and now.
	require.NoError(t, s.AppendAudit(ctx, store.AuditEvent{OrgID: o.ID, Action: "ou_key.read", At: now.Add(-400 * day)}))
	require.NoError(t, s.AppendAudit(ctx, store.AuditEvent{OrgID: o.ID, Action: "ou_key.send", At: now}))

	// Inventory changes and the audit trail are kept for good unless a
	// period is set.
	ret := store.Retention{Batches: 30 * day, RateLimits: day, WebhookDeliveries: 30 * day, ResolvedFindings: 90 * day}
	pruned, err := s.Prune(ctx, ret, now)
	require.NoError(t, err)
	require.Equal(t, store.Pruned{"ingested_batches": 1, "sessions": 1, "password_resets": 1, "rate_limits": 1,
		"webhook_deliveries": 3, "findings": 1}, pruned)

	seen, err := s.BatchSeen(ctx, "agent", "old")
	require.NoError(t, err)
	require.False(t, seen, "an old batch id goes")
	seen, err = s.BatchSeen(ctx, "agent", "new")
	require.NoError(t, err)
	require.True(t, seen, "a recent batch id stays")

	_, err = s.SessionByHash(ctx, "expired", now.Add(-2*day))
	require.ErrorIs(t, err, store.ErrNotFound, "an expired session goes")
	_, err = s.SessionByHash(ctx, "valid", now)
	require.NoError(t, err)
	_, err = s.UsePasswordReset(ctx, "expired", now.Add(-2*day))
	require.ErrorIs(t, err, store.ErrNotFound, "an expired password reset goes")
	_, err = s.UsePasswordReset(ctx, "valid", now)
	require.NoError(t, err)

	n, _, err := s.Hit(ctx, "login:old", 100*day, now)
	require.NoError(t, err)
	require.Equal(t, 1, n, "an old window starts over from nothing")
	n, _, err = s.Hit(ctx, "login:new", 15*time.Minute, now)
	require.NoError(t, err)
	require.Equal(t, 2, n, "a current window keeps its count")

	for name, d := range deliveries {
		_, err := s.WebhookDelivery(ctx, d.ID)
		if name == "delivered-old" || name == "failed-old" || name == "suppressed-old" {
			require.ErrorIs(t, err, store.ErrNotFound, name)
			atts, err := s.Attempts(ctx, d.ID)
			require.NoError(t, err)
			require.Empty(t, atts, "the attempts go with their delivery")
			continue
		}
		require.NoError(t, err, name+" stays")
	}

	left, err := s.Findings(ctx, store.FindingFilter{OrgID: o.ID})
	require.NoError(t, err)
	var subjects []string
	for _, f := range left {
		subjects = append(subjects, f.Subject)
	}
	require.ElementsMatch(t, []string{"/b", "/c"}, subjects, "the finding resolved 100 days ago goes; open and lately resolved ones stay")

	hist, err := s.InventoryHistory(ctx, a.ID, time.Time{}, 10)
	require.NoError(t, err)
	require.Len(t, hist, 2, "inventory history is kept without a period")
	evs, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: o.ID})
	require.NoError(t, err)
	require.Len(t, evs, 2, "the audit trail is kept without a period")

	// With periods for them, and again: only what is now due.
	ret.InventoryChanges, ret.AuditEvents = 365*day, 365*day
	pruned, err = s.Prune(ctx, ret, now)
	require.NoError(t, err)
	require.Equal(t, store.Pruned{"inventory_changes": 1, "audit_events": 1}, pruned)
	hist, err = s.InventoryHistory(ctx, a.ID, time.Time{}, 10)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.True(t, hist[0].CollectedAt.Equal(now.Add(-day)))
	_, latest, err := s.Inventory(ctx, a.ID)
	require.NoError(t, err)
	require.NotEmpty(t, latest, "the latest snapshot stays")
	evs, err = s.AuditEvents(ctx, store.AuditFilter{OrgID: o.ID})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, "ou_key.send", evs[0].Action)
}

// testPruneInChunks prunes more rows than one statement removes.
func testPruneInChunks(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	const n = 12_001 // more than two of the SQL store's chunks of 5,000
	for i := range n {
		require.NoError(t, s.RecordBatch(ctx, "agent", "b"+strconv.Itoa(i), now.Add(-40*24*time.Hour)))
	}
	require.NoError(t, s.RecordBatch(ctx, "agent", "kept", now))
	pruned, err := s.Prune(ctx, store.Retention{Batches: 30 * 24 * time.Hour}, now)
	require.NoError(t, err)
	require.Equal(t, store.Pruned{"ingested_batches": n}, pruned)
	seen, err := s.BatchSeen(ctx, "agent", "kept")
	require.NoError(t, err)
	require.True(t, seen)
}
