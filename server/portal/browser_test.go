package portal_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// chromium finds Debian's Chromium; make test installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("KPILOT_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if devenv.Required() {
		t.Fatal("chromium is not installed (make deps installs it)")
	}
	t.Skip("SKIPPED, not run: chromium is not installed")
	return ""
}

// shooter saves screenshots of the pages a test walks through into
// $KPILOT_ARTIFACTS/screenshots (make test sets it), for the README.
type shooter struct {
	t   *testing.T
	dir string
}

func newShooter(t *testing.T) *shooter {
	dir := os.Getenv("KPILOT_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "screenshots")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return &shooter{t: t, dir: dir}
}

func (s *shooter) shot(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var buf []byte
		if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(s.dir, name+".png"), buf, 0o644)
	})
}

// tab is one user's browser session (its own cookies).
type tab struct {
	t    *testing.T
	ctx  context.Context
	site *site
}

func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	require.NoError(tb.t, chromedp.Run(ctx, actions...))
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.run(chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

func (tb *tab) location() string {
	tb.t.Helper()
	var u string
	tb.run(chromedp.Location(&u))
	return strings.TrimPrefix(u, tb.site.url)
}

func (tb *tab) exists(sel string) bool {
	tb.t.Helper()
	var ok bool
	tb.run(chromedp.Evaluate(fmt.Sprintf("document.querySelector(%q) !== null", sel), &ok))
	return ok
}

// follow runs click (on a link or a submit button) and then waits until
// the page it leads to has loaded: waiting for an element instead could
// find it on the old page, which then goes away under the next action.
func (tb *tab) follow(click chromedp.Action, then ...chromedp.Action) {
	tb.t.Helper()
	const mark = "window.__kpilotBefore"
	left := chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var done bool
			// Errors are expected while the old document goes.
			err := chromedp.Evaluate(mark+` === undefined && document.readyState === "complete"`, &done).Do(ctx)
			if err == nil && done {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for the next page: %w", ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	tb.run(append([]chromedp.Action{chromedp.Evaluate(mark+" = true", nil), click, left}, then...)...)
}

func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(tb.site.url+path), chromedp.WaitReady("body", chromedp.ByQuery))
}

func (tb *tab) login(email string) {
	tb.t.Helper()
	tb.open("/login?lang=en")
	tb.run(chromedp.SendKeys("#email", email, chromedp.ByID), chromedp.SendKeys("#password", password, chromedp.ByID))
	tb.follow(chromedp.Click(`form[action="/login"] button`, chromedp.ByQuery), chromedp.WaitReady(`form[action="/logout"]`, chromedp.ByQuery))
	require.Equal(tb.t, "/", tb.location())
}

func (tb *tab) submit(form string) {
	tb.t.Helper()
	tb.follow(chromedp.Click(form+` button[type="submit"]`, chromedp.ByQuery), chromedp.WaitReady("main", chromedp.ByQuery))
}

var (
	ouKeyInMail  = regexp.MustCompile(`kpou_[A-Za-z0-9_-]{43}`)
	sysKeyInMail = regexp.MustCompile(`kpsk_[A-Za-z0-9_-]{43}`)
	linkInMail   = regexp.MustCompile(`https?://\S+/invite#kpi_[A-Za-z0-9_-]{43}`)
)

