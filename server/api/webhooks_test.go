package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/webhook"
)

// receiver is a webhook endpoint on 127.0.0.1 that records what it gets
// and answers with the next status of its script (200 when it runs out).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []delivery
	script []int
}

type delivery struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, script ...int) *receiver {
	rc := &receiver{script: script}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body})
		code := http.StatusOK
		if len(rc.script) > 0 {
			code, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// register creates a webhook as caller and returns its id and secret.
func register(t *testing.T, w *world, caller, url string, events ...string) (string, string) {
	t.Helper()
	r := w.do(caller, "POST", "/api/v1/webhooks", map[string]any{"url": url, "events": events, "description": "test"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	require.Regexp(t, `^kpwh_[A-Za-z0-9_-]{43}$`, r.body["secret"])
	return r.body["id"].(string), r.body["secret"].(string)
}

// verified checks every delivery's signature with secret and returns the
// decoded bodies.
func verified(t *testing.T, secret string, ds []delivery) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range ds {
		require.NoError(t, webhook.Verify(secret, d.header, d.body, time.Now(), 5*time.Minute))
		require.Error(t, webhook.Verify("kpwh_wrong", d.header, d.body, time.Now(), 5*time.Minute), "another secret does not verify")
		tampered := append([]byte(nil), d.body...)
		tampered[len(tampered)-2] ^= 1
		require.Error(t, webhook.Verify(secret, d.header, tampered, time.Now(), 5*time.Minute), "a changed body does not verify")
		var m map[string]any
		require.NoError(t, json.Unmarshal(d.body, &m))
		require.Equal(t, d.header.Get(webhook.HeaderEvent), m["event"])
		require.Equal(t, d.header.Get(webhook.HeaderDelivery), m["id"])
		out = append(out, m)
	}
	return out
}

func TestWebhookFindingsReachOwnerAndServicePartner(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	acme, s1, r1 := newReceiver(t), newReceiver(t), newReceiver(t)
	_, acmeSecret := register(t, w, "acme_admin", acme.srv.URL+"/hook", "finding.opened")
	_, s1Secret := register(t, w, "s1_admin", s1.srv.URL, "finding.*")
	register(t, w, "r1_admin", r1.srv.URL, "*") // a reseller: no findings

	// What the check-up runner does with the findings it opened.
	w.hooks.FindingsChanged(ctx, w.orgs["acme"].ID, store.Reconciled{Opened: []store.Finding{w.findings["a_root"], w.findings["agent"]}})
	require.NoError(t, w.hooks.SendDue(ctx))

	got := verified(t, acmeSecret, acme.deliveries())
	require.Len(t, got, 2, "the owner hears of the asset's and the agent's finding")
	require.Equal(t, "finding.opened", got[0]["event"])
	require.Equal(t, w.orgs["acme"].ID, got[0]["organization_id"])
	kinds := map[string]map[string]any{}
	for _, m := range got {
		d := m["data"].(map[string]any)
		kinds[d["kind"].(string)] = d
	}
	require.Equal(t, "Acme ESX", kinds["storage_used"]["asset"].(map[string]any)["name"])
	require.Equal(t, "Acme GmbH", kinds["storage_used"]["customer"].(map[string]any)["name"])
	require.Equal(t, "Storage / is 90% full", kinds["storage_used"]["text"])
	require.Contains(t, kinds, "agent_silent")

	got = verified(t, s1Secret, s1.deliveries())
	require.Len(t, got, 1, "the service partner hears of the asset it serves, not of the agent")
	require.Equal(t, w.findings["a_root"].ID, got[0]["data"].(map[string]any)["id"])
	require.Equal(t, w.orgs["s1"].ID, got[0]["organization_id"])
	require.Empty(t, r1.deliveries(), "a reseller does not see findings, so hears of none")

	// Headers.
	h := acme.deliveries()[0].header
	require.Equal(t, "application/json", h.Get("Content-Type"))
	require.Regexp(t, `^kpilot-webhook/`, h.Get("User-Agent"))
	require.Regexp(t, `^sha256=[0-9a-f]{64}$`, h.Get(webhook.HeaderSignature))
}

func TestWebhookRetriesWithBackoffAndShowsAttempts(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	now := time.Now()
	w.hooks.SetClock(func() time.Time { return now })
	rc := newReceiver(t, 500, 503, 204)
	id, secret := register(t, w, "acme_admin", rc.srv.URL, "finding.opened")

	w.hooks.FindingsChanged(ctx, w.orgs["acme"].ID, store.Reconciled{Opened: []store.Finding{w.findings["a_branch"]}})
	require.NoError(t, w.hooks.SendDue(ctx))
	require.Len(t, rc.deliveries(), 1)
	require.NoError(t, w.hooks.SendDue(ctx))
	require.Len(t, rc.deliveries(), 1, "a failed delivery waits for its backoff")

	deliveries := func(caller string) []any {
		r := w.do(caller, "GET", "/api/v1/webhooks/"+id+"/deliveries", nil)
		require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
		return r.body["deliveries"].([]any)
	}
	d := deliveries("acme_viewer")[0].(map[string]any)
	require.Equal(t, "pending", d["state"])
	atts := d["attempts"].([]any)
	require.Len(t, atts, 1)
	require.Equal(t, 500.0, atts[0].(map[string]any)["status_code"])
	require.Equal(t, "HTTP 500", atts[0].(map[string]any)["error"])
	next, err := time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string))
	require.NoError(t, err)
	wait := next.Sub(now)
	require.True(t, wait >= 47*time.Second && wait <= 73*time.Second, "first retry after about a minute (±20%%), not %s", wait)

	now = now.Add(75 * time.Second)
	require.NoError(t, w.hooks.SendDue(ctx))
	require.Len(t, rc.deliveries(), 2)
	d = deliveries("acme_admin")[0].(map[string]any)
	next, err = time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string))
	require.NoError(t, err)
	wait = next.Sub(now)
	require.True(t, wait >= 95*time.Second && wait <= 145*time.Second, "the second retry waits twice as long, not %s", wait)

	now = now.Add(3 * time.Minute)
	require.NoError(t, w.hooks.SendDue(ctx))
	d = deliveries("acme_admin")[0].(map[string]any)
	require.Equal(t, "delivered", d["state"])
	require.Len(t, d["attempts"], 3)
	require.Equal(t, 204.0, d["attempts"].([]any)[2].(map[string]any)["status_code"])
	bodies := verified(t, secret, rc.deliveries())
	require.Equal(t, bodies[0]["id"], bodies[2]["id"], "a retry sends the same delivery")

	// A receiver that never answers 2xx: given up after max attempts (3).
	bad := newReceiver(t, 500, 500, 500, 500)
	badID, _ := register(t, w, "acme_admin", bad.srv.URL, "finding.opened")
	w.hooks.FindingsChanged(ctx, w.orgs["acme"].ID, store.Reconciled{Opened: []store.Finding{w.findings["a_root"]}})
	for range 5 {
		require.NoError(t, w.hooks.SendDue(ctx))
		now = now.Add(time.Hour)
	}
	require.Len(t, bad.deliveries(), 3)
	r := w.do("acme_admin", "GET", "/api/v1/webhooks/"+badID+"/deliveries", nil)
	d = r.body["deliveries"].([]any)[0].(map[string]any)
	require.Equal(t, "failed", d["state"])
	require.Len(t, d["attempts"], 3)

	// Other organizations see nothing of it.
	for _, c := range []string{"globex_admin", "s1_admin", "r1_admin"} {
		r := w.do(c, "GET", "/api/v1/webhooks/"+id+"/deliveries", nil)
		require.Equal(t, http.StatusNotFound, r.code, c)
		r = w.do(c, "GET", "/api/v1/webhooks", nil)
		require.Empty(t, r.body["webhooks"], c)
	}
	r = w.do("acme_viewer", "GET", "/api/v1/webhooks", nil)
	require.Len(t, r.body["webhooks"], 3, "the world's own and the two above")
	require.NotContains(t, string(r.raw), "kpwh_", "secrets are shown once")
}

