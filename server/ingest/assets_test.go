package ingest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

// TestNewAssetsCappedPerAgentHour: an agent that reports more new targets
// than limits.new_assets_per_agent_hour gets the points of the ones beyond
// refused with a reason naming the cap, while the points of assets that
// exist are stored, in the same batch, in the next, and after a restart
// (a new Ingester on the same store).
func TestNewAssetsCappedPerAgentHour(t *testing.T) {
	base, ag := agentIngester(t)
	at := time.Now().Add(-time.Minute).UnixNano()
	batch := func(assets ...string) []byte {
		var b strings.Builder
		for i, a := range assets {
			fmt.Fprintf(&b, "cpu,asset=%s load=%di %d\n", a, i, at+int64(i))
		}
		return body(t, b.String())
	}
	written := func(rec *recorder) []string { // the series ids of the lines written
		var series []string
		for _, p := range rec.parts {
			for l := range strings.Lines(string(p)) {
				series = append(series, strings.SplitN(strings.SplitN(l, ",asset=", 2)[1], " ", 2)[0])
			}
		}
		return series
	}
	const reason = `asset "sw4" not created: agent "test" created 3 assets in the last hour: ` +
		`the agent's cap on new assets per hour is reached (limits.new_assets_per_agent_hour = 3)`

	rec := &recorder{}
	in := New(base.store, rec, Limits{NewAssetsPerHour: 3}, base.log, prometheus.NewRegistry())
	res, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(batch("sw1", "sw2", "sw3", "sw4", "sw1", "sw5")), wire.Gzip)
	require.NoError(t, err)
	require.Equal(t, 3+1, res.Accepted, "sw1 twice, sw2, sw3")
	require.Equal(t, 2, res.Rejected)
	require.Equal(t, []string{"line 4: " + reason, "line 6: " + strings.ReplaceAll(reason, "sw4", "sw5")}, res.Rejections)
	w := written(rec)
	require.Len(t, w, 4)
	require.Equal(t, w[0], w[3], "sw1's points in one series")

	for _, tt := range []struct {
		name string
		in   *Ingester
	}{
		{"the next batch", in},
		{"after a restart", New(base.store, &recorder{}, Limits{NewAssetsPerHour: 3}, base.log, prometheus.NewRegistry())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.in.Ingest(t.Context(), ag, "", bytes.NewReader(batch("sw4", "sw3")), wire.Gzip)
			require.NoError(t, err)
			require.Equal(t, 1, res.Accepted, "sw3 exists")
			require.Equal(t, []string{"line 1: " + reason}, res.Rejections)
		})
	}

	t.Run("no cap", func(t *testing.T) {
		rec := &recorder{}
		free := New(base.store, rec, Limits{NewAssetsPerHour: -1}, base.log, prometheus.NewRegistry())
		res, err := free.Ingest(t.Context(), ag, "", bytes.NewReader(batch("sw4", "sw5")), wire.Gzip)
		require.NoError(t, err)
		require.Equal(t, 2, res.Accepted)
		require.Len(t, written(rec), 2)
	})
}

// countingStore counts the asset look-ups ingest makes of a real store.
type countingStore struct {
	*sqlstore.DB
	ensured, known atomic.Int64
	knownKeys      atomic.Int64
}

func (c *countingStore) EnsureAsset(ctx context.Context, a store.Agent, key string, ids []string, n int) (store.Asset, error) {
	c.ensured.Add(1)
	return c.DB.EnsureAsset(ctx, a, key, ids, n)
}

func (c *countingStore) KnownAssets(ctx context.Context, a store.Agent, keys []string) (map[string]store.Asset, error) {
	c.known.Add(1)
	c.knownKeys.Add(int64(len(keys)))
	return c.DB.KnownAssets(ctx, a, keys)
}

