package snmp

import (
	"context"
	"fmt"

	"github.com/gosnmp/gosnmp"
)

// client is the narrow seam over gosnmp: the three calls the collector
// makes. Tests use the real gosnmp against snmpd; a fake is only for
// failures snmpd cannot be made to produce.
type client interface {
	Get(oids []string) ([]gosnmp.SnmpPDU, error)
	Walk(root string) ([]gosnmp.SnmpPDU, error)
	Close() error
}

type gosnmpClient struct {
	g    *gosnmp.GoSNMP
	bulk bool
}

// dial opens a UDP socket for one poll. g is built fresh for every poll
// (GoSNMP holds per-session state and must not be copied), so the ctx of
// one poll never leaks into the next.
func dial(ctx context.Context, g *gosnmp.GoSNMP, bulk bool) (client, error) {
	g.Context = ctx
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("connecting to %s:%d: %w", g.Target, g.Port, err)
	}
	return &gosnmpClient{g: g, bulk: bulk}, nil
}

func (c *gosnmpClient) Get(oids []string) ([]gosnmp.SnmpPDU, error) {
	p, err := c.g.Get(oids)
	if err != nil {
		return nil, err
	}
	if p.Error != gosnmp.NoError {
		return nil, fmt.Errorf("agent answered %s", p.Error)
	}
	return p.Variables, nil
}

func (c *gosnmpClient) Walk(root string) ([]gosnmp.SnmpPDU, error) {
	if c.bulk {
		return c.g.BulkWalkAll(root)
	}
	return c.g.WalkAll(root)
}

func (c *gosnmpClient) Close() error { return c.g.Conn.Close() }
