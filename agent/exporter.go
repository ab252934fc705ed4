package agent

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/internal/kpi"
)

// latestStore keeps the samples of each target's last poll, for the
// exporter mode. A poll replaces its target's samples, so series a device
// no longer reports, or a target that failed, disappear at the next poll as
// they do with snmp_exporter.
type latestStore struct {
	mu      sync.Mutex
	enabled bool
	targets map[string]targetSamples // collector \x00 asset
}

type targetSamples struct {
	collector, asset string
	samples          []kpi.Sample
}

func newLatestStore(enabled bool) *latestStore {
	return &latestStore{enabled: enabled, targets: map[string]targetSamples{}}
}

func (l *latestStore) setEnabled(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enabled = on
	if !on {
		clear(l.targets)
	}
}

func (l *latestStore) isEnabled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enabled
}

func (l *latestStore) replace(collector, asset string, samples []kpi.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.enabled {
		return
	}
	l.targets[collector+"\x00"+asset] = targetSamples{collector: collector, asset: asset, samples: samples}
}

// forget drops targets that are no longer configured.
func (l *latestStore) forget(collector, asset string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.targets, collector+"\x00"+asset)
}

// exporter turns the latest samples into Prometheus gauges named
// <prefix>_<measurement>_<field>, labelled with collector, asset and the
// sample's tags. Strings are not exported (they are inventory, not
// metrics); booleans are 1 or 0.
type exporter struct {
	store  *latestStore
	prefix string
}

func (e *exporter) Describe(chan<- *prometheus.Desc) {} // unchecked: series come and go with devices

type expSeries struct {
	labels map[string]string
	value  float64
	time   time.Time
}

func (e *exporter) Collect(ch chan<- prometheus.Metric) {
	e.store.mu.Lock()
	families := map[string][]expSeries{}
	for _, ts := range e.store.targets {
		for _, s := range ts.samples {
			for f, v := range s.Fields {
				val, ok := kpi.Numeric(v)
				if !ok {
					continue
				}
				labels := make(map[string]string, len(s.Tags)+2)
				for k, tv := range s.Tags {
					labels[promLabel(k)] = tv
				}
				labels["collector"], labels["asset"] = ts.collector, ts.asset
				name := e.prefix + "_" + promName(s.Measurement) + "_" + promName(f)
				families[name] = append(families[name], expSeries{labels: labels, value: val, time: s.Time})
			}
		}
	}
	e.store.mu.Unlock()

	for name, series := range families {
		// Prometheus wants one label set per family: a label one target has
		// and another lacks is empty for the latter.
		names := map[string]bool{}
		for _, s := range series {
			for k := range s.labels {
				names[k] = true
			}
		}
		keys := slices.Sorted(maps.Keys(names))
		desc := prometheus.NewDesc(name, "Latest value collected by kpilot-agent.", keys, nil)
		seen := map[string]bool{}
		for _, s := range series {
			values := make([]string, len(keys))
			for i, k := range keys {
				values[i] = s.labels[k]
			}
			id := strings.Join(values, "\xff")
			if seen[id] {
				continue // two samples of one series in a poll: keep the first
			}
			seen[id] = true
			m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, s.value, values...)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(desc, err)
				continue
			}
			ch <- m
		}
	}
}

// promName maps a measurement or field name to [a-zA-Z0-9_].
func promName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// promLabel is promName, keeping tags from clashing with the labels the
// exporter sets itself.
func promLabel(s string) string {
	n := promName(s)
	if n == "collector" || n == "asset" || strings.HasPrefix(n, "__") || n == "" || n[0] >= '0' && n[0] <= '9' {
		return "tag_" + n
	}
	return n
}
