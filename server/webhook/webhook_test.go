package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

func TestSignatureIsHMACOfTimestampAndBody(t *testing.T) {
	ts := time.Unix(1763769600, 0)
	body := []byte(`{"event":"ping"}`)
	m := hmac.New(sha256.New, []byte("kpwh_secret"))
	m.Write([]byte("1763769600." + string(body)))
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	require.Equal(t, want, Sign("kpwh_secret", ts, body))

	h := http.Header{}
	h.Set(HeaderTimestamp, "1763769600")
	h.Set(HeaderSignature, want)
	require.NoError(t, Verify("kpwh_secret", h, body, ts.Add(time.Minute), 5*time.Minute))
	require.ErrorContains(t, Verify("kpwh_secret", h, body, ts.Add(time.Hour), 5*time.Minute), "more than 5m0s away", "an old delivery is a replay")
	require.ErrorContains(t, Verify("kpwh_other", h, body, ts, 5*time.Minute), "does not match")
	h.Set(HeaderTimestamp, "1763769601")
	require.ErrorContains(t, Verify("kpwh_secret", h, body, ts, 5*time.Minute), "does not match", "the timestamp is signed")
	h.Del(HeaderTimestamp)
	require.ErrorContains(t, Verify("kpwh_secret", h, body, ts, 5*time.Minute), "missing")
}

func TestEventMatching(t *testing.T) {
	w := store.Webhook{Events: []string{"finding.opened", "sharing.*"}}
	require.True(t, Matches(w, "finding.opened"))
	require.True(t, Matches(w, "sharing.grant.revoke"))
	require.False(t, Matches(w, "ping"))
	require.True(t, Matches(store.Webhook{Events: []string{"*"}}, "sharing.channel.assign"))
	for _, e := range []string{"*", "finding.opened", "finding.resolved", "finding.acknowledged", "finding.*", "asset.down", "asset.up",
		"asset.*", "agent.silent", "agent.*", "sharing.*", "sharing.grant.revoke", "sharing.channel.consent_give"} {
		require.True(t, ValidEvent(e), e)
	}
	for _, e := range []string{"", "finding", "sharing.ou.create", "finding.closed", "asset.moved", "ping"} {
		require.False(t, ValidEvent(e), e)
	}
}

func TestInternalAddressesAreRefused(t *testing.T) {
	d := New(nil, Options{}, slog.New(slog.DiscardHandler), nil)
	for _, u := range []string{"http://127.0.0.1/", "http://[::1]:8080/", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/",
		"http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/"} {
		require.ErrorIs(t, d.CheckURL(u), ErrAddressRefused, u)
	}
	for _, u := range []string{"https://hooks.example/x", "http://10.0.0.5:8080/hook", "https://192.168.1.20/"} {
		require.NoError(t, d.CheckURL(u), u)
	}
	require.ErrorContains(t, d.CheckURL("https://hooks.example/"+strings.Repeat("x", 2001)), "at most 2000")

	// A name is checked when it is connected to, whatever it resolves to.
	var hit atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit.Store(true) }))
	defer srv.Close()
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	require.NoError(t, d.CheckURL(url), "a name passes registration")
	_, err := d.send(t.Context(), store.Webhook{URL: url, Secret: "s"}, store.WebhookDelivery{ID: "d", Event: "ping", Payload: []byte("{}")})
	require.ErrorIs(t, err, ErrAddressRefused)
	require.False(t, hit.Load())

	allowed := New(nil, Options{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, slog.New(slog.DiscardHandler), nil)
	status, err := allowed.send(t.Context(), store.Webhook{URL: srv.URL, Secret: "s"}, store.WebhookDelivery{ID: "d", Event: "ping", Payload: []byte("{}")})
	require.NoError(t, err)
	require.Equal(t, 200, status)
	require.True(t, hit.Load())
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var target atomic.Bool
	dst := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { target.Store(true) }))
	defer dst.Close()
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, dst.URL, http.StatusTemporaryRedirect)
	}))
	defer src.Close()
	d := New(nil, Options{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, slog.New(slog.DiscardHandler), nil)
	status, err := d.send(t.Context(), store.Webhook{URL: src.URL, Secret: "s"}, store.WebhookDelivery{ID: "d", Payload: []byte("{}")})
	require.ErrorContains(t, err, "HTTP 307")
	require.Equal(t, 307, status)
	require.False(t, target.Load(), "the signed body is not sent elsewhere")
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	d := New(nil, Options{FirstRetry: time.Minute, MaxRetry: 10 * time.Minute}, slog.New(slog.DiscardHandler), nil)
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 9: 10 * time.Minute} {
		for range 20 {
			got := d.backoff(n)
			require.True(t, got >= want*8/10 && got <= want*12/10, "attempt %d: %s not within 20%% of %s", n, got, want)
		}
	}
}

func TestMetricsPassPromlint(t *testing.T) {
	reg := prometheus.NewRegistry()
	d := New(nil, Options{}, slog.New(slog.DiscardHandler), reg)
	d.deliveries.WithLabelValues(store.KindEmail, "delivered").Inc()
	d.attempts.WithLabelValues("delivered").Inc()
	d.latency.Observe(0.1)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}
