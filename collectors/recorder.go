package collectors

import (
	"sync"

	"github.com/kpilot/kpilot/internal/kpi"
)

// Recorder is a Sink that keeps everything it is given, in order: for a
// one-off poll whose results are shown rather than shipped (the agent's
// probe) and for tests (collectortest.Sink is a Recorder). Safe for
// concurrent use; read the fields once the collection has returned.
type Recorder struct {
	mu          sync.Mutex
	Samples     []kpi.Sample
	Inventories []kpi.Inventory
	Errors      []error
}

var _ Sink = (*Recorder)(nil)

// Sample implements Sink.
func (s *Recorder) Sample(x kpi.Sample) { s.mu.Lock(); s.Samples = append(s.Samples, x); s.mu.Unlock() }

// Inventory implements Sink.
func (s *Recorder) Inventory(x kpi.Inventory) {
	s.mu.Lock()
	s.Inventories = append(s.Inventories, x)
	s.mu.Unlock()
}

// Error implements Sink.
func (s *Recorder) Error(err error) { s.mu.Lock(); s.Errors = append(s.Errors, err); s.mu.Unlock() }

// Find returns the samples of one measurement.
func (s *Recorder) Find(measurement string) []kpi.Sample {
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
