// Package redfish collects inventory, health, power and thermal readings
// and log events from server BMCs (HPE iLO, Dell iDRAC, Lenovo XCC,
// Supermicro, AMI MegaRAC) through their Redfish API, using gofish for
// the protocol and its schema types. See docs/redfish.md.
package redfish

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/kpi"
)

func init() { collectors.Register("redfish", newConfig) }

type collector struct {
	cfg     *Config
	target  collectors.Target
	b       *bmc
	peer    string // scheme://host:port, for messages
	log     *slog.Logger
	dataDir string
	now     func() time.Time

	plan          *plan
	lastInventory time.Time
	lastEvents    time.Time

	mu         sync.Mutex // guards thresholds and evState, read by parallel requests
	thresholds map[string]thresholds
	evState    eventState

	expand          atomic.Bool // the BMC supports $expand (learnt on inventory runs)
	requests, reads int64       // of the last Collect, for Stats
}

var _ collectors.Collector = (*collector)(nil)

// New implements collectors.Config. It does not contact the BMC.
func (c *Config) New(t collectors.Target, o collectors.Options) (collectors.Collector, error) {
	if c.tls == nil {
		if err := c.Validate(); err != nil {
			return nil, err
		}
	}
	ep, err := endpoint(t.Address)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, _ := url.Parse(ep)
	col := &collector{cfg: c, target: t, b: newBMC(c, ep), peer: collectors.HTTPAddr(u), log: log, dataDir: o.DataDir, now: time.Now}
	if err := col.loadEventState(); err != nil {
		log.Warn("redfish events", "err", err)
	}
	return col, nil
}

// Close deletes the collector's Redfish session on the BMC. The agent
// calls it on shutdown and before it replaces the collector.
func (c *collector) Close() error {
	c.b.Close()
	return nil
}

// Stats reports the HTTP requests of the last Collect (benchmarks and
// probe use it).
func (c *collector) Stats() (requests, values int) { return int(c.requests), int(c.reads) }

// Collect implements collectors.Collector. Inventory runs (the first, then
// every inventory_interval) read the whole tree; the others read power
// state, health, power and thermal readings, and every events_interval
// the new log entries. A failed poll's error is a
// collectors.OutcomeError that names the likely cause.
func (c *collector) Collect(ctx context.Context, s collectors.Sink) error {
	start, answers := time.Now(), c.b.answers.Load()
	err := c.collect(ctx, s)
	peer := collectors.Peer{Addr: c.peer}
	return peer.Explain(err, collectors.Waited(ctx, start), c.b.answers.Load() > answers)
}

func (c *collector) collect(ctx context.Context, s collectors.Sink) error {
	start := c.b.requests.Load()
	defer func() { c.requests = c.b.requests.Load() - start }()
	f, err := newFetcher(ctx, c.b, &c.expand)
	if err != nil {
		return err
	}
	var errs atomic.Int64
	var first atomic.Pointer[error]
	var reported sync.Map // error texts: a resource read from several places fails once
	report := func(err error) {
		if _, dup := reported.LoadOrStore(err.Error(), true); dup {
			return
		}
		errs.Add(1)
		first.CompareAndSwap(nil, &err)
		s.Error(err)
	}
	now := c.now()
	var samples []kpi.Sample
	if c.plan == nil || now.Sub(c.lastInventory) >= c.cfg.InventoryInterval.D() {
		inv, p, x, err := c.inventoryRun(f, now, report)
		if err != nil {
			return c.failed(ctx, err, first.Load())
		}
		c.plan, c.lastInventory = p, now
		s.Inventory(*inv)
		samples = x
	} else {
		samples = c.readings(f, c.plan, now, report)
	}
	if c.cfg.Events && now.Sub(c.lastEvents) >= c.cfg.EventsInterval.D() {
		samples = append(samples, c.events(f, c.plan, now, report)...)
		c.lastEvents = now
		if err := c.saveEventState(); err != nil {
			s.Error(fmt.Errorf("saving event cursors: %w", err))
		}
	}
	if ctx.Err() != nil {
		return c.failed(ctx, ctx.Err(), nil)
	}
	if len(samples) == 0 && errs.Load() > 0 {
		return c.failed(ctx, fmt.Errorf("%s: no reading could be read (%d errors)", c.b.endpoint, errs.Load()), first.Load())
	}
	for _, x := range samples {
		s.Sample(x)
	}
	c.reads = int64(len(samples))
	return nil
}

// failed is the error of a poll that read nothing usable: the poll's
// timeout when it ran out, and otherwise err with the first problem
// reported, which classes it (a 401 on every resource is rejected
// credentials).
func (c *collector) failed(ctx context.Context, err error, first *error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", c.b.endpoint, ctx.Err())
	}
	if first == nil {
		return err
	}
	return fmt.Errorf("%w; the first error: %w", err, *first)
}
