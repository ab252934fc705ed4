package portal_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// find opens check-up findings of an organization's assets, as an
// evaluation would: asset name → severity.
func (s *site) find(orgKey string, sev map[string]store.Severity) {
	s.t.Helper()
	var res []store.FindingResult
	for name, v := range sev {
		a := s.assets[name]
		res = append(res, store.FindingResult{RuleID: "storage-used", Kind: "storage_used", AssetID: a.ID, OUID: a.OUID,
			Subject: "storage,descr=/", Severity: v, Text: "Storage / is full"})
	}
	_, err := s.store.ReconcileFindings(s.t.Context(), s.orgs[orgKey].ID, res, time.Now())
	require.NoError(s.t, err)
}

// An asset that answers its polls but has an open critical finding is
// not shown green: its badge, its category and the summary say so.
func TestDashboardStatusReflectsOpenFindings(t *testing.T) {
	s := newSite(t)
	esx, nas := s.assets["Acme ESX"], s.assets["Acme NAS"]
	now := time.Now()
	require.NoError(t, s.store.SetAssetPolls(t.Context(), []store.AssetPoll{{AssetID: esx.ID, At: now, Up: true}, {AssetID: nas.ID, At: now, Up: true}}))
	s.find("acme", map[string]store.Severity{"Acme ESX": store.SeverityCritical})

	b := s.browser()
	b.login("admin@acme.example")
	body := b.get("/?lang=en").body
	row := func(as store.Asset) string {
		m := regexp.MustCompile(`(?s)<li data-status="[a-z]+"><a href="/assets/` + as.ID + `".*?</li>`).FindString(body)
		require.NotEmpty(t, m, "no row of %s", as.Name)
		return html.UnescapeString(m)
	}
	require.Contains(t, row(esx), `<span class="st st-critical">Critical finding</span>`)
	require.Contains(t, row(esx), "Critical: 1")
	require.NotContains(t, row(esx), "st-up", "not green while a critical finding is open")
	require.Contains(t, row(nas), `<span class="st st-up"`)
	require.Contains(t, html.UnescapeString(body), "Open findings: 1 critical, 0 warning, 0 info.")
}

// manyCustomers gives Reseller One n customers sharing one asset each by
// consented default channel assignment (as service partner: it sees
// findings); customer i's asset is down when down(i), and has an open
// finding of severity sev(i) when not "".
func (s *site) manyCustomers(n int, down func(int) bool, sev func(int) store.Severity) {
	s.t.Helper()
	ctx := s.t.Context()
	r1 := s.orgs["r1"]
	for i := range n {
		key := fmt.Sprintf("c%03d", i)
		o := store.Organization{Name: fmt.Sprintf("Customer %03d", i), Kind: store.Customer, ChannelConsent: true}
		require.NoError(s.t, s.store.CreateOrganization(ctx, &o))
		s.orgs[key] = o
		a := s.asset(key, fmt.Sprintf("Server %03d", i), "server")
		require.NoError(s.t, s.store.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: o.ID, PartnerOrgID: r1.ID,
			DefaultReseller: true, DefaultService: true, AddedBy: "test"}))
		require.NoError(s.t, s.store.SetAssetPolls(ctx, []store.AssetPoll{{AssetID: a.ID, At: time.Now(), Up: !down(i)}}))
		if v := sev(i); v != "" {
			s.find(key, map[string]store.Severity{a.Name: v})
		}
	}
}

// TestOverviewsInChromium: the partner overview lists every customer the
// partner sees, the most urgent first, 50 a page, searchable by name;
// a customer's page shows the finding on the badge. Saves the screenshot
// docs/screenshots/partner-portal.png.
func TestOverviewsInChromium(t *testing.T) {
	exe := chromium(t)
	s := newSite(t)
	shots := newShooter(t)
	s.manyCustomers(60, func(i int) bool { return i%20 == 7 }, func(i int) store.Severity {
		switch {
		case i == 42:
			return store.SeverityCritical
		case i%15 == 4:
			return store.SeverityWarning
		}
		return ""
	})
	var consoleErrors []string
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			consoleErrors = append(consoleErrors, e.ExceptionDetails.Error())
		}
	})
	require.NoError(t, chromedp.Run(ctx)) // starts the browser on ctx, not on the first action's shorter one
	r1 := &tab{t: t, ctx: ctx, site: s}
	r1.login("admin@r1.example")

	customers := func() []string {
		var names []string
		r1.run(chromedp.Evaluate(`[...document.querySelectorAll("table.customers tbody tr td:first-child")].map(td => td.textContent.trim())`, &names))
		return names
	}
	names := customers()
	require.Len(t, names, 50, "50 a page")
	require.Equal(t, []string{"Customer 042", "Customer 007", "Customer 027", "Customer 047", "Customer 004", "Customer 019", "Customer 034", "Customer 049", "Customer 000"},
		names[:9], "critical first, then down, then warnings, then by name")
	require.Contains(t, r1.text("nav.pager"), "Page 1 of 2")
	require.Contains(t, r1.text("dl.tally"), "60", "the customers of every page")
	row := r1.text(`table.customers tbody tr:first-child`)
	require.Regexp(t, `Customer 042\s+1\s+0\s+0\s+1\s+0\s+0`, row, "assets, down, unmonitored, critical, warning, info")
	r1.run(shots.shot("partner-portal"))

	r1.follow(chromedp.Click(`a[rel="next"]`, chromedp.ByQuery), chromedp.WaitReady("main", chromedp.ByQuery))
	require.Len(t, customers(), 10, "the last page")
	require.Contains(t, r1.text("nav.pager"), "Page 2 of 2")

	r1.open("/?lang=en")
	r1.run(chromedp.SendKeys("#q", "customer 04", chromedp.ByID))
	r1.submit(`form.search`)
	require.Equal(t, []string{"Customer 042", "Customer 047", "Customer 049", "Customer 040", "Customer 041", "Customer 043",
		"Customer 044", "Customer 045", "Customer 046", "Customer 048"}, customers(), "searched, still sorted")
	require.False(t, r1.exists("nav.pager"), "one page")
	require.NotContains(t, r1.text("main"), "Acme", "no customer that shares nothing")

	r1.follow(chromedp.Click(`//a[contains(., "Customer 042")]`, chromedp.BySearch), chromedp.WaitReady("main", chromedp.ByQuery))
	require.Contains(t, r1.text("main"), "Server 042")
	require.Equal(t, "Critical finding", strings.TrimSpace(r1.text(`ul.assets li .st`)), "the badge says the finding")
	require.Contains(t, r1.text("main"), "All customers")
	require.Contains(t, r1.text("main h2"), "1 asset, 1 needing attention", "one asset, not “1 assets”")

	r1.open("/?q=nobody")
	require.Contains(t, r1.text("main"), "No customer's name contains “nobody”.")
	r1.open("/?lang=de")
	require.Contains(t, r1.text("main h1"), "Ihre Kunden")
	require.Empty(t, consoleErrors, "the pages run without script errors (CSP included)")
}