func TestWebhookSharingEvents(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	acme, r1, globex := newReceiver(t), newReceiver(t), newReceiver(t)
	_, acmeSecret := register(t, w, "acme_admin", acme.srv.URL, "sharing.*")
	_, r1Secret := register(t, w, "r1_admin", r1.srv.URL, "sharing.grant.revoke")
	register(t, w, "globex_admin", globex.srv.URL, "*")

	r := w.do("acme_admin", "DELETE", "/api/v1/grants/"+w.r1Grant.ID, nil)
	require.Equal(t, http.StatusNoContent, r.code, "%s", r.raw)
	r = w.do("acme_admin", "PUT", "/api/v1/channel-consent", map[string]bool{"consent": false})
	require.Less(t, r.code, 300, "%s", r.raw)
	require.NoError(t, w.hooks.SendDue(ctx))

	got := verified(t, acmeSecret, acme.deliveries())
	var events []string
	for _, m := range got {
		events = append(events, m["event"].(string))
	}
	require.ElementsMatch(t, []string{"sharing.grant.revoke", "sharing.channel.consent_withdraw"}, events)
	got = verified(t, r1Secret, r1.deliveries())
	require.Len(t, got, 1, "the partner whose grant was revoked hears of it")
	data := got[0]["data"].(map[string]any)
	require.Equal(t, "grant.revoke", data["action"])
	require.Equal(t, w.r1Grant.ID, data["target_id"])
	require.Equal(t, w.assets["a_root"].ID, data["detail"].(map[string]any)["asset_id"])
	require.Empty(t, globex.deliveries(), "another customer hears nothing")
}

