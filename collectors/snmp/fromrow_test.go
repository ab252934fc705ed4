package snmp

import (
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
)

// TestHostMemoryPools reads host-resources' memory pools as net-snmp
// lists them: the physical memory's used bytes less the buffers and page
// cache rows (from_row), those rows sized by the physical memory, the
// used bytes as read where the agent's are less than both (otherwise), and
// as read on a host without such rows.
func TestHostMemoryPools(t *testing.T) {
	const (
		typ, descr, units, size, used = "2", "3", "4", "5", "6"
		ram, virtual, other           = ".1.3.6.1.2.1.25.2.1.2", ".1.3.6.1.2.1.25.2.1.3", ".1.3.6.1.2.1.25.2.1.1"
	)
	type hrRow struct {
		idx, typ, descr string
		size, used      uint
	}
	netsnmp := func(physUsed uint) []hrRow {
		return []hrRow{
			{"1", ram, "Physical memory", 1000, physUsed},
			{"3", virtual, "Virtual memory", 1500, 950},
			{"6", other, "Memory buffers", 1000, 100},
			{"7", other, "Cached memory", 400, 300},
			{"8", other, "Shared memory", 0, 10},
		}
	}
	for _, tc := range []struct {
		name     string
		rows     []hrRow
		physUsed float64 // KiB
		pools    int
	}{
		{name: "net-snmp: used less buffers and cache", rows: netsnmp(900), physUsed: 500, pools: 5},
		{name: "used below buffers and cache: as read", rows: netsnmp(350), physUsed: 350, pools: 5},
		{name: "no buffers or cache rows: as read", rows: []hrRow{{"1", ram, "Physical memory", 1000, 900}}, physUsed: 900, pools: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newFakeAgent()
			set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
			for _, r := range tc.rows {
				col := func(c string) string { return ".1.3.6.1.2.1.25.2.3.1." + c + "." + r.idx }
				set(a, col(typ), gosnmp.ObjectIdentifier, r.typ)
				set(a, col(descr), gosnmp.OctetString, []byte(r.descr))
				set(a, col(units), gosnmp.Integer, 1024)
				set(a, col(size), gosnmp.Integer, int(r.size))
				set(a, col(used), gosnmp.Integer, int(r.used))
			}
			c, now := fakeCollector(t, a, "system", "host-resources")
			_, err := collectortest.CollectOnce(t, c)
			require.NoError(t, err)
			// The second run reads the lookup columns (type, descr,
			// allocation units) from the cache: from_row finds its rows
			// there too.
			*now = now.Add(time.Minute)
			sink, err := collectortest.CollectOnce(t, c)
			require.NoError(t, err)
			require.Empty(t, sink.Errors)
			pools := sink.Find("memory")
			require.Len(t, pools, tc.pools)
			phys := findTag(t, pools, "descr", "Physical memory")
			require.Equal(t, 1000*1024.0, phys.Fields["size_bytes"])
			require.Equal(t, tc.physUsed*1024, phys.Fields["used_bytes"])
			require.InDelta(t, tc.physUsed/10, phys.Fields["used_percent"], 1e-9)
			if tc.pools == 1 {
				return
			}
			cached := findTag(t, pools, "descr", "Cached memory")
			require.Equal(t, 1000*1024.0, cached.Fields["size_bytes"], "sized by the physical memory")
			require.Equal(t, 300*1024.0, cached.Fields["used_bytes"])
			require.Equal(t, 1000*1024.0, findTag(t, pools, "descr", "Shared memory").Fields["size_bytes"])
			require.Equal(t, 950*1024.0, findTag(t, pools, "descr", "Virtual memory").Fields["used_bytes"], "no cache subtracted")
		})
	}
}

// TestFromRowProfiles: from_row and otherwise are checked when a profile
// is read.
func TestFromRowProfiles(t *testing.T) {
	for name, bad := range map[string]string{
		"not a helper":      "{name: x, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge, from_row: {column: d, in: [a]}}",
		"unknown column":    "{name: x, oid: 1.3.6.1.4.1.99999.1.2, kind: helper, from_row: {column: nope, in: [a]}}",
		"no values":         "{name: x, oid: 1.3.6.1.4.1.99999.1.2, kind: helper, from_row: {column: d}}",
		"itself":            "{name: x, oid: 1.3.6.1.4.1.99999.1.2, kind: helper, from_row: {column: x, in: [a]}}",
		"unknown otherwise": "{name: x, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge}]\n    computed: [{name: y, difference: [x, x], otherwise: nope}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseProfile([]byte("name: p\nmetrics:\n  - measurement: m\n    columns: [{name: d, oid: 1.3.6.1.4.1.99999.1.1, kind: tag}, "+bad+"]\n"), "bad.yaml")
			require.Error(t, err)
		})
	}
	_, err := ParseProfile([]byte("name: p\nmetrics:\n  - measurement: m\n    columns: [{name: d, oid: 1.3.6.1.4.1.99999.1.1, kind: tag}, {name: x, oid: 1.3.6.1.4.1.99999.1.2, kind: helper, from_row: {column: d, in: [a], default: 0}}]\n"), "ok.yaml")
	require.NoError(t, err)
}