// TestSeedFlowsInChromium walks seed 000's flows in headless Chromium: a
// partner invites a customer, the customer activates its account and
// sends its OU key to a second partner, which creates an asset with it;
// the customer shares a system key, the partner sees that asset's KPI
// chart and nothing of any other customer; a viewer never sees keys; a
// revoked partner loses the page.
func TestSeedFlowsInChromium(t *testing.T) {
	exe := chromium(t)
	s := newSite(t)
	shots := newShooter(t)
	var consoleErrors []string
	// One Chromium per user: separate profiles, so separate cookies.
	newTab := func() *tab {
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
			// The asset pages this test expects to be refused answer 404.
			if e, ok := ev.(*cdplog.EventEntryAdded); ok && e.Entry.Level == cdplog.LevelError && !strings.Contains(e.Entry.URL, "/assets/") {
				consoleErrors = append(consoleErrors, e.Entry.URL+": "+e.Entry.Text)
			}
		})
		require.NoError(t, chromedp.Run(ctx, cdplog.Enable()))
		return &tab{t: t, ctx: ctx, site: s}
	}
	mails := 0
	mail := func(to string) string {
		mails++
		m := s.smtp.Wait(t, mails)
		require.Equal(t, []string{to}, m.To, m.Subject)
		return m.Body
	}

	anon := newTab()
	anon.open("/login?lang=en")
	anon.run(shots.shot("login"))

	// 1. Reseller One invites a new customer with its first asset.
	r1 := newTab()
	r1.login("admin@r1.example")
	r1.open("/partner/invite")
	r1.run(chromedp.SendKeys("#company", "Initech", chromedp.ByID), chromedp.SendKeys("#admin-email", "it@initech.example", chromedp.ByID),
		chromedp.SendKeys("#name", "Initech ESX", chromedp.ByID), chromedp.SetValue("#category", "server", chromedp.ByID),
		chromedp.SendKeys("#manufacturer", "HPE", chromedp.ByID), chromedp.SendKeys("#serial", "CZ2000INI", chromedp.ByID),
		shots.shot("partner-invite"))
	r1.submit(`form[action="/partner/invite"]`)
	require.Contains(t, r1.text(".flash.ok"), "invitation was sent")

	// 2. The customer's admin activates the account from the mail's link.
	link := linkInMail.FindString(mail("it@initech.example"))
	require.NotEmpty(t, link)
	initech := newTab()
	initech.run(chromedp.Navigate(link), chromedp.WaitVisible("#password", chromedp.ByID))
	var tokenField string
	initech.run(chromedp.Value("#invite-token", &tokenField, chromedp.ByID))
	require.True(t, strings.HasPrefix(tokenField, "kpi_"), "the page's script moved the token into the form")
	require.Equal(t, "/invite", initech.location(), "and out of the address bar")
	initech.run(chromedp.SendKeys("#password", "initech-admin-pass", chromedp.ByID), chromedp.SendKeys("#password2", "initech-admin-pass", chromedp.ByID))
	initech.submit("#invite-form")
	require.Contains(t, initech.text(".flash.ok"), "account is active")
	require.Contains(t, initech.text("main"), "Initech ESX")
	mail("it@initech.example") // welcome

	// 3. It sends its OU key to Reseller Two.
	initech.open("/organization")
	initech.run(shots.shot("organization"))
	initech.run(chromedp.SendKeys(`form[action$="/key/send"] input[type="email"]`, "admin@r2.example", chromedp.ByQuery))
	initech.submit(`form[action$="/key/send"]`)
	require.Contains(t, initech.text(".flash.ok"), "key was sent")
	ouKey := ouKeyInMail.FindString(mail("admin@r2.example"))
	require.NotEmpty(t, ouKey)

	// 4. Reseller Two verifies the key and creates an asset with it.
	r2 := newTab()
	r2.login("admin@r2.example")
	r2.open("/partner/systems/new")
	r2.run(chromedp.SendKeys("#ou_key", ouKey, chromedp.ByID))
	r2.follow(chromedp.Click(`button[value="verify"]`, chromedp.ByQuery), chromedp.WaitVisible(".checked", chromedp.ByQuery))
	require.Contains(t, r2.text(".checked"), "Initech")
	r2.run(chromedp.SendKeys("#name", "Initech NAS", chromedp.ByID), chromedp.SetValue("#category", "storage", chromedp.ByID))
	r2.follow(chromedp.Click(`button[value="create"]`, chromedp.ByQuery), chromedp.WaitVisible(".flash.ok", chromedp.ByQuery))
	require.Contains(t, r2.text("main h1"), "Initech NAS")
	require.Contains(t, r2.text(".flash.ok"), "customer system was created")

	// 5. The customer shows the system key of its ESX and mails it.
	initech.open("/")
	initech.follow(chromedp.Click(`//a[contains(., "Initech ESX")]`, chromedp.BySearch), chromedp.WaitVisible("#kpi-h", chromedp.ByID))
	esxPath := initech.location()
	esx, err := s.store.Asset(t.Context(), strings.TrimPrefix(esxPath, "/assets/"))
	require.NoError(t, err)
	initech.follow(chromedp.Click("a.key", chromedp.ByQuery), chromedp.WaitVisible("#system-key", chromedp.ByID))
	initech.run(chromedp.SendKeys("#key-email", "admin@r2.example", chromedp.ByID))
	initech.submit(`form[action$="/system-key/send"]`)
	sysKey := sysKeyInMail.FindString(mail("admin@r2.example"))
	require.NotEmpty(t, sysKey)

	// 6. Reseller Two checks and uses it.
	r2.open("/partner/systems/assign")
	r2.run(chromedp.SendKeys("#system_key", sysKey, chromedp.ByID))
	r2.follow(chromedp.Click(`button[value="check"]`, chromedp.ByQuery), chromedp.WaitVisible(".checked", chromedp.ByQuery))
	require.Contains(t, r2.text(".checked"), "Initech ESX")
	r2.follow(chromedp.Click(`button[value="assign"]`, chromedp.ByQuery), chromedp.WaitVisible(".flash.ok", chromedp.ByQuery))
	require.Equal(t, esxPath+"?done=system_assigned", r2.location())

	// The ESX reports KPIs (as ingest stores them), and Reseller Two
	// sees their chart.
	writeKPIs(t, s, esx)
	r2.open(esxPath + "?range=24h")
	r2.run(chromedp.WaitVisible("figure.chart .uplot canvas", chromedp.ByQuery))
	var charts int
	r2.run(chromedp.Evaluate(`document.querySelectorAll("figure.chart .uplot").length`, &charts))
	require.Equal(t, 2, charts, "one chart per KPI")
	require.Contains(t, r2.text("main"), "CPU load (%)", "the chart is titled by the built-in catalog, with its unit")
	require.Contains(t, r2.text("main"), "Latest poll: OK")
	require.False(t, r2.exists("a.key"), "a partner has no key icon")
	r2.run(shots.shot("partner-asset"))
	r2.open("/")
	require.Equal(t, "Initech", r2.text("table.customers tbody tr td"), "the partner overview: its one customer")
	r2.open("/?customer=" + esx.OrgID)
	dash := r2.text("main")
	require.Contains(t, dash, "Initech ESX")
	require.Contains(t, dash, "Initech NAS")
	for _, other := range []string{"Acme ESX", "Acme NAS", "Globex Secret Switch"} {
		require.NotContains(t, dash, other, "nothing of any other customer")
	}
	r2.run(shots.shot("partner-customer"))
	r2.open("/assets/" + s.assets["Acme ESX"].ID)
	require.Contains(t, r2.text("main"), "does not exist, or you may not see it")
	require.NotContains(t, r2.text("body"), "Acme ESX")

	// 7. A viewer sees assets but never keys.
	viewer := newTab()
	viewer.login("viewer@acme.example")
	viewer.open("/assets/" + s.assets["Acme ESX"].ID + "?key=show")
	require.False(t, viewer.exists("a.key"))
	require.False(t, viewer.exists("#system-key"))
	require.NotContains(t, viewer.text("body"), "kpsk_")

	// 8. The customer revokes Reseller Two's system-key access; the
	// partner's asset page is gone at its next request.
	initech.open(esxPath)
	require.Contains(t, initech.text("main"), "Reseller Two")
	initech.run(shots.shot("customer-asset"))
	initech.follow(chromedp.Click(`//tr[contains(., "Reseller Two")]//button`, chromedp.BySearch))
	require.Contains(t, initech.text(".flash.ok"), "access was revoked")
	r2.open(esxPath)
	require.Contains(t, r2.text("main"), "does not exist, or you may not see it")
	r2.open("/?customer=" + esx.OrgID)
	require.NotContains(t, r2.text("main"), "Initech ESX")
	require.Contains(t, r2.text("main"), "Initech NAS", "what it created stays")

	// The customer's other pages, for the README, in both languages and
	// on a narrow screen.
	initech.open("/?lang=de")
	require.Contains(t, initech.text("main h1"), "Ihre Assets")
	initech.run(shots.shot("dashboard-de"))
	initech.open("/?lang=en")
	initech.run(shots.shot("dashboard"))
	for _, p := range []string{"agents", "tokens", "audit"} {
		initech.open("/" + p)
		initech.run(shots.shot(p))
	}
	initech.run(chromedp.EmulateViewport(390, 844))
	initech.open("/")
	var overflow bool
	initech.run(chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow))
	require.False(t, overflow, "no sideways scrolling on a narrow screen")
	initech.run(shots.shot("dashboard-narrow"))
	require.Empty(t, consoleErrors, "the pages run without script errors (CSP included)")
}