func TestWebhookRegistration(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"url": "ftp://x", "events": []string{"*"}}, "an http:// or https:// URL"},
		{map[string]any{"url": "https://u:p@hooks.example", "events": []string{"*"}}, "no user or password"},
		{map[string]any{"url": "http://169.254.169.254/latest", "events": []string{"*"}}, "address not allowed"},
		{map[string]any{"url": "http://[::1]:9/", "events": []string{"*"}}, "address not allowed"}, // only 127.0.0.0/8 is allowed here
		{map[string]any{"url": "http://127.0.0.1:9/", "events": []string{"*"}}, ""},
		{map[string]any{"url": "https://hooks.example", "events": []string{"finding.closed"}}, `"finding.closed" is not an event`},
		{map[string]any{"url": "https://hooks.example", "events": []string{}}, "events: 1 to 20"},
	} {
		r := w.do("acme_admin", "POST", "/api/v1/webhooks", tt.body)
		if tt.want == "" {
			require.Equal(t, http.StatusCreated, r.code, "%v: %s", tt.body, r.raw)
			continue
		}
		require.Equal(t, http.StatusBadRequest, r.code, "%v", tt.body)
		require.Contains(t, r.body["error"], tt.want)
	}
	id, _ := register(t, w, "acme_admin", "https://hooks.example/x", "finding.opened")
	require.Equal(t, http.StatusForbidden, w.do("acme_viewer", "DELETE", "/api/v1/webhooks/"+id, nil).code)
	require.Equal(t, http.StatusNotFound, w.do("globex_admin", "DELETE", "/api/v1/webhooks/"+id, nil).code)
	require.Equal(t, http.StatusNoContent, w.do("acme_admin", "DELETE", "/api/v1/webhooks/"+id, nil).code)
	audit := w.do("acme_admin", "GET", "/api/v1/audit", nil)
	require.Contains(t, string(audit.raw), "webhook.create")
	require.Contains(t, string(audit.raw), "webhook.delete")
}

