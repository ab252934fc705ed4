package snmp

import (
	"context"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
)

// fakeCollector polls a fakeAgent with a clock the test moves.
func fakeCollector(t *testing.T, a *fakeAgent, profiles ...string) (*collector, *time.Time) {
	t.Helper()
	c := newCollector(t, testConfig(func(c *Config) { c.Profiles = profiles }), "127.0.0.1:161")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	c.dial = func(context.Context, *gosnmp.GoSNMP) (requester, func() error, error) {
		return a, func() error { return nil }, nil
	}
	return c, &now
}

func set(a *fakeAgent, oid string, typ gosnmp.Asn1BER, v any) {
	if _, ok := a.vals[oid]; !ok {
		a.oids = append(a.oids, oid)
		a.oids = sortOIDs(a.oids)
	}
	a.vals[oid] = gosnmp.SnmpPDU{Name: oid, Type: typ, Value: v}
}

func sortOIDs(o []string) []string {
	out := append([]string(nil), o...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && compareOID(out[j-1], out[j]) > 0; j-- {
			out[j-1], out[j] = out[j], out[j-1]
		}
	}
	return out
}

const (
	ifName1  = ".1.3.6.1.2.1.31.1.1.1.1.1"
	ifHCIn1  = ".1.3.6.1.2.1.31.1.1.1.6.1"
	ifIn1    = ".1.3.6.1.2.1.2.2.1.10.1"
	ifSpeed1 = ".1.3.6.1.2.1.2.2.1.5.1"
)

func TestRatesWrapsAndReboots(t *testing.T) {
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100_000))
	set(a, ifName1, gosnmp.OctetString, []byte("eth0"))
	set(a, ifIn1, gosnmp.Counter32, uint(4_294_967_000)) // 296 below the 32-bit wrap
	set(a, ifSpeed1, gosnmp.Gauge32, uint(1_000_000))
	c, now := fakeCollector(t, a, "system", "if-mib")

	run := func(advance time.Duration) *collectortest.Sink {
		t.Helper()
		*now = now.Add(advance)
		sink, err := collectortest.CollectOnce(t, c)
		require.NoError(t, err)
		require.Empty(t, sink.Errors)
		return sink
	}
	ifField := func(s *collectortest.Sink, f string) (any, bool) {
		x := s.Find("interface")
		require.Len(t, x, 1)
		require.Equal(t, "eth0", x[0].Tags["ifname"])
		v, ok := x[0].Fields[f]
		return v, ok
	}

	first := run(0)
	_, ok := ifField(first, "in_octets_per_second")
	require.False(t, ok, "no rate from one reading")
	require.Len(t, first.Inventories, 1)

	// 32-bit wrap: 296 to the wrap, then 704 more = 1000 octets in 10 s.
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(101_000))
	set(a, ifIn1, gosnmp.Counter32, uint(704))
	s := run(10 * time.Second)
	r, _ := ifField(s, "in_octets_per_second")
	require.InDelta(t, 100.0, r, 1e-9)
	u, _ := ifField(s, "in_utilization_percent")
	require.InDelta(t, 100.0*8/1_000_000*100, u, 1e-9, "octets/s * 8 / speed")
	require.Empty(t, s.Find("reboot"))

	// A 32-bit counter that falls far (a reset, not a wrap): no rate, no spike.
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(102_000))
	set(a, ifIn1, gosnmp.Counter32, uint(1_000_000))
	run(10 * time.Second)
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(103_000))
	set(a, ifIn1, gosnmp.Counter32, uint(10))
	s = run(10 * time.Second)
	_, ok = ifField(s, "in_octets_per_second")
	require.False(t, ok, "a drop of more than half the range is a reset")

	// Reboot: uptime goes from 1030 s to 5 s within 10 s.
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(500))
	set(a, ifIn1, gosnmp.Counter32, uint(20))
	s = run(10 * time.Second)
	reboots := s.Find("reboot")
	require.Len(t, reboots, 1)
	require.Equal(t, now.Add(-5*time.Second), reboots[0].Time, "boot time = now - uptime")
	require.InDelta(t, 1030.0, reboots[0].Fields["uptime_before_seconds"], 1e-9)
	require.InDelta(t, 5.0, reboots[0].Fields["downtime_max_seconds"], 1e-9, "down at most between the last poll and boot")
	_, ok = ifField(s, "in_octets_per_second")
	require.False(t, ok, "counters restart with the device: no rate across a reboot")

	// After a reboot the next run refreshes lookups and inventory.
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(1500))
	set(a, ifIn1, gosnmp.Counter32, uint(520))
	s = run(10 * time.Second)
	require.Len(t, s.Inventories, 1)
	r, _ = ifField(s, "in_octets_per_second")
	require.InDelta(t, 50.0, r, 1e-9)
}

