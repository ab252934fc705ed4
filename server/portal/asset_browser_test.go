package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/server/inventory"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// newChromiumTab opens a Chromium of its own (its own cookies) on s;
// script errors are appended to errs.
func newChromiumTab(t *testing.T, exe string, s *site, errs *[]string) *tab {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
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
	// The first run starts the browser, which lives as long as its context.
	require.NoError(t, chromedp.Run(ctx))
	return &tab{t: t, ctx: ctx, site: s}
}

// demoAssets adds to s's Acme a server, a storage system, a switch and an
// uncategorised asset with two hours of the readings their collectors
// write (names as the built-in profiles use them: a BMC's temperature
// sensors, an array's pools, a switch's interfaces), their latest poll and
// two inventory snapshots of the server; Reseller One gets them by system
// key. It returns the assets by name.
func demoAssets(t *testing.T, s *site) map[string]store.Asset {
	t.Helper()
	ctx := t.Context()
	out := map[string]store.Asset{
		"Acme DL360":       s.asset("acme", "Acme DL360", "server"),
		"Acme Array":       s.asset("acme", "Acme Array", "storage"),
		"Acme Core Switch": s.asset("acme", "Acme Core Switch", "network"),
		"Acme Licence Box": s.asset("acme", "Acme Licence Box", ""),
	}
	ts := tsdb.New(tsdb.Options{URL: s.influx.URL, Bucket: s.influx.Bucket, Timeout: 10 * time.Second})
	defer ts.Close()
	var b strings.Builder
	now := time.Now().Truncate(time.Minute)
	tag := func(name string) string { return tsdb.AssetTag + "=" + out[name].SeriesID }
	var polls []store.AssetPoll
	for name := range out {
		fmt.Fprintf(&b, "agent_poll,%s,collector=demo up=true,outcome=0i,message=\"\",duration_seconds=0.4 %d\n", tag(name), now.UnixNano())
		polls = append(polls, store.AssetPoll{AssetID: out[name].ID, At: now, Up: true})
	}
	srv, arr, sw := tag("Acme DL360"), tag("Acme Array"), tag("Acme Core Switch")
	for i := range 120 {
		at := now.Add(-time.Duration(i) * time.Minute).UnixNano()
		fmt.Fprintf(&b, "cpu,%s load_percent=%d %d\n", srv, 20+(i*7)%50, at)
		fmt.Fprintf(&b, "memory,%s used_percent=%d,used_bytes=%d %d\n", srv, 60+(i%10), int64(150+i%10)<<30, at)
		fmt.Fprintf(&b, "temperature,%s,descr=CPU1\\ Temp,index=1 celsius=%d %d\n", srv, 45+i%5, at)
		fmt.Fprintf(&b, "temperature,%s,descr=Inlet\\ Ambient,index=2 celsius=%d %d\n", srv, 21+i%3, at)
		fmt.Fprintf(&b, "power,%s consumed_watts=%d %d\n", srv, 1240+i%40, at)
		cond := 2
		if i > 100 {
			cond = 3 // degraded in the first 20 minutes
		}
		fmt.Fprintf(&b, "server_health,%s overall_condition=%di %d\n", srv, cond, at)

		fmt.Fprintf(&b, "storage_pool,%s,name=pool0 used_bytes=%d,used_percent=%.1f %d\n", arr, int64(41)<<40+int64(i)<<30, 71.0+float64(i%5)/10, at)
		fmt.Fprintf(&b, "storage_system,%s total_iops=%d,read_latency_seconds=%.4f %d\n", arr, 2300+i*3, 0.0012+float64(i%4)/10000, at)
		fmt.Fprintf(&b, "disk,%s,descr=Disk\\ 0.1 status=1i %d\n", arr, at)

		for k, ifn := range []string{"Gi1/0/1", "Gi1/0/2"} {
			oper := 1
			if k == 1 && i < 30 {
				oper = 2 // the second link went down half an hour ago
			}
			octets := int64(120-i) * 60 * int64(3_000_000*(k+1))
			fmt.Fprintf(&b, "interface,%s,ifname=%s,ifindex=%d in_octets=%di,out_octets=%di,in_utilization_percent=%.1f,oper_status=%di %d\n",
				sw, ifn, k+1, octets, octets/2, 2.4*float64(k+1), oper, at)
		}
	}
	require.NoError(t, ts.Write(ctx, []byte(b.String())))
	require.NoError(t, s.store.SetAssetPolls(ctx, polls))

	first := kpi.Inventory{Time: now.Add(-time.Hour), Attributes: map[string]any{"memory_bytes": float64(192 << 30),
		"model": "ProLiant DL360 Gen10 Plus", "cpu_count": float64(2)},
		Components: map[string][]map[string]any{"drives": {{"name": "Drive 1", "capacity_bytes": float64(960197124096), "media": "SSD"}}}}
	second := first
	second.Time = now
	second.Attributes = map[string]any{"memory_bytes": float64(256 << 30), "model": "ProLiant DL360 Gen10 Plus", "cpu_count": float64(2)}
	for i, doc := range []kpi.Inventory{first, second} {
		data, err := json.Marshal(doc)
		require.NoError(t, err)
		changes := []byte("[]")
		if i > 0 {
			changes, err = json.Marshal(inventory.Diff(first, second))
			require.NoError(t, err)
		}
		_, err = s.store.PutInventory(ctx, out["Acme DL360"].ID, doc.Time, data, changes)
		require.NoError(t, err)
	}
	for _, a := range out {
		require.NoError(t, s.store.CreateGrant(ctx, &store.Grant{AssetID: a.ID, CustomerOrgID: s.orgs["acme"].ID,
			PartnerOrgID: s.orgs["r1"].ID, Kind: store.GrantSystemKey}))
	}
	return out
}

