package portal_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility/visibilitytest"
)

// BenchmarkPagesWith1000Assets times the list pages over HTTP against a
// real server (SQLite, influxd) when the user sees 1,000 assets: the
// customer's dashboard and asset table, and a partner's page of the
// customer sharing 1,000 assets with it. The target is under 300 ms a page; results and the
// command are in bench/README.md.
func BenchmarkPagesWith1000Assets(b *testing.B) {
	s := newSite(b)
	ctx := b.Context()
	cats := []string{"server", "storage", "backup", "network", "power", "printer", "software"}
	r1 := s.orgs["r1"]
	for i := range 1000 {
		a := s.asset("acme", fmt.Sprintf("Device %04d", i), cats[i%len(cats)])
		g := store.Grant{AssetID: a.ID, CustomerOrgID: a.OrgID, PartnerOrgID: r1.ID, Kind: store.GrantSystemKey, GrantedBy: "bench"}
		require.NoError(b, s.store.CreateGrant(ctx, &g))
	}
	customer := s.browser()
	customer.login("admin@acme.example")
	partner := s.browser()
	partner.login("admin@r1.example")
	for _, c := range []struct {
		name string
		br   *browser
		path string
	}{{"dashboard", customer, "/"}, {"config_assets", customer, "/config/assets"}, {"partner_customer", partner, "/?customer=" + s.orgs["acme"].ID}} {
		b.Run(c.name, func(b *testing.B) {
			p := c.br.get(c.path)
			require.Equal(b, http.StatusOK, p.code)
			require.GreaterOrEqual(b, strings.Count(p.body, "/assets/"), 1000, "every asset is on the page")
			cpu := processCPU(b)
			for b.Loop() {
				resp, err := c.br.c.Get(s.url + c.path)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatal(err, resp)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/1000/float64(b.N), "cpu_ms/op")
		})
	}
}

// BenchmarkPartnerPages10000 times a partner's pages over HTTP against a
// real server (SQLite, influxd) when it sees 10,000 assets of 500
// customers (visibilitytest.NewPartnerWorld, seeded through the store):
// the overview of its customers (target under 500 ms), a search, a later
// page, one customer's assets and the findings list (targets under
// 300 ms). Every 25th asset is down,
// every 40th has never been polled, and every tenth customer has open
// findings. Results and the command are in bench/README.md.
func BenchmarkPartnerPages10000(b *testing.B) {
	s := newSite(b)
	ctx := b.Context()
	start := time.Now()
	w := visibilitytest.NewPartnerWorld(b, s.store, 500, 20)
	s.orgs["world"] = w.Partner
	s.user("admin@world.example", "world", store.Admin)
	var polls []store.AssetPoll
	findings := map[string][]store.FindingResult{}
	for i, a := range w.Assets {
		if i%40 != 39 {
			polls = append(polls, store.AssetPoll{AssetID: a.ID, At: time.Now(), Up: i%25 != 3})
		}
		if i%200 < 8 { // the first assets of every tenth customer, in its service group
			sev := []store.Severity{store.SeverityCritical, store.SeverityWarning, store.SeverityInfo}[i%3]
			findings[a.OrgID] = append(findings[a.OrgID], store.FindingResult{RuleID: "storage-used", Kind: "storage_used",
				AssetID: a.ID, OUID: a.OUID, Subject: "storage,descr=/", Severity: sev, Text: "Storage / is full"})
		}
	}
	require.NoError(b, s.store.SetAssetPolls(ctx, polls))
	for org, res := range findings {
		_, err := s.store.ReconcileFindings(ctx, org, res, time.Now())
		require.NoError(b, err)
	}
	b.Logf("seeded %d assets of 500 customers in %s", len(w.Assets), time.Since(start).Round(time.Millisecond))
	partner := s.browser()
	partner.login("admin@world.example")
	customer := w.Assets[len(w.Assets)/2].OrgID
	for _, c := range []struct {
		name, path, want string
	}{
		{"overview", "/", `rel="next"`},
		{"overview_search", "/?q=" + url.QueryEscape("Customer 49"), "Customer 499"},
		{"overview_page_5", "/?page=5", `rel="prev"`},
		{"customer_assets", "/?customer=" + customer, "/assets/"},
		{"findings", "/findings", "Storage / is full"},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := partner.get(c.path)
			require.Equal(b, http.StatusOK, p.code, p.body)
			require.Contains(b, p.body, c.want)
			cpu := processCPU(b)
			for b.Loop() {
				partner.get(c.path)
			}
			// The server and the client share this process: its CPU time
			// per page is the server's work (plus reading the page),
			// which holds still while the shared host is busy.
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/1000/float64(b.N), "cpu_ms/op")
		})
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
