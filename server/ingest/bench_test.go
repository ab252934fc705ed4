package ingest

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
)

// benchLines returns n lines of the kind an agent sends: the interface
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

// agentIngester returns an Ingester without InfluxDB and an agent
// enrolled into the root OU of its organization: enough to re-encode
// batches.
func agentIngester(tb testing.TB) (*Ingester, store.Agent) {
	tb.Helper()
	log, st, o := benchStore(tb)
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	now := time.Now()
	if err := st.CreateEnrollmentToken(tb.Context(), store.EnrollmentToken{TokenHash: hash, OrgID: o.ID, OUID: o.RootOU,
		CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		tb.Fatal(err)
	}
	ag := store.Agent{Name: "test", TokenHash: "x"}
	if err := st.EnrollAgent(tb.Context(), auth.Hash(tok), now, &ag); err != nil {
		tb.Fatal(err)
	}
	return New(st, nil, Limits{}, log, prometheus.NewRegistry()), ag
}

// BenchmarkReencode measures the server's own parse, check and enrich path
// for one agent batch of 5,000 lines over 50 assets (asset lookups hit the
// per-batch cache after the first line of each asset, as in production).
// Run on one core:
//
//	go test -run '^$' -bench Reencode -benchmem -cpu 1 ./server/ingest
func BenchmarkReencode(b *testing.B) {
	in, ag := agentIngester(b)
	now := time.Now()
	const lines = 5000
	samples := benchLines(lines, 50, now.Add(-time.Minute))
	warm := newAssetResolver(in, ag)
	var x reencoder
	if _, n, rej, err := x.reencode(b.Context(), now, warm, samples, nil); err != nil || n != lines {
		b.Fatalf("warm-up: %d accepted, rejections %v, err %v", n, rej, err)
	}
	b.SetBytes(int64(len(samples)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		// A fresh resolver per batch, as in ingest, but with the assets
		// already in the store.
		res := newAssetResolver(in, ag)
		if _, n, _, err := x.reencode(b.Context(), now, res, samples, x.out); err != nil || n != lines {
			b.Fatalf("%d accepted, err %v", n, err)
		}
	}
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkIngest runs whole compressed agent batches (zstd, as the
// agent sends them) through Ingest into a real influxd (started by the
// benchmark), for profiling:
//
//	go test -run '^$' -bench 'Ingest$' -benchtime 200x -cpuprofile cpu.out ./server/ingest
//
// Every batch has an id of its own: a batch id seen before is answered
// duplicate without being written. The first 200 batches are made before
// the clock starts; further ones are made with the clock stopped, but in
// the CPU profile.
func BenchmarkIngest(b *testing.B) {
	influx := devenv.Influx(b)
	log, st, o := benchStore(b)
	ag := store.Agent{ID: "bench", OrgID: o.ID, OUID: o.RootOU}
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Bucket: influx.Bucket, Timeout: 10 * time.Second})
	defer ts.Close()
	in := New(st, ts, Limits{}, log, prometheus.NewRegistry())
	const lines = 5000
	now := time.Now()
	var samples []string
	for i := range 20 {
		samples = append(samples, string(benchLines(lines, 50, now.Add(-time.Duration(i+1)*time.Hour))))
	}
	body := func(i int) []byte {
		data, err := (&wire.Batch{Version: wire.Version, ID: uuid.NewString(), Samples: samples[i%len(samples)]}).MarshalAs(wire.Zstd)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	var bodies [][]byte
	for i := range 200 {
		bodies = append(bodies, body(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		data := bodies[i%len(bodies)]
		if i >= len(bodies) {
			b.StopTimer()
			data = body(i)
			b.StartTimer()
		}
		i++
		res, err := in.Ingest(b.Context(), ag, "", bytes.NewReader(data), wire.Zstd)
		if err != nil {
			b.Fatal(err)
		}
		if res.Status != Stored || res.Accepted != lines {
			b.Fatalf("%s, %d accepted", res.Status, res.Accepted)
		}
	}
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "points/s")
}