// The asset pages of a server, a storage system and a switch show the
// key figures of their category first, named by the catalog with their
// units; tagged lines are named by the sensor or interface; states are
// timelines with their names; the inventory and its history are in
// human units.
func TestAssetPagesShowKeyFiguresInChromium(t *testing.T) {
	exe := chromium(t)
	s := newSite(t)
	assets := demoAssets(t, s)
	shots := newShooter(t)
	var errs []string
	acme := newChromiumTab(t, exe, s, &errs)
	acme.login("admin@acme.example")

	for _, tt := range []struct {
		name, shot string
		headings   []string // chart titles and timelines, in this order
		legends    []string
		text       []string
	}{
		{"Acme DL360", "customer-asset-server",
			[]string{"CPU load (%)", "Memory usage (%)", "Temperature (°C)", "Power draw (kW)", "Overall condition (iLO)"},
			[]string{"CPU1 Temp", "Inlet Ambient"},
			[]string{"Memory: 192 GiB → 256 GiB", "CPU count", "894.3 GiB", "Degraded", "Warning 90 %", "Critical 95 %", "Availability"}},
		{"Acme Array", "customer-asset-storage",
			[]string{"Pool used (%)", "Pool space used (TiB)", "IOPS (/s)", "Read latency (ms)", "Disk status"},
			[]string{"pool0"},
			[]string{"Normal", "Disk 0.1"}},
		{"Acme Core Switch", "customer-asset-switch",
			[]string{"Inbound utilization (%)", "Bytes received per second (MiB/s)", "Bytes sent per second (MiB/s)", "Link status"},
			[]string{"Gi1/0/1", "Gi1/0/2"},
			[]string{"Up", "Down"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			acme.t = t
			acme.open("/assets/" + assets[tt.name].ID + "?range=24h&lang=en")
			acme.run(chromedp.WaitVisible("figure.chart .uplot canvas", chromedp.ByQuery))
			var headings []string
			acme.run(chromedp.Evaluate(`Array.from(document.querySelectorAll("figure.chart figcaption, figure.timeline figcaption")).map(e => e.textContent)`, &headings))
			require.Equal(t, tt.headings, headings[:min(len(headings), len(tt.headings))], "the category's key figures first, by rank, named with their units")
			var legends string
			acme.run(chromedp.Evaluate(`Array.from(document.querySelectorAll(".u-legend .u-label, .tl-label")).map(e => e.textContent).join("\n")`, &legends))
			for _, l := range tt.legends {
				require.Contains(t, legends, l)
			}
			require.NotContains(t, legends, "=", "no raw tag sets")
			main := acme.text("main")
			for _, x := range tt.text {
				require.Contains(t, main, x)
			}
			// The screenshot shows the two hours of readings at their width.
			acme.open("/assets/" + assets[tt.name].ID + "?range=1h&lang=en")
			acme.run(chromedp.WaitVisible("figure.chart .uplot canvas", chromedp.ByQuery), shots.shot(tt.shot))
		})
	}
	acme.t = t
	acme.open("/assets/" + assets["Acme DL360"].ID + "?range=24h&lang=de")
	require.Contains(t, acme.text("main"), "Temperatur (°C)")
	require.Contains(t, acme.text("main"), "894,3 GiB")
	acme.open("/assets/" + assets["Acme Licence Box"].ID + "?lang=en")
	require.Contains(t, acme.text("main .meta"), "Uncategorised")
	require.Empty(t, errs, "the pages run without script errors (CSP included)")
}

