package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/wire"
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
