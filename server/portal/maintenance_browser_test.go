package portal_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// rowOf is the text of the maintenance windows table's row that names
// name; "" when there is none.
func (tb *tab) rowOf(name string) string {
	tb.t.Helper()
	var text string
	tb.run(chromedp.Evaluate(`(Array.from(document.querySelectorAll("table.windows tbody tr")).find(r => r.innerText.includes(`+
		jsString(name)+`)) || {innerText: ""}).innerText`, &text))
	return text
}

func jsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestMaintenanceWindowsInChromium walks the maintenance page of the
// demo-like world as Acme's admin: a one-off window of an asset that holds
// now (marked in progress) and a recurring window of a device group are
// listed with their scopes by name; an invalid cron expression is refused
// with the API's message at its field; a window is deleted after a
// confirmation. A viewer sees the list without forms. On an asset page
// the admin sets the switch it depends on and clears it again; the
// findings list says which finding was suppressed by its parent's and
// which opened in a window.
func TestMaintenanceWindowsInChromium(t *testing.T) {
	s := newSite(t)
	assets := demoAssets(t, s)
	shots := newShooter(t)
	b := s.browser()
	b.login("admin@acme.example")
	b.get("/channel")
	p := b.post("/channel/groups", url2("name", "Network", "asset_ids", assets["Acme Core Switch"].ID))
	require.Contains(t, p.body, "The device group was created.")

	var errs []string
	acme := chromeTab(t, s, &errs)
	acme.login("admin@acme.example")
	acme.open("/maintenance?lang=en")
	require.Contains(t, acme.text("table.windows"), "No maintenance windows yet.")

	// A one-off window of the core switch, from an hour ago to an hour
	// from now, entered in Berlin time.
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	now := time.Now().In(berlin)
	const local = "2006-01-02T15:04"
	acme.run(chromedp.SetValue("#m-name", "Core switch firmware", chromedp.ByID),
		chromedp.Click(`input[name="scope"][value="asset_id"]`, chromedp.ByQuery),
		chromedp.SetValue("#m-asset", assets["Acme Core Switch"].ID, chromedp.ByID),
		chromedp.SetValue("#m-tz", "Europe/Berlin", chromedp.ByID),
		chromedp.Click("#m-kind-once", chromedp.ByID),
		chromedp.SetValue("#m-start", now.Add(-time.Hour).Format(local), chromedp.ByID),
		chromedp.SetValue("#m-end", now.Add(time.Hour).Format(local), chromedp.ByID))
	acme.submit("#window-form form")
	require.Contains(t, acme.text(".flash.ok"), "The maintenance window was saved.")
	row := acme.rowOf("Core switch firmware")
	require.Contains(t, row, "Asset: Acme Core Switch")
	require.Contains(t, row, "in progress", "the window holds now")
	require.Contains(t, row, now.Add(-time.Hour).Format("2006-01-02 15:04"), "the start in the window's own zone")
	require.Contains(t, row, "Europe/Berlin")

	// A recurring window of the device group: a bad cron expression first.
	acme.run(chromedp.SetValue("#m-name", "Saturday patches", chromedp.ByID),
		chromedp.Click(`input[name="scope"][value="group_id"]`, chromedp.ByQuery),
		chromedp.SetValue("#m-group", groupID(t, s, "Network"), chromedp.ByID),
		chromedp.Click("#m-kind-recurring", chromedp.ByID),
		chromedp.SetValue("#m-cron", "61 22 * * sat", chromedp.ByID),
		chromedp.SetValue("#m-duration", "120", chromedp.ByID))
	acme.submit("#window-form form")
	require.Contains(t, acme.text("#m-cron-err"), "is not a cron expression", "the API's message at the field")
	var invalid string
	acme.run(chromedp.AttributeValue("#m-cron", "aria-invalid", &invalid, nil, chromedp.ByID))
	require.Equal(t, "true", invalid)
	var kept string
	acme.run(chromedp.Value("#m-name", &kept, chromedp.ByID))
	require.Equal(t, "Saturday patches", kept, "the form keeps what was typed")
	require.Empty(t, acme.rowOf("Saturday patches"))

	acme.run(chromedp.SetValue("#m-cron", "0 22 * * sat", chromedp.ByID))
	acme.submit("#window-form form")
	require.Contains(t, acme.text(".flash.ok"), "The maintenance window was saved.")
	row = acme.rowOf("Saturday patches")
	require.Contains(t, row, "Device group: Network")
	require.Contains(t, row, "Repeats at 0 22 * * sat for 2 h")
	require.Contains(t, row, "next: ")
	require.NotContains(t, row, "in progress")

	// Edit the recurring window: the form comes back filled in.
	acme.follow(chromedp.Click(`a[aria-label="Edit Saturday patches"]`, chromedp.ByQuery), chromedp.WaitReady("main", chromedp.ByQuery))
	require.Contains(t, acme.text("#wform-h"), "Edit maintenance window")
	var cron string
	acme.run(chromedp.Value("#m-cron", &cron, chromedp.ByID))
	require.Equal(t, "0 22 * * sat", cron)
	acme.run(chromedp.SetValue("#m-duration", "90", chromedp.ByID))
	acme.submit("#window-form form")
	require.Contains(t, acme.text(".flash.ok"), "The maintenance window was saved.")
	require.Contains(t, acme.rowOf("Saturday patches"), "Repeats at 0 22 * * sat for 1.5 h")
	acme.run(shots.shot("maintenance"))
	if dir := os.Getenv("KPILOT_ARTIFACTS"); dir != "" {
		raw, err := os.ReadFile(filepath.Join(dir, "screenshots", "maintenance.png"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", "maintenance.png"), raw, 0o644))
	}

	// The findings list: one finding of the switch in its window, one of
	// the server behind it, suppressed by the switch's.
	ctx := t.Context()
	ws, err := s.store.MaintenanceWindows(ctx, s.orgs["acme"].ID)
	require.NoError(t, err)
	winID := ""
	for _, w := range ws {
		if w.Name == "Core switch firmware" {
			winID = w.ID
		}
	}
	require.NotEmpty(t, winID)
	sw := store.FindingResult{RuleID: "unreachable", Kind: "unreachable", AssetID: assets["Acme Core Switch"].ID,
		OUID: assets["Acme Core Switch"].OUID, Severity: store.SeverityCritical, Text: "The switch is unreachable", MaintenanceID: winID}
	_, err = s.store.ReconcileFindings(ctx, s.orgs["acme"].ID, []store.FindingResult{sw}, time.Now())
	require.NoError(t, err)
	srv := store.FindingResult{RuleID: "unreachable", Kind: "unreachable", AssetID: assets["Acme DL360"].ID,
		OUID: assets["Acme DL360"].OUID, Severity: store.SeverityCritical, Text: "The server is unreachable", ParentKey: sw.Key()}
	_, err = s.store.ReconcileFindings(ctx, s.orgs["acme"].ID, []store.FindingResult{sw, srv}, time.Now())
	require.NoError(t, err)
	acme.open("/findings?lang=en")
	findings := acme.text("main table")
	require.Contains(t, findings, "Suppressed: Acme Core Switch is unreachable")
	require.Contains(t, findings, "Opened in maintenance window “Core switch firmware”")

	// Delete the one-off window, after confirming.
	acme.open("/maintenance?lang=en")
	acme.follow(chromedp.Click(`a[aria-label="Delete Core switch firmware"]`, chromedp.ByQuery), chromedp.WaitReady("main", chromedp.ByQuery))
	require.Contains(t, acme.text("#confirm"), "Delete the maintenance window “Core switch firmware”?")
	require.NotEmpty(t, acme.rowOf("Core switch firmware"), "nothing is deleted before the confirmation")
	acme.submit("#confirm")
	require.Contains(t, acme.text(".flash.ok"), "The maintenance window was deleted.")
	require.Empty(t, acme.rowOf("Core switch firmware"))
	require.NotEmpty(t, acme.rowOf("Saturday patches"))

	// The server depends on the core switch; then on nothing again.
	dl := assets["Acme DL360"].ID
	acme.open("/assets/" + dl + "?lang=en")
	require.Contains(t, acme.text("#parent"), "Nothing")
	acme.run(chromedp.SetValue("#parent-id", assets["Acme Core Switch"].ID, chromedp.ByID))
	acme.submit("#parent-form")
	require.Contains(t, acme.text(".flash.ok"), "The dependency was saved.")
	require.Equal(t, "Acme Core Switch", acme.text("#parent a"))
	acme.run(chromedp.ScrollIntoView("#depends", chromedp.ByID), shots.shot("asset-depends"))
	// The switch cannot depend on the server behind it: the API's
	// message shows at the picker.
	acme.open("/assets/" + assets["Acme Core Switch"].ID + "?lang=en")
	acme.run(chromedp.SetValue("#parent-id", dl, chromedp.ByID))
	acme.submit("#parent-form")
	require.Contains(t, acme.text("#parent-err"), "would be a cycle")
	require.Contains(t, acme.text("#parent"), "Nothing")
	acme.open("/assets/" + dl + "?lang=en")
	parents, err := s.store.AssetParents(ctx, s.orgs["acme"].ID)
	require.NoError(t, err)
	require.Equal(t, assets["Acme Core Switch"].ID, parents[dl])
	acme.submit("#parent-clear")
	require.Contains(t, acme.text(".flash.ok"), "The dependency was removed.")
	require.Contains(t, acme.text("#parent"), "Nothing")
	parents, err = s.store.AssetParents(ctx, s.orgs["acme"].ID)
	require.NoError(t, err)
	require.Empty(t, parents[dl])

	// A viewer reads the windows; the page offers no forms.
	viewer := chromeTab(t, s, &errs)
	viewer.login("viewer@acme.example")
	viewer.open("/maintenance?lang=en")
	require.Contains(t, viewer.rowOf("Saturday patches"), "Device group: Network")
	require.False(t, viewer.exists("#window-form"))
	require.False(t, viewer.exists(`a[href^="/maintenance?delete="]`))
	viewer.open("/assets/" + dl + "?lang=en")
	require.Contains(t, viewer.text("#parent"), "Nothing")
	acme.open("/assets/" + dl + "?lang=en")
	acme.run(chromedp.SetValue("#parent-id", assets["Acme Array"].ID, chromedp.ByID))
	acme.submit("#parent-form")
	viewer.open("/assets/" + dl + "?lang=en")
	require.Equal(t, "Acme Array", viewer.text("#parent a"), "the viewer reads the parent by name")
	require.False(t, viewer.exists("#parent-form"))
	require.Empty(t, errs)
}

// TestPlannedOutagesOnAssetPage: polls in a real influxd say Acme ESX was
// unreachable for 20 minutes; a one-off window entered on the
// maintenance page (in UTC) covered 15 of them. The asset page lists the
// outages, the covered one marked planned, and sums the planned time.
func TestPlannedOutagesOnAssetPage(t *testing.T) {
	s := newSite(t)
	esx := s.assets["Acme ESX"]
	t0 := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var lines []string
	for m := range 120 {
		fields := `up=true,outcome=0i`
		if m >= 30 && m < 50 {
			fields = `up=false,outcome=2i`
		}
		lines = append(lines, fmt.Sprintf(`agent_poll,{asset},collector=snmp %s %d`, fields, at(m).UnixNano()))
	}
	s.writeLines(esx, lines...)
	b := s.browser()
	b.login("admin@acme.example")
	page := b.get("/assets/" + esx.ID + "?range=24h&lang=en")
	require.NotContains(t, page.body, "planned")

	b.get("/maintenance?lang=en")
	p := b.post("/maintenance?lang=en", url2("name", "ESX patch", "scope", "asset_id", "asset_id", esx.ID, "timezone", "UTC",
		"kind", "once", "starts_at", at(20).Format("2006-01-02T15:04"), "ends_at", at(45).Format("2006-01-02T15:04")))
	require.Contains(t, p.body, "The maintenance window was saved.")
	page = b.get("/assets/" + esx.ID + "?range=24h&lang=en")
	require.Equal(t, http.StatusOK, page.code)
	require.Contains(t, page.body, "15 min planned")
	require.Equal(t, 1, strings.Count(page.body, `<span class="badge planned">planned</span>`), "one of the two outages")
}

// The maintenance page renders for an admin, a viewer and a partner;
// only the customer's admin gets the forms. A viewer's form sent anyway
// is refused by the API, and a partner cannot set a customer asset's
// parent.
func TestMaintenancePageForEachRole(t *testing.T) {
	s := newSite(t)
	esx, nas := s.assets["Acme ESX"], s.assets["Acme NAS"]
	for _, tt := range []struct {
		name, email string
		forms       bool
	}{
		{"admin", "admin@acme.example", true},
		{"viewer", "viewer@acme.example", false},
		{"partner", "admin@r1.example", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := s.browser()
			b.login(tt.email)
			p := b.get("/maintenance?lang=en")
			require.Equal(t, http.StatusOK, p.code, "%s", p.body)
			requireSecurityHeaders(t, p)
			require.Equal(t, tt.forms, strings.Contains(p.body, `id="window-form"`))
		})
	}
	viewer := s.browser()
	viewer.login("viewer@acme.example")
	viewer.get("/maintenance")
	p := viewer.post("/maintenance?lang=en", url2("name", "x", "scope", "asset_id", "asset_id", esx.ID, "timezone", "UTC",
		"kind", "recurring", "recurrence", "0 22 * * sat", "duration_minutes", "60"))
	require.Equal(t, http.StatusForbidden, p.code, "%s", p.body)
	viewer.get("/assets/" + esx.ID)
	p = viewer.post("/assets/"+esx.ID+"/parent?lang=en", url2("parent_id", nas.ID))
	require.Equal(t, http.StatusForbidden, p.code, "%s", p.body)
	ws, err := s.store.MaintenanceWindows(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	require.Empty(t, ws)
	parents, err := s.store.AssetParents(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	require.Empty(t, parents)
}
