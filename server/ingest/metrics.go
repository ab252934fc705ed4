package ingest

import "github.com/prometheus/client_golang/prometheus"

// metrics are the ingest metrics; docs/kpis.md lists them.
type metrics struct {
	ingest       *prometheus.CounterVec
	samples      *prometheus.CounterVec
	inFlight     prometheus.Gauge
	batchBytes   *prometheus.HistogramVec
	batchSamples prometheus.Histogram
	influxWrite  prometheus.Histogram
	influxErrors *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		ingest: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_server_ingest_batches_total", Help: "Agent batches by result: stored, duplicate, pending (the id is being stored by another request), refused, too_large, busy, body_error (cut off or too slow), unavailable.",
		}, []string{"result"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_server_ingest_samples_total", Help: "Samples by result: stored or rejected.",
		}, []string{"result"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kpilot_server_ingest_in_flight", Help: "Agent batches being decoded and written now.",
		}),
		batchBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kpilot_server_ingest_batch_bytes", Help: "Size of agent batches: compressed request body, and samples text after decompression.",
			Buckets: prometheus.ExponentialBuckets(1024, 4, 9),
		}, []string{"form"}),
		batchSamples: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kpilot_server_ingest_batch_samples", Help: "Samples per agent batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		influxWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kpilot_server_influxdb_write_duration_seconds", Help: "Latency of InfluxDB writes (each attempt).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		influxErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_server_influxdb_write_errors_total", Help: "Failed InfluxDB writes by kind: unavailable (retried) or partial (points refused).",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.ingest, m.samples, m.inFlight, m.batchBytes, m.batchSamples, m.influxWrite, m.influxErrors)
	return m
}
