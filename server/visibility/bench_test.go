package visibility_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/visibility"
	"github.com/kpilot/kpilot/server/visibility/visibilitytest"
)

// Sizes of the partner world of BenchmarkPartnerAsset.
const (
	benchCustomers     = 500
	benchAssetsPerCust = 20
)

// statements is how many SQL statements db has run since Instrument.
func statements(tb testing.TB, reg *prometheus.Registry) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	require.NoError(tb, err)
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "kpilot_server_store_query_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			n += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return n
}

// BenchmarkPartnerAsset measures the visibility check of a single-asset
// read (GET /api/v1/assets/{id}/latest and the other /assets/{id} routes)
// for a partner that sees 10,000 assets of 500 customers, on SQLite:
// Loader.Asset, and for comparison the earlier way, Loader.Set over
// everything the partner sees and then Access of the one asset. Besides
// ns/op it reports SQL statements per check (store_queries/op).
//
//	go test -run '^$' -bench PartnerAsset -benchtime 2s ./server/visibility
func BenchmarkPartnerAsset(b *testing.B) {
	db := openStore(b)
	start := time.Now()
	w := visibilitytest.NewPartnerWorld(b, db, benchCustomers, benchAssetsPerCust)
	b.Logf("seeded %d assets of %d customers in %s", len(w.Assets), benchCustomers, time.Since(start).Round(time.Millisecond))
	p, assets := w.Principal, w.Assets
	reg := prometheus.NewRegistry()
	require.NoError(b, db.Instrument(reg))
	l := visibility.NewLoader(db)
	ctx := context.Background()

	run := func(b *testing.B, check func(id string) (visibility.Access, error)) {
		before := statements(b, reg)
		for i := 0; b.Loop(); i++ {
			acc, err := check(assets[(i*7919)%len(assets)].ID) // a prime stride: every customer in turn, no two alike in a row
			if err != nil || acc.Class < visibility.Reseller {
				b.Fatalf("asset %d: access %v, err %v; want at least reseller", i, acc, err)
			}
		}
		b.ReportMetric((statements(b, reg)-before)/float64(b.N), "store_queries/op")
	}
	b.Run("Loader.Asset", func(b *testing.B) {
		run(b, func(id string) (visibility.Access, error) {
			_, acc, err := l.Asset(ctx, p, id)
			return acc, err
		})
	})
	b.Run("Loader.Set+Access", func(b *testing.B) {
		run(b, func(id string) (visibility.Access, error) {
			set, err := l.Set(ctx, p)
			if err != nil {
				return visibility.Access{}, err
			}
			as, err := db.Asset(ctx, id)
			if err != nil {
				return visibility.Access{}, err
			}
			return set.Access(as), nil
		})
	})
}