// TestExpiredAssetsLookedUpTogether: when an agent's cached assets expire,
// the next batch looks them all up in one read of the store, not one read
// per asset; a new asset in that batch is still created, and a refused
// one still refused, one by one.
func TestExpiredAssetsLookedUpTogether(t *testing.T) {
	base, ag := agentIngester(t)
	st := &countingStore{DB: base.store.(*sqlstore.DB)}
	clock := time.Now()
	rec := &recorder{}
	in := New(st, rec, Limits{}, base.log, prometheus.NewRegistry())
	in.now = func() time.Time { return clock }
	at := clock.Add(-time.Minute).UnixNano()
	samplesOf := func(assets []string) []byte {
		var b bytes.Buffer
		for i, a := range assets {
			for j := range 3 {
				fmt.Fprintf(&b, "cpu,asset=%s,core=%d load=%di %d\n", a, j, i, at+int64(i))
			}
		}
		return b.Bytes()
	}
	batch := func(assets ...string) []byte { return body(t, string(samplesOf(assets))) }
	var keys []string
	for i := range 50 {
		keys = append(keys, fmt.Sprintf("sw%d", i))
	}
	res, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(batch(keys...)), wire.Gzip)
	require.NoError(t, err)
	require.Equal(t, 150, res.Accepted)
	require.EqualValues(t, 50, st.ensured.Load(), "each new asset is created by EnsureAsset")
	require.EqualValues(t, 1, st.known.Load(), "the first batch asked for all its keys once")

	res, err = in.Ingest(t.Context(), ag, "", bytes.NewReader(batch(keys...)), wire.Gzip)
	require.NoError(t, err)
	require.Equal(t, 150, res.Accepted)
	require.EqualValues(t, 50, st.ensured.Load(), "cached: no look-up")
	require.EqualValues(t, 1, st.known.Load())

	clock = clock.Add(assetCacheTTL + time.Second)
	res, err = in.Ingest(t.Context(), ag, "", bytes.NewReader(batch(append(keys, "sw-new")...)), wire.Gzip)
	require.NoError(t, err)
	require.Equal(t, 153, res.Accepted)
	require.EqualValues(t, 2, st.known.Load(), "the expired assets are read together")
	require.EqualValues(t, 50+51, st.knownKeys.Load())
	require.EqualValues(t, 51, st.ensured.Load(), "only the new asset goes through EnsureAsset")

	// An inventory without identities (an SNMP device that gives no
	// serial) comes before the samples: its look-up is the batch's first
	// miss, and the batch's samples are looked up with it.
	clock = clock.Add(assetCacheTTL + time.Second)
	withInventory, err := (&wire.Batch{Version: wire.Version, ID: uuid.NewString(), Samples: string(samplesOf(keys)),
		Inventory: []kpi.Inventory{{Asset: "sw7", Time: clock.Add(-time.Minute), Attributes: map[string]any{"sys_name": "sw7"}}}}).Marshal()
	require.NoError(t, err)
	res, err = in.Ingest(t.Context(), ag, "", bytes.NewReader(withInventory), wire.Gzip)
	require.NoError(t, err)
	require.Equal(t, 150, res.Accepted)
	require.Zero(t, res.Rejected)
	require.EqualValues(t, 3, st.known.Load(), "the inventory's miss looked up the samples' assets too")
	require.EqualValues(t, 51, st.ensured.Load())

	before := len(rec.parts)
	series := map[string]bool{}
	for _, p := range rec.parts[:before] {
		for l := range strings.Lines(string(p)) {
			series[strings.SplitN(strings.SplitN(l, ",asset=", 2)[1], ",", 2)[0]] = true
		}
	}
	require.Len(t, series, 51, "every asset kept its series id across the expiry")

	// Another OU's agent reporting these keys is refused through
	// EnsureAsset, as before: KnownAssets leaves them out.
	branch := store.OU{OrgID: ag.OrgID, ParentID: ag.OUID, Name: "Branch"}
	require.NoError(t, st.CreateOU(t.Context(), &branch))
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	require.NoError(t, st.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: hash, OrgID: ag.OrgID, OUID: branch.ID,
		CreatedBy: "test", CreatedAt: clock, ExpiresAt: clock.Add(time.Hour)}))
	other := store.Agent{Name: "branch", TokenHash: "y"}
	require.NoError(t, st.EnrollAgent(t.Context(), auth.Hash(tok), clock, &other))
	known, ensured := st.known.Load(), st.ensured.Load()
	res, err = in.Ingest(t.Context(), other, "", bytes.NewReader(batch("sw1", "sw2", "branch-sw", "sw3")), wire.Gzip)
	require.NoError(t, err)
	require.Equal(t, 3, res.Accepted, "branch-sw's points")
	require.Equal(t, 9, res.Rejected)
	require.Contains(t, res.Rejections[0], `asset "sw1"`)
	require.Equal(t, known+1, st.known.Load())
	require.Equal(t, ensured+4, st.ensured.Load(), "sw1, sw2 and sw3 refused and branch-sw created, one by one")
}
