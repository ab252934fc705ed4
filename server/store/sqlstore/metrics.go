package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// timedDB is a *sql.DB whose statements are timed, by kind (select,
// insert, update, delete), once Instrument has been called.
type timedDB struct {
	*sql.DB
	latency *prometheus.HistogramVec
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