// A chart of a single point spans the chosen range, not years; its
// y-axis is wide enough for its labels.
func TestOnePointChartInChromium(t *testing.T) {
	exe := chromium(t)
	s := newSite(t)
	as := s.assets["Acme NAS"]
	ts := tsdb.New(tsdb.Options{URL: s.influx.URL, Bucket: s.influx.Bucket, Timeout: 10 * time.Second})
	defer ts.Close()
	now := time.Now().Truncate(time.Minute)
	require.NoError(t, ts.Write(t.Context(), []byte(fmt.Sprintf("storage_system,%s=%s total_iops=1234567 %d\n", tsdb.AssetTag, as.SeriesID, now.UnixNano()))))
	var errs []string
	acme := newChromiumTab(t, exe, s, &errs)
	acme.login("admin@acme.example")
	acme.open("/assets/" + as.ID + "?range=24h&lang=en")
	acme.run(chromedp.WaitVisible("figure.chart .uplot canvas", chromedp.ByQuery))
	var span []string
	acme.run(chromedp.Evaluate(`(() => { const d = JSON.parse(document.getElementById("chart-data").textContent); return [String(d[0].to - d[0].from)]; })()`, &span))
	require.Equal(t, []string{"86400"}, span, "the page asks for the chosen 24 hours")
	var xr []float64
	acme.run(chromedp.Evaluate(`(() => { const u = document.querySelector("figure.chart")._plot; return [u.scales.x.max - u.scales.x.min]; })()`, &xr))
	require.InDelta(t, 86400, xr[0], 60, "x-axis of one point: the 24 hours, not years")
	var axisFits bool
	acme.run(chromedp.Evaluate(`(() => { const u = document.querySelector("figure.chart")._plot; const ax = u.axes[1]; u.ctx.font = ax.font[0];
		const w = Math.max(...ax._values.map(v => u.ctx.measureText(v).width)) / (window.devicePixelRatio || 1);
		return ax._size >= w; })()`, &axisFits))
	require.True(t, axisFits, "the y-axis is as wide as its widest label")
	require.Empty(t, errs)
}

var (
	exponent = regexp.MustCompile(`(^|[^0-9A-Za-z_-])\d+(\.\d+)?[eE][+-]\d+`)
	// prefixOnly is a message id of a prefix and an empty value
	// ("category."), what a template writes for a value it lacks: alone
	// on its line, or followed by more than the end of a sentence.
	prefixOnly = regexp.MustCompile(`(?m)(^\s*([a-z_]+)\.\s*$|([a-z_]+)\.( [^A-Z\s]| ?[·|)\d]))`)
)

// No page a customer or a partner sees shows a raw translation key, a raw
// field name where the catalog has a name, or a number in exponent
// notation: every page of the navigation and every asset page, in both
// languages.
func TestNoRawTextInChromium(t *testing.T) {
	exe := chromium(t)
	s := newSite(t)
	demoAssets(t, s)
	ids, prefixes := messageIDs(t)
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	var fieldNames []string
	for _, d := range cat.Definitions() {
		fieldNames = append(fieldNames, d.Measurement+"."+d.Field)
		if strings.Contains(d.Field, "_") {
			fieldNames = append(fieldNames, d.Field)
		}
	}
	var errs []string
	for _, who := range []string{"admin@acme.example", "admin@r1.example"} {
		tb := newChromiumTab(t, exe, s, &errs)
		tb.login(who)
		var nav []string
		tb.run(chromedp.Evaluate(`Array.from(document.querySelectorAll("header nav a, main a[href^='/assets/']")).map(a => a.getAttribute("href"))`, &nav))
		slices.Sort(nav)
		nav = slices.Compact(nav)
		require.Greater(t, len(nav), 5, who)
		for _, lang := range []string{"en", "de"} {
			for _, path := range nav {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				tb.open(path + sep + "lang=" + lang)
				var text string
				tb.run(chromedp.Evaluate(`document.body.innerText + "\n" + Array.from(document.querySelectorAll("[title],[aria-label]")).map(e => (e.getAttribute("title") || "") + " " + (e.getAttribute("aria-label") || "")).join("\n")`, &text))
				where := who + " " + path + " " + lang
				require.NotRegexp(t, exponent, text, "%s: a number in exponent notation", where)
				for _, m := range prefixOnly.FindAllStringSubmatch(text, -1) {
					require.False(t, prefixes[m[2]] || prefixes[m[3]], "%s: raw key in %q", where, m[0])
				}
				for _, w := range strings.FieldsFunc(text, func(r rune) bool {
					return r == ' ' || r == '\n' || r == '\t' || r == '(' || r == ')' || r == ',' || r == ':'
				}) {
					require.False(t, ids[w], "%s: raw translation key %q", where, w)
					if strings.Contains(w, "_") || strings.Contains(w, ".") {
						require.False(t, slices.Contains(fieldNames, w), "%s: raw field name %q", where, w)
					}
				}
			}
		}
	}
	require.Empty(t, errs)
}

// messageIDs returns the portal's message ids, and the prefixes the
// templates complete with a value ("category" of printf "category.%s"),
// which an empty value leaves bare.
func messageIDs(t *testing.T) (map[string]bool, map[string]bool) {
	t.Helper()
	files, err := filepath.Glob("locales/*.yaml")
	require.NoError(t, err)
	ids, prefixes := map[string]bool{}, map[string]bool{}
	templates, err := filepath.Glob("templates/*.html")
	require.NoError(t, err)
	for _, f := range templates {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`printf "([a-z_]+)\.%s"`).FindAllStringSubmatch(string(raw), -1) {
			prefixes[m[1]] = true
		}
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var msgs map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &msgs))
		for k := range msgs {
			ids[k] = true
		}
	}
	return ids, prefixes
}
