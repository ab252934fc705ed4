// Package housekeeping keeps the metadata store from growing without
// bound: on a schedule it removes what has outlived its retention period
// (store.Retention) — batch ids, expired sessions, old rate-limit windows,
// finished webhook deliveries, long-resolved findings and, when asked,
// inventory history and audit events.
package housekeeping

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/server/store"
)

// Keeper prunes a store on a schedule.
type Keeper struct {
	store  store.Pruner
	ret    store.Retention
	log    *slog.Logger
	now    func() time.Time
	rows   *prometheus.CounterVec
	fails  prometheus.Counter
	lastOK prometheus.Gauge
}

// New returns a Keeper of st with metrics on reg.
func New(st store.Pruner, r store.Retention, log *slog.Logger, reg prometheus.Registerer) *Keeper {
	k := &Keeper{store: st, ret: r, log: log, now: time.Now,
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpilot_server_pruned_rows_total",
			Help: "Rows the housekeeping removed from the metadata store, by table."}, []string{"table"}),
		fails: prometheus.NewCounter(prometheus.CounterOpts{Name: "kpilot_server_prune_errors_total",
			Help: "Housekeeping runs that stopped at an error."}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kpilot_server_prune_last_success_timestamp_seconds",
			Help: "When the housekeeping last ran to the end (Unix time)."}),
	}
	reg.MustRegister(k.rows, k.fails, k.lastOK)
	return k
}

// Once prunes what is due now and returns what it removed. An error is
// logged and counted; what was removed before it stays removed.
func (k *Keeper) Once(ctx context.Context) (store.Pruned, error) {
	began := k.now()
	pruned, err := k.store.Prune(ctx, k.ret, began)
	var total int64
	attrs := []any{}
	for _, table := range slices.Sorted(maps.Keys(pruned)) {
		n := pruned[table]
		k.rows.WithLabelValues(table).Add(float64(n))
		total += n
		attrs = append(attrs, table, n)
	}
	took := k.now().Sub(began).Round(time.Millisecond)
	switch {
	case err != nil && ctx.Err() != nil:
		return pruned, err // shutting down
	case err != nil:
		k.fails.Inc()
		k.log.Error("housekeeping stopped", append(attrs, "err", err, "took", took)...)
		return pruned, err
	}
	k.lastOK.SetToCurrentTime()
	if total > 0 {
		k.log.Info("housekeeping removed old rows", append(attrs, "took", took)...)
	}
	return pruned, nil
}
