// Package collectortest helps test collectors: a Sink that records what it
// is given, and a helper that runs one collection.
package collectortest

import (
	"sync"
	"testing"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/kpi"
)

// Sink records samples, inventories and errors. Safe for concurrent use.
type Sink struct {
	mu          sync.Mutex
	Samples     []kpi.Sample
	Inventories []kpi.Inventory
	Errors      []error
}

var _ collectors.Sink = (*Sink)(nil)

// Sample implements collectors.Sink.
func (s *Sink) Sample(x kpi.Sample) { s.mu.Lock(); s.Samples = append(s.Samples, x); s.mu.Unlock() }

// Inventory implements collectors.Sink.
func (s *Sink) Inventory(x kpi.Inventory) {
	s.mu.Lock()
	s.Inventories = append(s.Inventories, x)
	s.mu.Unlock()
}

// Error implements collectors.Sink.
func (s *Sink) Error(err error) { s.mu.Lock(); s.Errors = append(s.Errors, err); s.mu.Unlock() }

// Find returns the samples of one measurement.
func (s *Sink) Find(measurement string) []kpi.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []kpi.Sample
	for _, x := range s.Samples {
		if x.Measurement == measurement {
			out = append(out, x)
		}
	}
	return out
}

// CollectOnce runs c once with the test's context and returns the sink and
// Collect's error.
func CollectOnce(t testing.TB, c collectors.Collector) (*Sink, error) {
	t.Helper()
	s := &Sink{}
	err := c.Collect(t.Context(), s)
	return s, err
}
