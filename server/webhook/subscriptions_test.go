package webhook

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// TestSubscriptionsFollowVisibility: users subscribe to everything; each
// receives the events of the assets they may see with findings: the
// customer's root admin both assets, the branch viewer only the branch's,
// the service partner's user both, the reseller's user nothing (its data
// class has no findings), another customer's user nothing. Filters by
// severity, category, OU and event narrow it further.
func TestSubscriptionsFollowVisibility(t *testing.T) {
	f := newFixture(t, Options{})
	subs := []struct {
		email string
		org   store.Organization
		ou    string
		role  store.Role
		sub   store.Webhook
	}{
		{"root@acme.example", f.cust, "", store.Admin, store.Webhook{}},
		{"branch@acme.example", f.cust, f.branch.ID, store.Viewer, store.Webhook{}},
		{"svc@service.example", f.service, "", store.Viewer, store.Webhook{}},
		{"sales@resell.example", f.reseller, "", store.Admin, store.Webhook{}},
		{"admin@other.example", f.other, "", store.Admin, store.Webhook{}},
		{"crit@acme.example", f.cust, "", store.Admin, store.Webhook{MinSeverity: store.SeverityCritical}},
		{"storage@acme.example", f.cust, "", store.Admin, store.Webhook{Categories: []string{"storage"}}},
		{"ou@acme.example", f.cust, "", store.Admin, store.Webhook{OUID: f.branch.ID}},
		{"resolved@acme.example", f.cust, "", store.Admin, store.Webhook{Events: []string{"finding.resolved"}}},
	}
	for _, s := range subs {
		f.subscribe(f.user(s.email, s.org, s.ou, s.role), s.org, s.sub)
	}
	f.evaluate(down(f.a1), full(f.a2))
	f.evaluate() // both resolved
	f.send()

	a1Down, a2Full := "[Critical] Opened: db-01", "[Warning] Opened: nas-02"
	a1Up, a2Res := "[Critical] Resolved: db-01", "[Warning] Resolved: nas-02"
	want := map[string][]string{
		"root@acme.example":     {a1Down, "[Critical] Asset down: db-01", a2Full, a1Up, "[Critical] Asset up again: db-01", a2Res},
		"branch@acme.example":   {a2Full, a2Res},
		"svc@service.example":   {a1Down, "[Critical] Asset down: db-01", a2Full, a1Up, "[Critical] Asset up again: db-01", a2Res},
		"crit@acme.example":     {a1Down, "[Critical] Asset down: db-01", a1Up, "[Critical] Asset up again: db-01"},
		"storage@acme.example":  {a2Full, a2Res},
		"ou@acme.example":       {a2Full, a2Res},
		"resolved@acme.example": {a1Up, a2Res},
	}
	got := map[string][]string{}
	for to, subjects := range f.mailsTo() {
		for _, s := range subjects {
			got[to] = append(got[to], strings.SplitN(s, " – ", 2)[0])
		}
		sort.Strings(got[to])
	}
	for k := range want {
		sort.Strings(want[k])
	}
	require.Equal(t, want, got, "the reseller's and the other customer's users receive nothing")
}

// TestRevokedPartnerGetsNothing: events queued while the customer
// consented are withheld once it withdraws consent before they are sent:
// shown suppressed with the reason, never mailed.
func TestRevokedPartnerGetsNothing(t *testing.T) {
	f := newFixture(t, Options{})
	svc := f.subscribe(f.user("svc@service.example", f.service, "", store.Viewer), f.service, store.Webhook{})
	f.evaluate(down(f.a1))
	require.NoError(t, f.st.SetChannelConsent(t.Context(), f.cust.ID, false))
	f.send()
	require.Empty(t, f.smtp.Messages())
	ds := f.deliveries(svc)["finding.opened"]
	require.Len(t, ds, 1)
	require.Equal(t, store.DeliverySuppressed, ds[0].State)
	require.Contains(t, ds[0].LastError, "may no longer see asset db-01")

	// Consent withdrawn: the next event is not even queued for the partner.
	f.evaluate()
	require.Empty(t, f.deliveries(svc)["finding.resolved"])
}

// TestDigestSendsOneMailPerPeriod: an hourly digest collects the events
// of the hour and mails them together at its end.
func TestDigestSendsOneMailPerPeriod(t *testing.T) {
	f := newFixture(t, Options{})
	f.now = time.Date(2026, 12, 7, 10, 5, 0, 0, time.UTC)
	f.subscribe(f.user("digest@acme.example", f.cust, "", store.Admin), f.cust, store.Webhook{Digest: DigestHourly, Events: []string{"finding.opened"}})
	f.subscribe(f.user("now@acme.example", f.cust, "", store.Admin), f.cust, store.Webhook{Events: []string{"finding.opened"}})
	f.evaluate(down(f.a1))
	f.now = f.now.Add(20 * time.Minute)
	f.evaluate(down(f.a1), full(f.a2))
	f.send()
	require.Equal(t, map[string]int{"now@acme.example": 2}, counts(f.mailsTo()), "the digest waits for the hour's end")

	f.now = time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	f.send()
	m := f.smtp.Wait(t, 3)
	require.Equal(t, []string{"digest@acme.example"}, m.To)
	require.Equal(t, "kpilot digest: 2 events", m.Subject)
	require.Contains(t, m.Body, "[Critical] Opened: db-01")
	require.Contains(t, m.Body, "[Warning] Opened: nas-02")
	require.Contains(t, m.HTML, publicURL+"/assets/"+f.a2.ID)
	f.send()
	require.Len(t, f.smtp.Messages(), 3, "sent once")
}

