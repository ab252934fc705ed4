package sqlstore

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// TestSQLiteBatchClaimsAreNotWritten: on SQLite (one server) a batch's
// claim is held in memory: the store is written once per batch, when it
// is stored, and a claim released after a failed write leaves nothing.
func TestSQLiteBatchClaimsAreNotWritten(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "kpilot.db"), log)
	require.NoError(t, err)
	defer db.Close()
	ctx := t.Context()
	rows := func() (n int) {
		require.NoError(t, db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ingested_batches`).Scan(&n))
		return n
	}
	now := time.Now()
	got, err := db.ClaimBatch(ctx, "agent", "b1", "c1", now, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, store.BatchClaimed, got)
	got, err = db.ClaimBatch(ctx, "agent", "b1", "c2", now, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, store.BatchPending, got)
	require.Zero(t, rows(), "a claim is not written")
	require.NoError(t, db.ReleaseBatch(ctx, "agent", "b1", "c1"))
	require.Zero(t, rows())
	got, err = db.ClaimBatch(ctx, "agent", "b1", "c3", now, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, store.BatchClaimed, got)
	require.NoError(t, db.RecordBatch(ctx, "agent", "b1", now))
	require.Equal(t, 1, rows())
	require.Empty(t, db.claims.m, "the stored batch's claim is dropped")
	got, err = db.ClaimBatch(ctx, "agent", "b1", "c4", now, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, store.BatchStored, got)
	require.Empty(t, db.claims.m, "asking about a stored batch leaves no claim")
}