func TestWebhookPing(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t)
	id, secret := register(t, w, "globex_admin", rc.srv.URL, "finding.opened")
	r := w.do("globex_admin", "POST", "/api/v1/webhooks/"+id+"/ping", nil)
	require.Equal(t, http.StatusAccepted, r.code, "%s", r.raw)
	require.NoError(t, w.hooks.SendDue(t.Context()))
	got := verified(t, secret, rc.deliveries())
	require.Len(t, got, 1)
	require.Equal(t, "ping", got[0]["event"])
}

// A device that goes down and comes back, and a finding acknowledged,
// reach the webhooks as asset.down, finding.resolved, asset.up and
// finding.acknowledged: the owner hears of all, the service partner of
// its asset's only, the reseller of none; an acknowledgement carries the
// note but not who wrote it.
func TestWebhookDownUpResolvedAcknowledged(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	acme, s1, r1 := newReceiver(t), newReceiver(t), newReceiver(t)
	_, acmeSecret := register(t, w, "acme_admin", acme.srv.URL, "*")
	_, s1Secret := register(t, w, "s1_admin", s1.srv.URL, "asset.*", "finding.resolved", "finding.acknowledged")
	register(t, w, "r1_admin", r1.srv.URL, "*")

	down := w.findings["a_branch"] // S1 serves a_branch
	down.Kind, down.RuleID, down.Severity, down.Text = "unreachable", "unreachable", store.SeverityCritical, "Unreachable (snmp) since …"
	w.hooks.FindingsChanged(ctx, w.orgs["acme"].ID, store.Reconciled{Opened: []store.Finding{down}})
	up := down
	up.ResolvedAt = down.OpenedAt.Add(time.Hour)
	w.hooks.FindingsChanged(ctx, w.orgs["acme"].ID, store.Reconciled{Resolved: []store.Finding{up}})
	r := w.do("acme_admin", "POST", "/api/v1/findings/"+w.findings["a_branch"].ID+"/acknowledge", map[string]any{"note": "replacing the PSU"})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.NoError(t, w.hooks.SendDue(ctx))

	events := func(ms []map[string]any) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m["event"].(string))
		}
		return out
	}
	// Deliveries are sent in no particular order; each is one event.
	byEvent := func(ms []map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, m := range ms {
			out[m["event"].(string)] = m["data"].(map[string]any)
		}
		return out
	}
	got := verified(t, acmeSecret, acme.deliveries())
	require.ElementsMatch(t, []string{"finding.opened", "asset.down", "finding.resolved", "asset.up", "finding.acknowledged"}, events(got))
	data := byEvent(got)
	require.Equal(t, "Acme NAS", data["asset.down"]["asset"].(map[string]any)["name"])
	require.NotContains(t, data["asset.down"], "resolved_at", "open when it went down")
	require.Equal(t, up.ResolvedAt.Format(time.RFC3339Nano), data["asset.up"]["resolved_at"])
	require.Equal(t, up.ResolvedAt.Format(time.RFC3339Nano), data["finding.resolved"]["resolved_at"])
	ack := data["finding.acknowledged"]["acknowledged"].(map[string]any)
	require.Equal(t, "replacing the PSU", ack["note"])
	require.NotContains(t, ack, "by", "who acknowledged is not sent")

	got = verified(t, s1Secret, s1.deliveries())
	require.ElementsMatch(t, []string{"asset.down", "finding.resolved", "asset.up", "finding.acknowledged"}, events(got))
	for _, m := range got {
		require.Equal(t, w.orgs["s1"].ID, m["organization_id"])
	}
	require.Empty(t, r1.deliveries(), "a reseller does not see findings, so hears of none")

	// A viewer may not acknowledge: nothing is published.
	before := len(acme.deliveries())
	r = w.do("acme_viewer", "POST", "/api/v1/findings/"+w.findings["a_root"].ID+"/acknowledge", map[string]any{"note": "x"})
	require.NotEqual(t, http.StatusOK, r.code)
	require.NoError(t, w.hooks.SendDue(ctx))
	require.Len(t, acme.deliveries(), before)
}
