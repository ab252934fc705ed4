// Package promtest records the names of the metrics a program registers,
// for tests that hold the docs' metric tables to the code.
package promtest

import (
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
)

// Recorder is a registry that also records the name of every metric
// registered with it, also of vectors that have no series yet.
type Recorder struct {
	*prometheus.Registry
	Names []string
}

// NewRecorder returns a Recorder over a new registry.
func NewRecorder() *Recorder { return &Recorder{Registry: prometheus.NewRegistry()} }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Register records c's metric names and registers it.
func (d *Recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.Names = append(d.Names, m[1])
		}
	}
	return d.Registry.Register(c)
}

// MustRegister is Register that panics on an error.
func (d *Recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}
