// Package snmp collects the system group and the IF-MIB interface table of
// SNMP v1, v2c and v3 agents through gosnmp.
package snmp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/kpi"
)

func init() { collectors.Register("snmp", newConfig) }

// requestTimeout bounds one SNMP request; the poll as a whole is bounded by
// the ctx the scheduler gives Collect.
const requestTimeout = 5 * time.Second

type collector struct {
	target collectors.Target
	params func() *gosnmp.GoSNMP // a fresh session per poll
	host   string
	port   uint16
	bulk   bool
	dial   func(ctx context.Context, g *gosnmp.GoSNMP, bulk bool) (client, error)
	now    func() time.Time
}

var _ collectors.Collector = (*collector)(nil)

// New implements collectors.Config. It does not contact the target.
func (c *Config) New(t collectors.Target, _ collectors.Options) (collectors.Collector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	timeout := requestTimeout
	if c.Timeout.D() > 0 {
		// Leave room for the retries within the poll timeout.
		timeout = min(timeout, c.Timeout.D()/time.Duration(c.Retries+1))
	}
	bulk := c.Walk == "bulk" || (c.Walk == "" && c.Version != "1")
	host, port, _ := splitAddress(t.Address)
	return &collector{target: t, params: func() *gosnmp.GoSNMP { return c.params(t, timeout) },
		host: host, port: port, bulk: bulk, dial: dial, now: time.Now}, nil
}

// Collect implements collectors.Collector.
func (c *collector) Collect(ctx context.Context, s collectors.Sink) error {
	cl, err := c.dial(ctx, c.params(), c.bulk)
	if err != nil {
		return err
	}
	defer cl.Close()
	now := c.now()

	sys, err := cl.Get(systemOIDs)
	if err != nil {
		return fmt.Errorf("reading system group: %w", c.explain(ctx, err))
	}
	uptime, attrs := mapSystem(c.target.Asset, now, sys)
	if uptime != nil {
		c.emit(s, *uptime)
	}

	var ifPDUs []gosnmp.SnmpPDU
	for _, root := range []string{oidIfEntry, oidIfXEntry} {
		pdus, err := cl.Walk(root)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("walking %s: %w", root, c.explain(ctx, err))
			}
			// ifXTable is missing on some v1 agents: report and go on.
			s.Error(fmt.Errorf("walking %s: %w", root, err))
			continue
		}
		ifPDUs = append(ifPDUs, pdus...)
	}
	samples, ifaces, errs := mapInterfaces(c.target.Asset, now, ifPDUs)
	for _, e := range errs {
		s.Error(e)
	}
	for _, x := range samples {
		c.emit(s, x)
	}
	inv := kpi.Inventory{Asset: c.target.Asset, Time: now, Attributes: attrs}
	if len(ifaces) > 0 {
		inv.Components = map[string][]map[string]any{"interfaces": ifaces}
	}
	s.Inventory(inv)
	return nil
}

// emit adds the target's labels as tags; the collector's own tags win.
func (c *collector) emit(s collectors.Sink, x kpi.Sample) {
	if len(c.target.Labels) > 0 {
		tags := maps.Clone(c.target.Labels)
		maps.Copy(tags, x.Tags)
		x.Tags = tags
	}
	s.Sample(x)
}

// explain adds what an operator needs to a failed request: gosnmp reports
// an exhausted ctx or an unanswered request as a bare timeout.
func (c *collector) explain(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (poll timeout reached; is %s:%d reachable and the community or v3 user right?)", err, c.host, c.port)
	}
	return err
}
