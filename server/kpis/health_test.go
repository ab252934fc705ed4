package kpis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/kpis"
	"github.com/kpilot/kpilot/server/tsdb"
)

func TestHealth(t *testing.T) {
	sec, err := catalog.ReadSection([]byte(`
kpis:
  - measurement: power_supply
    fields:
      state:
        name: {en: Power supply state}
        kind: state
        states:
          1: {name: {en: Normal}, severity: ok}
          2: {name: {en: Warning}, severity: warning}
          3: {name: {en: Critical}, severity: critical}
          5: {name: {en: Not present}, severity: unknown}
  - measurement: interface
    fields:
      oper_status:
        name: {en: Link status}
        kind: state
        health: false
        states: {1: {name: {en: Up}, severity: ok}, 2: {name: {en: Down}, severity: critical}}
      in_octets: {name: {en: Bytes received}, unit: bytes, kind: counter}
`), "test")
	require.NoError(t, err)
	c, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	now := time.Now()
	psu := func(descr string, vals ...any) tsdb.Series {
		s := tsdb.Series{Measurement: "power_supply", Field: "state", Tags: map[string]string{"descr": descr}}
		for i, v := range vals { // the last value is the newest
			s.Points = append(s.Points, tsdb.Point{Time: now.Add(time.Duration(i-len(vals)) * time.Minute), Value: v})
		}
		return s
	}
	link := tsdb.Series{Measurement: "interface", Field: "oper_status", Points: []tsdb.Point{{Time: now, Value: int64(2)}}}
	octets := tsdb.Series{Measurement: "interface", Field: "in_octets", Points: []tsdb.Point{{Time: now, Value: int64(3)}}}
	tests := []struct {
		name   string
		latest []tsdb.Series
		want   catalog.Severity
	}{
		{"nothing", nil, ""},
		{"no health states", []tsdb.Series{link, octets}, ""},
		{"all ok", []tsdb.Series{psu("PSU1", int64(1)), link}, catalog.OK},
		{"an empty slot does not outweigh ok", []tsdb.Series{psu("PSU1", int64(1)), psu("PSU3", int64(5))}, catalog.OK},
		{"only unknown", []tsdb.Series{psu("PSU3", int64(5))}, catalog.Unknown},
		{"the worst counts", []tsdb.Series{psu("PSU1", int64(2)), psu("PSU2", int64(3)), psu("PSU3", int64(1))}, catalog.Critical},
		{"the newest value counts", []tsdb.Series{psu("PSU1", int64(3), int64(2))}, catalog.Warning},
		{"a value the states do not name", []tsdb.Series{psu("PSU1", int64(9))}, ""},
		{"not a number", []tsdb.Series{psu("PSU1", "failed")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, kpis.Health(c, tt.latest))
		})
	}
}
