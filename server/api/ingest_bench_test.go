package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
)

// benchLines (as package ingest's) returns n lines of the kind an agent sends: the interface
// rates of switches, three tags and five fields each, the lines of one
// asset together (as one poll's samples are).
func benchLines(n, assets int, at time.Time) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "interface,asset=switch-%03d,ifindex=%d,ifname=GigabitEthernet1/0/%d "+
			"in_bps=%d.5,out_bps=%d.25,in_errors_rate=0,oper_status=1i,admin_up=true %d\n",
			i*assets/n, i%48+1, i%48+1, i*31, i*17, at.UnixNano()+int64(i))
	}
	return []byte(b.String())
}

// benchStore opens a SQLite store with one organization, closed at the
// end of the test.
func benchStore(tb testing.TB) (*slog.Logger, *sqlstore.DB, store.Organization) {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.OpenSQLite(tb.Context(), filepath.Join(tb.TempDir(), "k.db"), log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	if err := st.CreateOrganization(tb.Context(), &o); err != nil {
		tb.Fatal(err)
	}
	return log, st, o
}

// BenchmarkIngestHandler runs whole agent batches through the ingest
// handler (headers, package ingest, the answer) into a real influxd
// (started by the benchmark); package ingest's BenchmarkIngest is the
// same without HTTP:
//
//	go test -run '^$' -bench IngestHandler -cpuprofile cpu.out ./server/api
func BenchmarkIngestHandler(b *testing.B) {
	influx := devenv.Influx(b)
	log, st, o := benchStore(b)
	ag := store.Agent{ID: "bench", OrgID: o.ID, OUID: o.RootOU}
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Bucket: influx.Bucket, Timeout: 10 * time.Second})
	defer ts.Close()
	a := New(st, ts, Limits{}, log, prometheus.NewRegistry())
	const lines = 5000
	now := time.Now()
	var bodies [][]byte
	for i := range 20 {
		samples := benchLines(lines, 50, now.Add(-time.Duration(i+1)*time.Hour))
		data, err := (&wire.Batch{Version: wire.Version, ID: uuid.NewString(), Samples: string(samples)}).Marshal()
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, data)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/ingest", bytes.NewReader(bodies[i%len(bodies)]))
		i++
		req.Header.Set("Content-Type", wire.ContentType)
		req.Header.Set("Content-Encoding", "gzip")
		req = req.WithContext(context.WithValue(req.Context(), agentKey, ag))
		rec := httptest.NewRecorder()
		if err := a.ingest(rec, req); err != nil {
			b.Fatal(err)
		}
		if rec.Code != http.StatusOK {
			b.Fatalf("%d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "points/s")
}