func TestTimeTicksWrapIsNotAReboot(t *testing.T) {
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(4_294_967_000)) // 497 days
	c, now := fakeCollector(t, a, "system")
	_, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	*now = now.Add(60 * time.Second)
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(5_704)) // wrapped: +6000 ticks
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Empty(t, sink.Find("reboot"))
}

func TestHostUptimeWinsOverAgentUptime(t *testing.T) {
	// snmpd restarted (sysUpTime small) but the host did not (hrSystemUptime big).
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(900_000))
	set(a, oidHrSystemUptime, gosnmp.TimeTicks, uint32(9_000_000))
	c, now := fakeCollector(t, a, "system", "host-resources")
	_, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	*now = now.Add(30 * time.Second)
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
	set(a, oidHrSystemUptime, gosnmp.TimeTicks, uint32(9_003_000))
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Empty(t, sink.Find("reboot"), "an agent restart is not a reboot")
}

func TestLookupsAreCachedAndNewRowsRefreshThem(t *testing.T) {
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
	set(a, ifName1, gosnmp.OctetString, []byte("eth0"))
	set(a, ifHCIn1, gosnmp.Counter64, uint64(1))
	c, now := fakeCollector(t, a, "system", "if-mib")
	_, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	refreshReqs := c.requests

	*now = now.Add(10 * time.Second)
	set(a, ifName1, gosnmp.OctetString, []byte("renamed")) // not seen until the next refresh
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Equal(t, "eth0", sink.Find("interface")[0].Tags["ifname"], "interface names come from the cache")
	require.Less(t, c.requests, refreshReqs, "a normal run reads less than a refresh")

	// A new interface appears: its name is read in the same run.
	set(a, ".1.3.6.1.2.1.31.1.1.1.1.2", gosnmp.OctetString, []byte("eth1"))
	set(a, ".1.3.6.1.2.1.31.1.1.1.6.2", gosnmp.Counter64, uint64(5))
	*now = now.Add(10 * time.Second)
	sink, err = collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, x := range sink.Find("interface") {
		names[x.Tags["ifname"]] = true
	}
	require.True(t, names["eth1"], "new row tagged in its first run: %v", names)

	// lookup_refresh later everything is read again.
	*now = now.Add(c.cfg.LookupRefresh.D())
	sink, err = collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Len(t, sink.Inventories, 1)
	require.True(t, slicesContainsTag(sink, "interface", "ifname", "renamed"))
}

func slicesContainsTag(s *collectortest.Sink, m, tag, v string) bool {
	for _, x := range s.Find(m) {
		if x.Tags[tag] == v {
			return true
		}
	}
	return false
}

func TestSixtyFourBitCountersWinAndFallbackIsSkipped(t *testing.T) {
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
	set(a, ifName1, gosnmp.OctetString, []byte("eth0"))
	set(a, ifHCIn1, gosnmp.Counter64, uint64(1<<40))
	set(a, ifIn1, gosnmp.Counter32, uint(7))
	c, now := fakeCollector(t, a, "system", "if-mib")
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Equal(t, int64(1<<40), sink.Find("interface")[0].Fields["in_octets"])
	*now = now.Add(10 * time.Second)
	sink, err = collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Equal(t, int64(1<<40), sink.Find("interface")[0].Fields["in_octets"])
}
