package housekeeping

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

func TestKeeperPrunesAndCounts(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer st.Close()
	now := time.Now()
	for i, at := range []time.Time{now.Add(-40 * 24 * time.Hour), now.Add(-31 * 24 * time.Hour), now.Add(-time.Minute)} {
		require.NoError(t, st.RecordBatch(ctx, "agent", string(rune('a'+i)), at))
	}
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	k := New(st, store.Retention{Batches: 30 * 24 * time.Hour}, slog.New(slog.NewTextHandler(&logs, nil)), reg)

	pruned, err := k.Once(ctx)
	require.NoError(t, err)
	require.Equal(t, store.Pruned{"ingested_batches": 2}, pruned)
	require.Equal(t, 2.0, testutil.ToFloat64(k.rows.WithLabelValues("ingested_batches")))
	require.InDelta(t, float64(time.Now().Unix()), testutil.ToFloat64(k.lastOK), 5)
	require.Contains(t, logs.String(), "ingested_batches=2")
	seen, err := st.BatchSeen(ctx, "agent", "c")
	require.NoError(t, err)
	require.True(t, seen, "the recent batch id stays")

	logs.Reset()
	pruned, err = k.Once(ctx)
	require.NoError(t, err)
	require.Empty(t, pruned)
	require.Empty(t, logs.String(), "a run with nothing to remove is quiet")
}

// A store that cannot prune (here a closed SQLite database): the run is
// counted as failed and logged with the table, and not as a success.
func TestKeeperReportsAFailure(t *testing.T) {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "k.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, st.Close())
	var logs bytes.Buffer
	k := New(st, store.Retention{Batches: 24 * time.Hour}, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry())
	_, err = k.Once(t.Context())
	require.ErrorContains(t, err, "pruning ingested_batches")
	require.Equal(t, 1.0, testutil.ToFloat64(k.fails))
	require.Zero(t, testutil.ToFloat64(k.lastOK))
	require.True(t, strings.Contains(logs.String(), "level=ERROR") && strings.Contains(logs.String(), "pruning ingested_batches"), logs.String())
}
