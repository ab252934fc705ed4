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

func TestIndexTagText(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  IndexTagDef
		idx  string
		want string
		ok   bool
	}{
		{name: "whole index", def: IndexTagDef{Decode: IndexOID}, idx: "1.4.2", want: "1.4.2", ok: true},
		{name: "oid part", def: IndexTagDef{Decode: IndexOID, Skip: 1, Length: 2}, idx: "1.4.2.7", want: "4.2", ok: true},
		{name: "number", def: IndexTagDef{Decode: IndexNumber, Skip: 2}, idx: "1.4.2.7", want: "2", ok: true},
		{name: "length-prefixed string", def: IndexTagDef{Decode: IndexString}, idx: "4.70.97.110.48", want: "Fan0", ok: true},
		{name: "string then number", def: IndexTagDef{Decode: IndexString, Template: "CPU {}"}, idx: "2.65.66.3", want: "CPU AB", ok: true},
		{name: "skipped slot, then string", def: IndexTagDef{Decode: IndexString, Skip: 1}, idx: "3.2.65.66", want: "AB", ok: true},
		{name: "implied string", def: IndexTagDef{Decode: IndexImpliedString}, idx: "118.48", want: "v0", ok: true},
		{name: "template", def: IndexTagDef{Decode: IndexNumber, Template: "Packet CPU {}"}, idx: "3", want: "Packet CPU 3", ok: true},
		{name: "length beyond the index", def: IndexTagDef{Decode: IndexString}, idx: "9.65.66", ok: false},
		{name: "control character is no text", def: IndexTagDef{Decode: IndexImpliedString}, idx: "1.2", ok: false},
		{name: "skip beyond the index", def: IndexTagDef{Decode: IndexNumber, Skip: 3}, idx: "1.2", ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.def.text(tc.idx)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestIndexTags polls a table indexed by its rows' names (as NS-ROOT-MIB's
// health counters): the name becomes the descr tag, where conditions on it
// split the rows, and a name column, where a row has one, wins.
func TestIndexTags(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "named.yaml"), []byte(`
name: named
match: {always: true}
metrics:
  - measurement: fan
    index_tags: [{name: descr, decode: string}]
    where: [{column: descr, match: Fan}]
    columns:
      - {name: descr, oid: 1.3.6.1.4.1.99999.1.1, kind: tag}
      - {name: rpm, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge}
`), 0o644))
	a := newFakeAgent(
		intPDU(".1.3.6.1.4.1.99999.1.2.4.70.97.110.48", 7800),         // "Fan0"
		intPDU(".1.3.6.1.4.1.99999.1.2.4.84.101.109.112", 35),         // "Temp": no fan
		intPDU(".1.3.6.1.4.1.99999.1.2.7.70.97.110.84.114.97.121", 5), // "FanTray", named by its column
	)
	set(a, ".1.3.6.1.4.1.99999.1.1.7.70.97.110.84.114.97.121", gosnmp.OctetString, []byte("Fan tray 1"))
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
	c := newCollector(t, testConfig(func(c *Config) { c.Profiles = []string{"system", "named"}; c.ProfilesDir = []string{dir} }), "127.0.0.1:161")
	c.dial = func(context.Context, *gosnmp.GoSNMP) (requester, func() error, error) {
		return a, func() error { return nil }, nil
	}
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	fans := sink.Find("fan")
	require.Len(t, fans, 2)
	require.Equal(t, 7800.0, findTag(t, fans, "descr", "Fan0").Fields["rpm"])
	require.Equal(t, "4.70.97.110.48", findTag(t, fans, "descr", "Fan0").Tags["index"])
	require.Equal(t, 5.0, findTag(t, fans, "descr", "Fan tray 1").Fields["rpm"])

	for _, bad := range []string{"{name: Descr}", "{name: d, decode: utf16}", "{name: d, decode: string, length: 2}", "{name: d, skip: -1}"} {
		_, err := ParseProfile([]byte(`
name: x
metrics:
  - measurement: m
    index_tags: [`+bad+`]
    columns:
      - {name: v, oid: 1.3.6.1.4.1.99999.1.1, kind: gauge}
`), "bad.yaml")
		require.Error(t, err, bad)
	}
}
