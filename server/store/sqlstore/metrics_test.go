package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// TestAssetPollsInOneTransaction: the polls of a batch, one per asset, are
// one commit, not one each.
func TestAssetPollsInOneTransaction(t *testing.T) {
	db := openTestSQLite(t)
	reg := prometheus.NewRegistry()
	require.NoError(t, db.Instrument(reg))
	ctx := t.Context()
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, db.CreateOrganization(ctx, &o))
	now := time.Now().Truncate(time.Millisecond)
	require.NoError(t, db.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: "enroll", OrgID: o.ID, OUID: o.RootOU,
		CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	ag := store.Agent{Name: "agent", TokenHash: "agent"}
	require.NoError(t, db.EnrollAgent(ctx, "enroll", now, &ag))
	var polls []store.AssetPoll
	for i := range 5 {
		as, err := db.EnsureAsset(ctx, ag, fmt.Sprintf("switch-%d", i), nil, 10)
		require.NoError(t, err)
		polls = append(polls, store.AssetPoll{AssetID: as.ID, At: now, Up: i%2 == 0})
	}

	txs := func() uint64 {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetValue() == "tx" {
						return m.GetHistogram().GetSampleCount()
					}
				}
			}
		}
		return 0
	}
	tx0 := txs()
	require.NoError(t, db.SetAssetPolls(ctx, polls))
	tx1 := txs()
	require.Equal(t, tx0+1, tx1, "one transaction for the batch's polls")
	for i, p := range polls {
		as, err := db.Asset(ctx, p.AssetID)
		require.NoError(t, err)
		require.True(t, as.LastPollAt.Equal(now), "asset %d", i)
		require.Equal(t, i%2 == 0, as.LastPollUp, "asset %d", i)
	}
	require.NoError(t, db.SetAssetPolls(ctx, nil))
	require.Equal(t, tx1, txs(), "no polls, no transaction")
}

// TestSQLiteKeepsIdleConnections: connections that concurrent requests
// opened stay open for the next ones (database/sql keeps 2 by default).
func TestSQLiteKeepsIdleConnections(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	var conns []*sql.Conn
	for range sqliteIdleConns {
		c, err := db.db.Conn(ctx)
		require.NoError(t, err)
		require.NoError(t, c.PingContext(ctx))
		conns = append(conns, c)
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	require.Equal(t, sqliteIdleConns, db.db.Stats().Idle)
}

// benchAgent opens a SQLite store with an organization and an enrolled
// agent.
func benchAgent(b *testing.B) (*DB, store.Agent) {
	db, err := OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "kpilot.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	ctx := b.Context()
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(b, db.CreateOrganization(ctx, &o))
	now := time.Now()
	require.NoError(b, db.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: "enroll", OrgID: o.ID, OUID: o.RootOU,
		CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	ag := store.Agent{Name: "agent", TokenHash: "agent"}
	require.NoError(b, db.EnrollAgent(ctx, "enroll", now, &ag))
	return db, ag
}

// BenchmarkSetAssetPolls writes the polls of a batch of 200 assets, one
// core:
//
//	go test -run '^$' -bench SetAssetPolls -cpu 1 ./server/store/sqlstore
func BenchmarkSetAssetPolls(b *testing.B) {
	db, ag := benchAgent(b)
	ctx := b.Context()
	polls := make([]store.AssetPoll, 200)
	for i := range polls {
		as, err := db.EnsureAsset(ctx, ag, fmt.Sprintf("switch-%d", i), nil, 0)
		require.NoError(b, err)
		polls[i] = store.AssetPoll{AssetID: as.ID, Up: true}
	}
	at := time.Now()
	for b.Loop() {
		at = at.Add(time.Second)
		for i := range polls {
			polls[i].At = at
		}
		require.NoError(b, db.SetAssetPolls(ctx, polls))
	}
}

// BenchmarkEnsureKnownAsset looks up the 200 known assets of an agent, as
// ingest does when its asset cache expires, one core:
//
//	go test -run '^$' -bench EnsureKnownAsset -cpu 1 ./server/store/sqlstore
func BenchmarkEnsureKnownAsset(b *testing.B) {
	db, ag := benchAgent(b)
	ctx := b.Context()
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("switch-%d", i)
		_, err := db.EnsureAsset(ctx, ag, keys[i], nil, 0)
		require.NoError(b, err)
	}
	for b.Loop() {
		for _, k := range keys {
			_, err := db.EnsureAsset(ctx, ag, k, nil, 0)
			require.NoError(b, err)
		}
	}
}