// writeKPIs stores two hours of CPU and memory readings of an asset the
// way ingest writes them (with the tenant tags), and its latest poll
// (agent_poll, and the asset's status).
func writeKPIs(t *testing.T, s *site, as store.Asset) {
	t.Helper()
	ts := tsdb.New(tsdb.Options{URL: s.influx.URL, Bucket: s.influx.Bucket, Timeout: 10 * time.Second})
	defer ts.Close()
	var b strings.Builder
	now := time.Now().Truncate(time.Minute)
	tags := tsdb.AssetTag + "=" + as.SeriesID
	for i := range 120 {
		at := now.Add(-time.Duration(i) * time.Minute)
		fmt.Fprintf(&b, "cpu,%s load_percent=%d %d\n", tags, 20+(i*7)%50, at.UnixNano())
		fmt.Fprintf(&b, "memory,%s used_percent=%d %d\n", tags, 60+(i%10), at.UnixNano())
	}
	fmt.Fprintf(&b, "agent_poll,%s,collector=esx_snmp up=true,outcome=0i,message=\"\",duration_seconds=0.4 %d\n", tags, now.UnixNano())
	require.NoError(t, ts.Write(t.Context(), []byte(b.String())))
	require.NoError(t, s.store.SetAssetPolls(t.Context(), []store.AssetPoll{{AssetID: as.ID, At: now, Up: true}}))
}
