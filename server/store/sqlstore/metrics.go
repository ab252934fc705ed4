package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// timedDB is a *sql.DB whose statements are timed, by kind (select,
// insert, update, delete), once Instrument has been called.
//
// With prepare set (SQLite: its driver compiles every statement anew,
// while pgx caches statements per connection itself), the statements the
// ingest path runs for every batch go through QueryRowPrepared and
// ExecPrepared, which prepare each once and reuse it: compiling them cost
// as much as running them. Only constant queries may go there (not ones
// with IN lists of varying length); maxPrepared bounds the cache anyway.
type timedDB struct {
	*sql.DB
	latency *prometheus.HistogramVec

	prepare bool
	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
}

// maxPrepared bounds the statement cache; queries beyond it run unprepared.
const maxPrepared = 256

// stmt returns the prepared form of query, preparing it on first use, or
// nil to run it unprepared (no cache, cache full, or preparing failed:
// the unprepared run then reports the error).
func (t *timedDB) stmt(ctx context.Context, query string) *sql.Stmt {
	if !t.prepare {
		return nil
	}
	t.mu.RLock()
	st, ok := t.stmts[query]
	t.mu.RUnlock()
	if ok {
		return st
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if st, ok := t.stmts[query]; ok {
		return st
	}
	if len(t.stmts) >= maxPrepared {
		return nil
	}
	// Not cancelled with the request that happens to prepare it first.
	st, err := t.DB.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = st
	return st
}

// Close closes the prepared statements and the database.
func (t *timedDB) Close() error {
	t.mu.Lock()
	var errs []error
	for q, st := range t.stmts {
		errs = append(errs, st.Close())
		delete(t.stmts, q)
	}
	t.mu.Unlock()
	return errors.Join(append(errs, t.DB.Close())...)
}

// Instrument registers kpilot_server_store_query_duration_seconds with reg
// and starts timing every statement and transaction. Call it before the
// store is used concurrently.
func (d *DB) Instrument(reg prometheus.Registerer) error {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kpilot_server_store_query_duration_seconds",
		Help:    "Latency of metadata store statements by kind (select, insert, update, delete, with), and of whole transactions (tx).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"op"})
	if err := reg.Register(h); err != nil {
		return err
	}
	d.db.latency = h
	return nil
}

func (t *timedDB) observe(op string, start time.Time) {
	if t.latency != nil {
		t.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
}

// opOf is the statement's first word, lowercased.
func opOf(query string) string {
	q := strings.TrimSpace(query)
	if i := strings.IndexAny(q, " \t\n("); i > 0 {
		q = q[:i]
	}
	switch op := strings.ToLower(q); op {
	case "select", "insert", "update", "delete", "with":
		return op
	}
	return "other"
}

func (t *timedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	defer t.observe(opOf(query), time.Now())
	return t.DB.QueryRowContext(ctx, query, args...)
}

func (t *timedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	defer t.observe(opOf(query), time.Now())
	return t.DB.QueryContext(ctx, query, args...)
}

func (t *timedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer t.observe(opOf(query), time.Now())
	return t.DB.ExecContext(ctx, query, args...)
}

// QueryRowPrepared is QueryRowContext for a constant query run often: it
// is prepared once (see timedDB).
func (t *timedDB) QueryRowPrepared(ctx context.Context, query string, args ...any) *sql.Row {
	defer t.observe(opOf(query), time.Now())
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.DB.QueryRowContext(ctx, query, args...)
}

// PrepareTx returns query as a statement of transaction tx, to be run
// many times in it: the statement prepared once (see timedDB) bound to
// the transaction's connection, or prepared for this transaction. It is
// closed with the transaction.
func (t *timedDB) PrepareTx(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := t.stmt(ctx, query); st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// ExecPrepared is ExecContext for a constant statement run often: it is
// prepared once (see timedDB).
func (t *timedDB) ExecPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer t.observe(opOf(query), time.Now())
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.DB.ExecContext(ctx, query, args...)
}