func counts(m map[string][]string) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

// windows is a small Muter: an asset is muted inside its windows.
type windows struct {
	mu sync.Mutex
	w  map[string][][2]time.Time
}

func (w *windows) Muted(_ context.Context, _, assetID string, at time.Time) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, win := range w.w[assetID] {
		if !at.Before(win[0]) && at.Before(win[1]) {
			return true, nil
		}
	}
	return false, nil
}

// TestResolvedFollowsWhatWasNotified: a finding notified before its asset
// was muted still gets its resolved message inside the window; one that
// opened while muted is told neither then nor when it resolves; repeats
// are muted too.
func TestResolvedFollowsWhatWasNotified(t *testing.T) {
	mute := &windows{w: map[string][][2]time.Time{}}
	f := newFixture(t, Options{Muter: mute})
	start := f.now
	require.NoError(t, f.st.PutNotificationSettings(t.Context(), store.NotificationSettings{OrgID: f.cust.ID, RepeatEvery: time.Hour}))
	h := newReceiver(t, 200)
	f.channel(store.Webhook{Kind: store.KindSlack, URL: "d", Secret: h.URL, Events: []string{"finding.opened", "finding.resolved", "asset.*"}})

	f.evaluate(down(f.a1)) // told
	mute.w[f.a1.ID] = [][2]time.Time{{start.Add(time.Minute), start.Add(3 * time.Hour)}}
	mute.w[f.a2.ID] = [][2]time.Time{{start, start.Add(time.Hour)}}
	f.now = start.Add(30 * time.Minute)
	f.evaluate(down(f.a1), full(f.a2)) // a2 opens muted
	f.now = start.Add(90 * time.Minute)
	require.NoError(t, f.d.RepeatDue(t.Context()), "a1's repeat falls in its window")
	f.evaluate() // both resolve: a1 inside its window, a2 after its window
	f.send()

	var texts []string
	for _, b := range h.got() {
		texts = append(texts, strings.SplitN(b["text"].(string), " – ", 2)[0])
	}
	sort.Strings(texts)
	require.Equal(t, []string{"[Critical] Asset down: db-01", "[Critical] Asset up again: db-01", "[Critical] Opened: db-01",
		"[Critical] Resolved: db-01"}, texts)
}

// TestRepeatsUntilAcknowledged: a critical finding is told again once per
// interval while open and unacknowledged, once whoever runs the job.
func TestRepeatsUntilAcknowledged(t *testing.T) {
	f := newFixture(t, Options{})
	start := f.now
	require.NoError(t, f.st.PutNotificationSettings(t.Context(), store.NotificationSettings{OrgID: f.cust.ID, RepeatEvery: 4 * time.Hour}))
	f.subscribe(f.user("root@acme.example", f.cust, "", store.Admin), f.cust, store.Webhook{Events: []string{"finding.opened"}})
	rec := f.evaluate(down(f.a1), full(f.a2))
	for _, at := range []time.Duration{time.Hour, 4*time.Hour + time.Minute, 5 * time.Hour, 8*time.Hour + time.Minute} {
		f.now = start.Add(at)
		require.NoError(t, f.d.RepeatDue(t.Context()))
		require.NoError(t, f.d.RepeatDue(t.Context()), "again: nothing new")
	}
	var fid string
	for _, x := range rec.Opened {
		if x.AssetID == f.a1.ID {
			fid = x.ID
		}
	}
	require.NoError(t, f.st.AckFinding(t.Context(), fid, "u", "on it", f.now))
	f.now = start.Add(12*time.Hour + time.Minute)
	require.NoError(t, f.d.RepeatDue(t.Context()))
	f.send()
	require.Equal(t, map[string][]string{"root@acme.example": {
		"[Critical] Opened: db-01 – not reachable for 10 minutes",
		"[Critical] Still open: db-01 – not reachable for 10 minutes",
		"[Critical] Still open: db-01 – not reachable for 10 minutes",
		"[Warning] Opened: nas-02 – volume /var is 93% full",
	}}, sortedMails(f.mailsTo()), "two repeats of the critical one, none of the warning, none after the acknowledgement")
}

func sortedMails(m map[string][]string) map[string][]string {
	for _, v := range m {
		sort.Strings(v)
	}
	return m
}

// TestSuppressedFindingsAreToldThroughTheirParent: a switch and the
// device behind it go down; only the switch's finding is notified, and
// when both come back only the switch's end is sent.
func TestSuppressedFindingsAreToldThroughTheirParent(t *testing.T) {
	f := newFixture(t, Options{})
	h := newReceiver(t, 200)
	f.channel(store.Webhook{Kind: store.KindSlack, URL: "d", Secret: h.URL, Events: []string{"finding.*", "asset.*"}})

	parent := down(f.a1)
	child := down(f.a2)
	child.ParentKey = parent.Key()
	rec := f.evaluate(parent, child)
	require.Len(t, rec.Opened, 2, "both devices are down and shown so")
	f.now = f.now.Add(10 * time.Minute)
	f.evaluate() // both answer again
	f.send()

	var texts []string
	for _, b := range h.got() {
		texts = append(texts, strings.SplitN(b["text"].(string), " – ", 2)[0])
	}
	sort.Strings(texts)
	require.Equal(t, []string{"[Critical] Asset down: db-01", "[Critical] Asset up again: db-01", "[Critical] Opened: db-01",
		"[Critical] Resolved: db-01"}, texts, "nothing of nas-02, which sits behind db-01")
}
