package snmp

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
)

// TestTextStates: a status column whose values are text becomes the state
// number its text_states map gives, compared without case and padding;
// other text becomes text_default, or, without one, no value and an
// error naming the text.
func TestTextStates(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "disks.yaml"), []byte(`
name: disks
match: {always: true}
metrics:
  - measurement: sensor_state
    columns:
      - {name: descr, oid: 1.3.6.1.4.1.99999.1.1, kind: tag}
      - {name: disk_state, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge,
         text_states: {RaidSet Member: 1, hot spare: 2, FAILED: 3}, text_default: 0}
      - {name: strict_state, oid: 1.3.6.1.4.1.99999.1.3, kind: gauge,
         text_states: {ok: 1, degraded: 2}}
kpis:
  - measurement: sensor_state
    fields:
      disk_state:
        name: {en: Disk state}
        kind: state
        states: {0: {name: {en: Other}, severity: unknown}, 1: {name: {en: Member}, severity: ok},
                 2: {name: {en: Spare}, severity: ok}, 3: {name: {en: Failed}, severity: critical}}
      strict_state:
        name: {en: Strict state}
        kind: state
        states: {1: {name: {en: OK}, severity: ok}, 2: {name: {en: Degraded}, severity: warning}}
`), 0o644))
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
	rows := []struct{ descr, disk, strict string }{
		{"SLOT 01", "RaidSet Member", "OK"},
		{"SLOT 02", "  raidset   MEMBER ", "Degraded"},
		{"SLOT 03", "Failed", "ok "},
		{"SLOT 04", "Hot Spare", "broken"},
		{"SLOT 05", "Empty Slot", "ok"},
	}
	for i, r := range rows {
		idx := string(rune('1' + i))
		set(a, ".1.3.6.1.4.1.99999.1.1."+idx, gosnmp.OctetString, []byte(r.descr))
		set(a, ".1.3.6.1.4.1.99999.1.2."+idx, gosnmp.OctetString, []byte(r.disk))
		set(a, ".1.3.6.1.4.1.99999.1.3."+idx, gosnmp.OctetString, []byte(r.strict))
	}
	c := newCollector(t, testConfig(func(c *Config) { c.Profiles = []string{"system", "disks"}; c.ProfilesDir = []string{dir} }), "127.0.0.1:161")
	c.dial = func(context.Context, *gosnmp.GoSNMP) (requester, func() error, error) {
		return a, func() error { return nil }, nil
	}
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	states := sink.Find("sensor_state")
	for _, tc := range []struct {
		name   string
		descr  string
		disk   float64
		strict any
	}{
		{name: "exact text", descr: "SLOT 01", disk: 1, strict: 1.0},
		{name: "case and spaces ignored", descr: "SLOT 02", disk: 1, strict: 2.0},
		{name: "map keys without case", descr: "SLOT 03", disk: 3, strict: 1.0},
		{name: "unknown text without default", descr: "SLOT 04", disk: 2, strict: nil},
		{name: "unknown text takes the default", descr: "SLOT 05", disk: 0, strict: 1.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := findTag(t, states, "descr", tc.descr)
			require.Equal(t, tc.disk, s.Fields["disk_state"])
			require.Equal(t, tc.strict, s.Fields["strict_state"])
		})
	}
	require.Len(t, sink.Errors, 1)
	require.ErrorContains(t, sink.Errors[0], `text "broken" is none of text_states`)

	for name, bad := range map[string]string{
		"not a gauge":          "{name: s, oid: 1.3.6.1.4.1.99999.1.2, kind: tag, text_states: {ok: 1}}",
		"default without map":  "{name: s, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge, text_default: 0}",
		"twice without case":   "{name: s, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge, text_states: {ok: 1, OK: 2}}",
		"numbers are no texts": "{name: s, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge, format: number, text_states: {ok: 1}}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseProfile([]byte("name: x\nmetrics:\n  - measurement: m\n    columns: ["+bad+"]\n"), "bad.yaml")
			require.Error(t, err)
		})
	}
}
