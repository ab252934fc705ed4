package housekeeping

import (
	"bytes"
	"context"
	"errors"
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

// failing fails its prune after removing some rows.
type failing struct{}

func (failing) Prune(context.Context, store.Retention, time.Time) (store.Pruned, error) {
	return store.Pruned{"sessions": 3}, errors.New("pruning webhook_deliveries: database is locked")
}

func TestKeeperReportsAFailure(t *testing.T) {
	var logs bytes.Buffer
	k := New(failing{}, store.Retention{}, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry())
	_, err := k.Once(t.Context())
	require.ErrorContains(t, err, "database is locked")
	require.Equal(t, 1.0, testutil.ToFloat64(k.fails))
	require.Equal(t, 3.0, testutil.ToFloat64(k.rows.WithLabelValues("sessions")), "what went before the error is counted")
	require.Zero(t, testutil.ToFloat64(k.lastOK))
	require.True(t, strings.Contains(logs.String(), "level=ERROR") && strings.Contains(logs.String(), "database is locked"), logs.String())
}

func TestKeeperRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.RecordBatch(ctx, "agent", "old", time.Now().Add(-48*time.Hour)))
	k := New(st, store.Retention{Batches: 24 * time.Hour}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { k.Run(ctx, time.Hour); close(done) }()
	require.Eventually(t, func() bool { return testutil.ToFloat64(k.rows.WithLabelValues("ingested_batches")) == 1 },
		5*time.Second, 10*time.Millisecond, "the first run comes at once")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
