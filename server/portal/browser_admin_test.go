package portal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromeTab starts a Chromium of its own (its own cookies) for one user of
// s; script errors on its pages land in errs.
func chromeTab(t *testing.T, s *site, errs *[]string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			*errs = append(*errs, e.ExceptionDetails.Error())
		}
	})
	// The first Run starts the browser, which lives as long as the
	// context of that Run: this one, not a per-action timeout.
	require.NoError(t, chromedp.Run(ctx))
	return &tab{t: t, ctx: ctx, site: s}
}

// rows are the device names the channel page's table shows.
func (tb *tab) rows() []string {
	tb.t.Helper()
	var names []string
	tb.run(chromedp.Evaluate(`Array.from(document.querySelectorAll("table.devices tbody td:first-child a")).map(a => a.textContent)`, &names))
	return names
}

// TestChannelInChromium walks the channel page of seed 003 in Chromium:
// choose a partner, the "all devices" view, a device group and a search;
// tick a device's Service partner box and save; the device then shows
// under "assigned to this partner".
func TestChannelInChromium(t *testing.T) {
	s := newSite(t)
	shots := newShooter(t)
	for _, a := range []struct{ name, category string }{
		{"Acme Core Switch", "network"}, {"Acme Edge Switch", "network"}, {"Acme UPS", "power"},
		{"Acme Backup", "backup"}, {"Acme Printer", "printer"},
	} {
		s.asset("acme", a.name, a.category)
	}
	b := channelSetup(t, s) // Reseller One default reseller, Reseller Two, group Core = ESX
	p := b.post("/channel/groups", url2("name", "Network", "asset_ids", s.assets["Acme Core Switch"].ID, "asset_ids", s.assets["Acme Edge Switch"].ID))
	require.Contains(t, p.body, "The device group was created.")

	var errs []string
	acme := chromeTab(t, s, &errs)
	acme.login("admin@acme.example")
	acme.open("/channel?lang=en")
	require.Len(t, acme.rows(), 0, "the first partner, Reseller One, is everyone's default reseller: nothing is not assigned to it")

	acme.run(chromedp.SetValue("#f-partner", "KP-2222-2222", chromedp.ByID))
	acme.submit(`form.filters`)
	require.Len(t, acme.rows(), 7, "not assigned to Reseller Two: every device")
	acme.run(chromedp.Click(`input[name="view"][value="all"]`, chromedp.ByQuery), chromedp.SetValue("#f-group", groupID(t, s, "Network"), chromedp.ByID))
	acme.submit(`form.filters`)
	require.Equal(t, []string{"Acme Core Switch", "Acme Edge Switch"}, acme.rows())
	acme.run(chromedp.SendKeys("#f-q", "edge", chromedp.ByID))
	acme.submit(`form.filters`)
	require.Equal(t, []string{"Acme Edge Switch"}, acme.rows())
	require.Contains(t, acme.text("#dev-count"), "1 of 7 devices")

	acme.run(chromedp.Click(`input[name="service"][value="`+s.assets["Acme Edge Switch"].ID+`"]`, chromedp.ByQuery))
	acme.follow(chromedp.Click(`form[action="/channel/devices"] button[type="submit"]`, chromedp.ByQuery), chromedp.WaitReady("main", chromedp.ByQuery))
	require.Contains(t, acme.text(".flash.ok"), "The devices were saved.")
	require.Contains(t, acme.location(), "q=edge", "back on the same filter")
	acme.run(chromedp.Click(`input[name="view"][value="assigned"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("f-group").value = ""; document.getElementById("f-q").value = ""`, nil))
	acme.submit(`form.filters`)
	require.Equal(t, []string{"Acme Edge Switch"}, acme.rows())
	require.True(t, acme.exists(`input[name="service"][value="`+s.assets["Acme Edge Switch"].ID+`"]:checked`))

	// For the README: Reseller Two's view of all devices.
	acme.open("/channel?partner=KP-2222-2222&view=all")
	require.True(t, strings.Contains(acme.text("table.devices"), "Reseller One (default)"))
	acme.run(shots.shot("channel"))
	acme.open("/channel?partner=KP-2222-2222&view=all&lang=de")
	require.Contains(t, acme.text("main"), "Alle Geräte")
	acme.run(shots.shot("channel-de"))
	// The other administration pages, for reviewers.
	for _, page := range []string{"organization-admin", "reports", "webhooks", "checkup-rules"} {
		path := "/" + page
		if page == "organization-admin" {
			path = "/organization"
		}
		acme.open(path + "?lang=en")
		acme.run(shots.shot(page))
	}
	require.Empty(t, errs, "the page runs without script errors (CSP included)")
}

// url2 is a form from pairs of names and values (a name may repeat).
func url2(pairs ...string) map[string][]string {
	out := map[string][]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[pairs[i]] = append(out[pairs[i]], pairs[i+1])
	}
	return out
}
