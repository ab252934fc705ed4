//go:build unix

package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/api"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
	"github.com/kpilot/kpilot/server/visibility/visibilitytest"
)

// BenchmarkPartnerAssetLatest measures GET /api/v1/assets/{id}/latest,
// the whole handler behind the API's mux (session, visibility check, KPI
// read from a real influxd), for a partner that sees 10,000 assets of 500
// customers on SQLite. It reports SQL statements per request
// (store_queries/op; the session and membership lookups included) and the
// server's CPU time per request (server_cpu_ms/op). The visibility and
// influx parts are measured apart too.
//
//	KPILOT_INFLUXD=/root/go/bin/influxd go test -run '^$' -bench PartnerAssetLatest ./server/api
func BenchmarkPartnerAssetLatest(b *testing.B) {
	influx := devenv.Influx(b) // skips, saying so, without influxd
	ctx := b.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "k.db"), discard)
	require.NoError(b, err)
	defer st.Close()
	w := visibilitytest.NewPartnerWorld(b, st, 500, 20)

	// A session of a viewer of the partner.
	u := store.User{Email: "viewer@reseller.example", PasswordHash: "x"}
	require.NoError(b, st.CreateUser(ctx, &u))
	require.NoError(b, st.AddMembership(ctx, store.Membership{UserID: u.ID, OrgID: w.Partner.ID, OUID: w.Partner.RootOU, Role: store.Viewer}))
	tok, th := auth.NewToken(auth.PrefixSession)
	now := time.Now()
	require.NoError(b, st.CreateSession(ctx, store.Session{TokenHash: th, UserID: u.ID, OrgID: w.Partner.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))

	// The latest KPIs of every asset: CPU, four interfaces and a health
	// event (which a reseller does not see), written as the ingest path
	// writes them, with the tenant tags.
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Bucket: influx.Bucket, Timeout: 10 * time.Second})
	defer ts.Close()
	var lines strings.Builder
	at := now.Add(-time.Minute).UnixNano()
	for i, a := range w.Assets {
		tags := "asset=" + a.SeriesID
		fmt.Fprintf(&lines, "cpu,%s usage_percent=%d.5,load1=0.%d %d\n", tags, i%100, i%10, at)
		for ifx := 1; ifx <= 4; ifx++ {
			fmt.Fprintf(&lines, "interface,%s,ifindex=%d in_bps=%d,out_bps=%d,oper_status=1i %d\n", tags, ifx, i*ifx, i+ifx, at)
		}
		fmt.Fprintf(&lines, "health_event,%s severity=\"ok\" %d\n", tags, at)
		if (i+1)%1000 == 0 {
			require.NoError(b, ts.Write(ctx, []byte(lines.String())))
			lines.Reset()
		}
	}
	require.NoError(b, ts.Write(ctx, []byte(lines.String())))

	reg := prometheus.NewRegistry()
	require.NoError(b, st.Instrument(reg))
	mux := http.NewServeMux()
	api.New(st, ts, api.Limits{}, discard, prometheus.NewRegistry()).Register(mux)
	get := func(id string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/assets/"+id+"/latest", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	// The first customer's first five assets are in the device group it
	// gave the partner as service partner; the others it resells only.
	rec := get(w.Assets[0].ID)
	require.Equal(b, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(b, rec.Body.String(), "health_event", "a service partner sees service data")
	rec = get(w.Assets[5].ID)
	require.Equal(b, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(b, rec.Body.String(), `"usage_percent"`)
	require.NotContains(b, rec.Body.String(), "health_event", "a reseller sees no service data")
	// influxd is still busy with the points just written for a while:
	// a warm-up, so that the first round does not measure that.
	for i := range 300 {
		require.Equal(b, http.StatusOK, get(w.Assets[(i*104729)%len(w.Assets)].ID).Code)
	}

	// The whole request, and apart its two parts: the visibility check
	// and the KPI read, which is InfluxDB's time more than the server's.
	run := func(b *testing.B, do func(a store.Asset) error) {
		before, cpu := storeStatements(b, reg), processCPU(b)
		for i := 0; b.Loop(); i++ {
			if err := do(w.Assets[(i*7919)%len(w.Assets)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((storeStatements(b, reg)-before)/float64(b.N), "store_queries/op")
		// The benchmark's own CPU time is the server's: influxd is
		// another process, so this is server time without the wait for
		// InfluxDB, and it holds still when the host is busy.
		b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/1000/float64(b.N), "server_cpu_ms/op")
	}
	b.Run("handler", func(b *testing.B) {
		run(b, func(a store.Asset) error {
			if rec := get(a.ID); rec.Code != http.StatusOK {
				return fmt.Errorf("%d: %s", rec.Code, rec.Body)
			}
			return nil
		})
	})
	b.Run("visibility", func(b *testing.B) {
		l := visibility.NewLoader(st)
		p := visibility.Principal{UserID: u.ID, OrgID: w.Partner.ID, OrgKind: w.Partner.Kind, OUID: w.Partner.RootOU, Role: store.Viewer}
		run(b, func(a store.Asset) error {
			_, _, err := l.Asset(ctx, p, a.ID)
			return err
		})
	})
	b.Run("influx", func(b *testing.B) {
		run(b, func(a store.Asset) error {
			_, err := ts.Latest(ctx, tsdb.Ref(a), 24*time.Hour)
			return err
		})
	})
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// storeStatements is how many SQL statements the instrumented store has
// run.
func storeStatements(tb testing.TB, reg *prometheus.Registry) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	require.NoError(tb, err)
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "kpilot_server_store_query_duration_seconds" {
			for _, m := range mf.GetMetric() {
				n += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return n
}
