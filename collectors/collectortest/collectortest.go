// Package collectortest helps test collectors: a Sink that records what it
// is given, and a helper that runs one collection.
package collectortest

import (
	"testing"

	"github.com/kpilot/kpilot/collectors"
)

// Sink records samples, inventories and errors: collectors.Recorder, under
// the name tests have always used.
type Sink = collectors.Recorder

// CollectOnce runs c once with the test's context and returns the sink and
// Collect's error.
func CollectOnce(t testing.TB, c collectors.Collector) (*Sink, error) {
	t.Helper()
	s := &Sink{}
	err := c.Collect(t.Context(), s)
	return s, err
}
