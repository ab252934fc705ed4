package sqlstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	return db
}

func TestPreparedStatementsAreReusedAndBounded(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()

	// The request that happens to prepare a statement may be cancelled:
	// it fails, the statement does not.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := db.BatchSeen(cancelled, "agent", "batch")
	require.ErrorIs(t, err, context.Canceled)
	for range 3 {
		seen, err := db.BatchSeen(ctx, "agent", "batch")
		require.NoError(t, err)
		require.False(t, seen)
		require.NoError(t, db.TouchAgent(ctx, "agent", "1.0", time.Now()))
	}
	require.Len(t, db.db.stmts, 2, "one prepared statement per query, however often it runs")

	// Past the bound, queries run unprepared and still answer.
	for i := range maxPrepared + 10 {
		var n int
		require.NoError(t, db.db.QueryRowPrepared(ctx, fmt.Sprintf("SELECT %d + $1", i), 1).Scan(&n))
		require.Equal(t, i+1, n)
	}
	require.Len(t, db.db.stmts, maxPrepared)

	// A statement that cannot be prepared reports its error when run.
	_, err = db.db.ExecPrepared(ctx, "UPDATE no_such_table SET x = 1")
	require.ErrorContains(t, err, "no_such_table")

	require.NoError(t, db.Close())
	require.Empty(t, db.db.stmts, "Close closes the prepared statements")
}

// TestAgentRequestReadsArePrepared: the reads every agent batch makes
// outside a transaction — the address's failed secrets, and the asset of
// each agent-side id once the ingest cache has expired — run prepared,
// not compiled anew each time (which cost more than running them).
func TestAgentRequestReadsArePrepared(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, db.CreateOrganization(ctx, &o))
	now := time.Now()
	require.NoError(t, db.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: "enroll", OrgID: o.ID, OUID: o.RootOU,
		CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	ag := store.Agent{Name: "agent", TokenHash: "agent"}
	require.NoError(t, db.EnrollAgent(ctx, "enroll", now, &ag))
	created, err := db.EnsureAsset(ctx, ag, "switch-1", nil, 10) // in a transaction: creates it
	require.NoError(t, err)

	prepared := func(query string) bool {
		db.db.mu.RLock()
		defer db.db.mu.RUnlock()
		_, ok := db.db.stmts[query]
		return ok
	}
	for range 3 {
		n, _, err := db.Failures(ctx, "secret:ip:192.0.2.1", time.Minute, now)
		require.NoError(t, err)
		require.Zero(t, n)
		as, err := db.EnsureAsset(ctx, ag, "switch-1", nil, 10)
		require.NoError(t, err)
		require.Equal(t, created.ID, as.ID)
	}
	require.True(t, prepared(failuresQuery), "the failed secrets' read")
	require.True(t, prepared(sourceAssetQuery), "the look-up of a known asset")
}
