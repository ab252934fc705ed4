package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/buildinfo"
)

// agentMetrics are the agent's own health, exposed on /metrics. The full
// list, with what to alert on, is in docs/agent.md; a test keeps the two
// in step.
type agentMetrics struct {
	duration  *prometheus.GaugeVec
	success   *prometheus.GaugeVec
	polls     *prometheus.CounterVec
	outcomes  *prometheus.CounterVec
	outcome   *prometheus.GaugeVec
	missed    *prometheus.CounterVec
	partial   *prometheus.CounterVec
	stuck     *prometheus.CounterVec
	collected *prometheus.CounterVec
	spooled   prometheus.Counter
	dropped   *prometheus.CounterVec
	reloads   *prometheus.CounterVec
	reloadOK  prometheus.Gauge
	reloadAt  prometheus.Gauge
}

// perTarget are the vectors labelled by collector and target, cleaned up
// when a reload removes a target.
func (m *agentMetrics) perTarget() []*prometheus.MetricVec {
	return []*prometheus.MetricVec{m.duration.MetricVec, m.success.MetricVec, m.polls.MetricVec, m.outcomes.MetricVec, m.outcome.MetricVec,
		m.missed.MetricVec, m.partial.MetricVec, m.stuck.MetricVec, m.collected.MetricVec}
}

func newMetrics(reg prometheus.Registerer, sp *spool.Disk, b *batcher) *agentMetrics {
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
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_poll_outcomes_total",
			Help: "Polls of a target by outcome class: ok, partial, unreachable, credentials_rejected, protocol_error.",
		}, []string{"collector", "target", "outcome"}),
		outcome: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kpilot_agent_poll_outcome",
			Help: "Outcome class of the last poll of a target: 0 ok, 1 partial, 2 unreachable, 3 credentials rejected, 4 protocol error.",
		}, target),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_polls_missed_total",
			Help: "Scheduled polls skipped because the previous poll of the same target was still running.",
		}, target),
		partial: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_partial_errors_total",
			Help: "Problems within polls that did not fail them (a table the device answered wrongly, a value of the wrong type); the log says which.",
		}, target),
		stuck: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_polls_stuck_total",
			Help: "Polls that did not stop within 5s after their timeout and were left behind.",
		}, target),
		collected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_samples_collected_total",
			Help: "Samples read from a target.",
		}, target),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kpilot_agent_samples_spooled_total",
			Help: "Samples written to the disk spool.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_samples_dropped_total",
			Help: "Samples lost by reason: invalid (refused by the encoder), memory_bound (the spool could not write and spool.memory_limit_mb was held in memory: the oldest were dropped), shutdown (held in memory at stop because the spool could not write).",
		}, []string{"reason"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_config_reloads_total",
			Help: "Config reloads by result (success, failure).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kpilot_agent_config_last_reload_successful",
			Help: "Whether the last config reload succeeded (1) or was rejected and the previous config kept (0).",
		}),
		reloadAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kpilot_agent_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last config load that took effect.",
		}),
	}
	for _, r := range []string{"invalid", "memory_bound", "shutdown"} {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r)
	}
	m.reloadOK.Set(1)
	m.reloadAt.SetToCurrentTime()
	stat := func(f func(spool.Stats) float64) func() float64 { return func() float64 { return f(sp.Stats()) } }
	gauge := func(name, help string, f func(spool.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, stat(f))
	}
	counter := func(name, help string, f func(spool.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, stat(f))
	}
	reg.MustRegister(m.duration, m.success, m.polls, m.outcomes, m.outcome, m.missed, m.partial, m.stuck, m.collected, m.spooled, m.dropped,
		m.reloads, m.reloadOK, m.reloadAt,
		gauge("kpilot_agent_spool_batches", "Batches waiting in the disk spool.",
			func(s spool.Stats) float64 { return float64(s.Batches) }),
		gauge("kpilot_agent_spool_samples", "Samples in the batches waiting in the disk spool.",
			func(s spool.Stats) float64 { return float64(s.Samples) }),
		gauge("kpilot_agent_spool_bytes", "Bytes used by the disk spool.",
			func(s spool.Stats) float64 { return float64(s.Bytes) }),
		gauge("kpilot_agent_spool_segments", "Segment files of the disk spool.",
			func(s spool.Stats) float64 { return float64(s.Segments) }),
		counter("kpilot_agent_spool_dropped_batches_total", "Oldest batches dropped because the spool reached its size bound.",
			func(s spool.Stats) float64 { return float64(s.DroppedBatches) }),
		counter("kpilot_agent_spool_dropped_samples_total", "Samples in the batches dropped because the spool reached its size bound.",
			func(s spool.Stats) float64 { return float64(s.DroppedSamples) }),
		counter("kpilot_agent_spool_corrupt_batches_total", "Damaged spool records skipped (their bytes are kept in spool/corrupt/).",
			func(s spool.Stats) float64 { return float64(s.CorruptBatches) }),
		counter("kpilot_agent_spool_fsyncs_total", "fsync calls on spool segments.",
			func(s spool.Stats) float64 { return float64(s.Fsyncs) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kpilot_agent_spool_writable",
			Help: "Whether the spool took the last batch (1) or cannot write, a full disk (0): samples then wait in memory."},
			func() float64 {
				if w, _, _ := b.state(); w {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kpilot_agent_spool_memory_samples",
			Help: "Samples waiting in memory to be spooled; they pile up while the spool cannot write."},
			func() float64 { _, n, _ := b.state(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kpilot_agent_spool_memory_bytes",
			Help: "Bytes of line protocol waiting in memory to be spooled, at most spool.memory_limit_mb while the spool cannot write."},
			func() float64 { _, _, n := b.state(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kpilot_agent_build_info", Help: "Build of the running agent.",
			ConstLabels: prometheus.Labels{"version": buildinfo.Version}}, func() float64 { return 1 }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
