package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/kpi"
)

// ProbeResult is what one collection of one target produced. Its JSON form
// is the stable interface of `kpilot-agent probe --format json`, documented
// in docs/probe.md.
type ProbeResult struct {
	Collector       string    `json:"collector"`
	Type            string    `json:"type"`
	Asset           string    `json:"asset"`
	Address         string    `json:"address"`
	Started         time.Time `json:"started"`
	DurationSeconds float64   `json:"duration_seconds"`
	OK              bool      `json:"ok"`
	// Outcome classes the poll as the running agent reports it in
	// agent_poll: ok, partial, unreachable, credentials_rejected or
	// protocol_error.
	Outcome       string         `json:"outcome"`
	Error         string         `json:"error,omitempty"`
	PartialErrors []string       `json:"partial_errors"`
	Samples       []ProbeSample  `json:"samples"`
	Inventory     *kpi.Inventory `json:"inventory"`
}

// ProbeSample is one sample in probe output.
type ProbeSample struct {
	Measurement string            `json:"measurement"`
	Tags        map[string]string `json:"tags"`
	Fields      map[string]any    `json:"fields"`
	Time        time.Time         `json:"time"`
}

// Probe runs one collection of the target whose asset id (or address) is
// target, in the collector entry named collector (any entry when empty),
// and returns what it produced. It sends nothing to the server.
func Probe(ctx context.Context, cfg *Config, collector, target string, log *slog.Logger) (*ProbeResult, error) {
	type match struct {
		cc CollectorConfig
		t  collectors.Target
	}
	var found []match
	var names []string
	for _, cc := range cfg.Collectors {
		b := cc.Base()
		if collector != "" && b.Name != collector {
			continue
		}
		for _, t := range b.Targets {
			if t.Asset == target || t.Address == target {
				found = append(found, match{cc, t})
				names = append(names, b.Name)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no target %q in %s (give its asset id or address; `kpilot-agent validate --print` lists them)", target, cfg.Path())
	case 1:
		return probe(ctx, found[0].cc, found[0].t, log)
	default:
		return nil, fmt.Errorf("target %q is polled by collectors %s; choose one with --collector", target, strings.Join(names, ", "))
	}
}

func probe(ctx context.Context, cc CollectorConfig, t collectors.Target, log *slog.Logger) (*ProbeResult, error) {
	b := cc.Base()
	// Collector state (caches, counters) goes to a throw-away directory:
	// a probe must not disturb the running agent's.
	dataDir, err := os.MkdirTemp("", "kpilot-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dataDir)
	c, err := cc.New(t, collectors.Options{Logger: log.With("collector", b.Name, "target", t.Asset),
		Registerer: prometheus.NewRegistry(), DataDir: filepath.Join(dataDir, b.Name)})
	if err != nil {
		return nil, fmt.Errorf("collector %s, target %s: %w", b.Name, t.Asset, err)
	}
	if cl, ok := c.(io.Closer); ok {
		defer cl.Close()
	}
	res := &ProbeResult{Collector: b.Name, Type: b.Type, Asset: t.Asset, Address: t.Address,
		Started: time.Now(), PartialErrors: []string{}, Samples: []ProbeSample{}}
	pctx, cancel := context.WithTimeout(ctx, b.Timeout.D())
	defer cancel()
	sink := &collectors.Recorder{}
	err = safeCollect(pctx, c, sink)
	res.DurationSeconds = time.Since(res.Started).Seconds()
	res.OK = err == nil
	if err != nil {
		res.Error = err.Error()
	}
	for _, e := range sink.Errors {
		res.PartialErrors = append(res.PartialErrors, e.Error())
	}
	var first error
	if len(sink.Errors) > 0 {
		first = sink.Errors[0]
	}
	outcome, _ := pollOutcome(err, len(sink.Errors), first)
	res.Outcome = outcome.String()
	for _, s := range sink.Samples {
		res.Samples = append(res.Samples, ProbeSample{Measurement: s.Measurement, Tags: s.Tags, Fields: s.Fields, Time: s.Time})
	}
	slices.SortStableFunc(res.Samples, func(a, b ProbeSample) int { return strings.Compare(a.Measurement, b.Measurement) })
	if len(sink.Inventories) > 0 {
		res.Inventory = &sink.Inventories[len(sink.Inventories)-1]
	}
	return res, nil
}
