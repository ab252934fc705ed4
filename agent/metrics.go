package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/buildinfo"
)

// agentMetrics are the agent's own health, exposed on /metrics.
type agentMetrics struct {
	duration *prometheus.GaugeVec
	success  *prometheus.GaugeVec
	polls    *prometheus.CounterVec
	missed   *prometheus.CounterVec
	partial  *prometheus.CounterVec
	spooled  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, sp *spool.Disk) *agentMetrics {
	target := []string{"collector", "target"}
	m := &agentMetrics{
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kpilot_agent_collect_duration_seconds",
			Help: "Duration of the last poll of a target.",
		}, target),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kpilot_agent_collect_success",
			Help: "Whether the last poll of a target succeeded (1) or failed (0).",
		}, target),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_polls_total",
			Help: "Polls of a target by result (success, failure).",
		}, []string{"collector", "target", "result"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_polls_missed_total",
			Help: "Scheduled polls skipped because the previous poll of the same target was still running.",
		}, target),
		partial: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_partial_errors_total",
			Help: "Problems within polls that did not fail them (a table the device answered wrongly, a value of the wrong type); the log says which.",
		}, target),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kpilot_agent_samples_spooled_total",
			Help: "Samples written to the disk spool.",
		}),
	}
	stat := func(f func(spool.Stats) float64) func() float64 { return func() float64 { return f(sp.Stats()) } }
	reg.MustRegister(m.duration, m.success, m.polls, m.missed, m.partial, m.spooled,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kpilot_agent_spool_batches", Help: "Batches waiting in the disk spool."},
			stat(func(s spool.Stats) float64 { return float64(s.Batches) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kpilot_agent_spool_bytes", Help: "Bytes used by the disk spool."},
			stat(func(s spool.Stats) float64 { return float64(s.Bytes) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kpilot_agent_spool_dropped_batches_total", Help: "Oldest batches dropped because the spool reached its size bound."},
			stat(func(s spool.Stats) float64 { return float64(s.DroppedBatches) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kpilot_agent_spool_corrupt_batches_total", Help: "Spooled batches that failed their checksum and were moved aside."},
			stat(func(s spool.Stats) float64 { return float64(s.CorruptBatches) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kpilot_agent_build_info", Help: "Build of the running agent.",
			ConstLabels: prometheus.Labels{"version": buildinfo.Version}}, func() float64 { return 1 }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
