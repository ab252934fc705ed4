package snmp

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/kpi"
)

// expectedPools is the memory and storage part of a LibreNMS test result.
type expectedPools struct {
	Mempools struct {
		Discovery json.RawMessage // an object, or [] when LibreNMS found none
	}
	Storage struct {
		Discovery json.RawMessage
	}
}

// pool is one memory pool or volume LibreNMS expects: its description,
// total and used bytes and the LibreNMS module that read it.
type pool struct {
	Type, Descr string
	Total, Used float64
}

func (e expectedPools) pools(t *testing.T) (mem, storage []pool) {
	t.Helper()
	if raw := e.Mempools.Discovery; len(raw) > 0 && raw[0] == '{' {
		var m struct {
			Mempools []struct {
				Type  string  `json:"mempool_type"`
				Descr string  `json:"mempool_descr"`
				Total float64 `json:"mempool_total"`
				Used  float64 `json:"mempool_used"`
			}
		}
		require.NoError(t, json.Unmarshal(raw, &m))
		for _, x := range m.Mempools {
			mem = append(mem, pool{x.Type, x.Descr, x.Total, x.Used})
		}
	}
	if raw := e.Storage.Discovery; len(raw) > 0 && raw[0] == '{' {
		var s struct {
			Storage []struct {
				Type  string
				Descr string  `json:"storage_descr"`
				Size  float64 `json:"storage_size"`
				Used  float64 `json:"storage_used"`
			}
		}
		require.NoError(t, json.Unmarshal(raw, &s))
		for _, x := range s.Storage {
			storage = append(storage, pool{x.Type, x.Descr, x.Size, x.Used})
		}
	}
	return mem, storage
}

// sameDescr compares a sample's descr tag with LibreNMS's description,
// which often prefixes the pool's name with its module's ("Slot 2
// Supervisor - Processor" for the pool "Processor").
func sameDescr(ours, theirs string) bool {
	o, w := strings.ToLower(strings.TrimSpace(ours)), strings.ToLower(strings.TrimSpace(theirs))
	return o != "" && (o == w || strings.HasSuffix(w, o) || strings.HasPrefix(w, o) || strings.HasPrefix(o, w))
}

// closeTo says whether a reading matches LibreNMS's value within 1% of the
// pool's size (LibreNMS derives some used values from whole percents).
func closeTo(got any, want, size float64) bool {
	f, ok := got.(float64)
	return ok && math.Abs(f-want) <= math.Max(1, 0.01*math.Abs(size))
}

// percentOnly marks a pool LibreNMS has as a percentage only (size 100),
// which has no sizes in bytes to compare: Junos SPUs, FabricOS, SonicWall
// SMA. They count as expected values, but memoryChecks does not hold them.
const percentOnly = " (percent only)"

// foundValues counts how many of the pools' sizes and used amounts the
// samples hold (two values a pool), and lists the pools not fully found.
func foundValues(samples []kpi.Sample, pools []pool) (found int, missing []string) {
	for _, p := range pools {
		var size, used bool
		for _, s := range samples {
			if !sameDescr(s.Tags["descr"], p.Descr) {
				continue
			}
			size = size || closeTo(s.Fields["size_bytes"], p.Total, p.Total)
			used = used || closeTo(s.Fields["used_bytes"], p.Used, p.Total)
		}
		for _, ok := range []bool{size, used} {
			if ok {
				found++
			}
		}
		if !size || !used {
			m := p.Type + ":" + p.Descr
			if p.Total == 100 {
				m += percentOnly
			}
			missing = append(missing, m)
		}
	}
	return found, missing
}

// memoryChecks names, per recording, the LibreNMS modules (or
// "module:description" prefixes) whose memory pools and volumes kpilot
// must read in full (size and used). Recordings and modules not listed
// are counted in the log, not held to.
var memoryChecks = map[string][]string{
	"ftd_ftd1150":                  {"cemp"},
	"iosxe_c9400":                  {"cemp"},
	"ios_2960x":                    {"cmp"},
	"truenas_11-3":                 {"freenas-zpool", "freenas-dataset"},
	"truenas-scale_24.04.2.2":      {"truenas-scale-zv"},
	"junos":                        {"junos"},
	"junos_qfx5100":                {"junos"},
	"junos_rpm":                    {"junos"},
	"junos_srx3600":                {"junos"},
	"fortigate":                    {"fortigate"},
	"fortigate_100e":               {"fortigate"},
	"fortigate_60f":                {"fortigate"},
	"hpe-ilo_4_with_bat_checks":    {"hpe-ilo"},
	"hpe-ilo_5_with_bat_checks":    {"hpe-ilo"},
	"hpe-ilo_hpe-ilo6-with-vmware": {"hpe-ilo"},
	"nimbleos":                     {"nimbleos"},
	"aix":                          {"aix"},
	"intelliflash":                 {"intelliflash-pl", "intelliflash-pr"},
	"vrp_5720-32x-ei":              {"vrp"},
	"comware_hpe5900":              {"comware"},
	"netscaler":                    {"netscaler"},
	"f5_ve":                        {"f5"},
	"edgeswitch_es-24-250w":        {"edgeswitch"},
	"arubaos_vmc":                  {"arubaos"},
	"cyberoam-utm":                 {"cyberoam-utm"},
	"procurve":                     {"hpLocal"},
	"aruba-instant":                {"aruba-instant"},
	"panos_5220":                   {"hrstorage:Slot-1"},
	"panos_440":                    {"hrstorage:Slot-1"},
}

// poolTally counts LibreNMS's memory pool and storage values over the
// recordings TestRecordedDevices polls, and what of them kpilot reads.
type poolTally struct{ memFound, memWant, stFound, stWant int }

// check compares a recording's memory and storage samples with LibreNMS's
// memory pools and storage (description, size, used): the modules
// memoryChecks names for the recording must be found in full; the rest is
// counted and logged (go test -v shows what is missing).
func (tl *poolTally) check(t *testing.T, name string, samples []kpi.Sample, raw []byte) {
	t.Helper()
	var e expectedPools
	require.NoError(t, json.Unmarshal(raw, &e))
	mem, storage := e.pools(t)
	var memory, volumes []kpi.Sample
	for _, s := range samples {
		switch s.Measurement {
		case "memory":
			memory = append(memory, s)
		case "storage":
			volumes = append(volumes, s)
		}
	}
	mf, mmiss := foundValues(memory, mem)
	sf, smiss := foundValues(volumes, storage)
	tl.memFound, tl.memWant = tl.memFound+mf, tl.memWant+2*len(mem)
	tl.stFound, tl.stWant = tl.stFound+sf, tl.stWant+2*len(storage)
	if len(mem)+len(storage) > 0 {
		t.Logf("memory %d/%d, storage %d/%d values; missing %q", mf, 2*len(mem), sf, 2*len(storage), slices.Concat(mmiss, smiss))
	}
	for _, module := range memoryChecks[name] {
		if !strings.Contains(module, ":") {
			module += ":"
		}
		for _, m := range slices.Concat(mmiss, smiss) {
			require.False(t, strings.HasPrefix(m, module) && !strings.HasSuffix(m, percentOnly),
				"%s: %s not read right (size and used)", name, m)
		}
	}
}

// TestComputedSumAndProduct: a pool that reports used and free gets its
// size as their sum and its share used from that; a pool that reports size
// and percent used gets its used bytes as their product. Unknown (negative)
// operands make no value.
func TestComputedSumAndProduct(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pools.yaml"), []byte(`
name: pools
match: {always: true}
metrics:
  - measurement: memory
    columns:
      - {name: used_bytes, oid: 1.3.6.1.4.1.99999.1.1, kind: gauge}
      - {name: free_bytes, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge}
    computed:
      - {name: size_bytes, sum: [used_bytes, free_bytes]}
      - {name: used_percent, ratio: [used_bytes, size_bytes], scale: 100}
  - measurement: pool
    columns:
      - {name: size_bytes, oid: 1.3.6.1.4.1.99999.2.1, kind: gauge, scale: 1024}
      - {name: used_percent, oid: 1.3.6.1.4.1.99999.2.2, kind: gauge}
    computed:
      - {name: used_bytes, product: [size_bytes, used_percent], scale: 0.01}
`), 0o644))
	a := newFakeAgent(
		intPDU(".1.3.6.1.4.1.99999.1.1.1", 300), intPDU(".1.3.6.1.4.1.99999.1.2.1", 100),
		intPDU(".1.3.6.1.4.1.99999.1.1.2", 300), intPDU(".1.3.6.1.4.1.99999.1.2.2", -1),
		intPDU(".1.3.6.1.4.1.99999.2.1.1", 2000), intPDU(".1.3.6.1.4.1.99999.2.2.1", 25),
	)
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
	c := newCollector(t, testConfig(func(c *Config) { c.Profiles = []string{"system", "pools"}; c.ProfilesDir = []string{dir} }), "127.0.0.1:161")
	c.dial = func(context.Context, *gosnmp.GoSNMP) (requester, func() error, error) {
		return a, func() error { return nil }, nil
	}
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	mem := findTag(t, sink.Find("memory"), "index", "1")
	require.Equal(t, 400.0, mem.Fields["size_bytes"])
	require.Equal(t, 75.0, mem.Fields["used_percent"])
	unknown := findTag(t, sink.Find("memory"), "index", "2")
	require.NotContains(t, unknown.Fields, "size_bytes", "free -1 is unknown, not a size of 299")
	require.NotContains(t, unknown.Fields, "used_percent")
	p := findTag(t, sink.Find("pool"), "index", "1")
	require.Equal(t, 512000.0, p.Fields["used_bytes"])

	for _, bad := range []string{"{name: s, sum: [used_bytes]}", "{name: s, sum: [used_bytes, free_bytes], ratio: [used_bytes, free_bytes]}", "{name: s, product: [used_bytes, nope]}"} {
		_, err := ParseProfile([]byte(`
name: x
metrics:
  - measurement: m
    columns:
      - {name: used_bytes, oid: 1.3.6.1.4.1.99999.1.1, kind: gauge}
      - {name: free_bytes, oid: 1.3.6.1.4.1.99999.1.2, kind: gauge}
    computed: [`+bad+`]
`), "bad.yaml")
		require.Error(t, err, bad)
	}
}

// TestCiscoFlash reads CISCO-FLASH-MIB partitions (no recording has the
// MIB): a partition with the 64-bit (Extended) columns takes those, one
// without takes the 32-bit ones; used is size - free.
func TestCiscoFlash(t *testing.T) {
	const part = ".1.3.6.1.4.1.9.9.10.1.1.4.1.1."
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
	set(a, part+"10.1.1", gosnmp.OctetString, []byte("bootflash"))
	set(a, part+"4.1.1", gosnmp.Gauge32, uint(4294967295)) // saturated: the partition is larger
	set(a, part+"5.1.1", gosnmp.Gauge32, uint(4294967295))
	set(a, part+"13.1.1", gosnmp.Counter64, uint64(8_000_000_000))
	set(a, part+"14.1.1", gosnmp.Counter64, uint64(6_000_000_000))
	set(a, part+"10.2.1", gosnmp.OctetString, []byte("usbflash0"))
	set(a, part+"4.2.1", gosnmp.Gauge32, uint(1_000_000))
	set(a, part+"5.2.1", gosnmp.Gauge32, uint(250_000))
	c, _ := fakeCollector(t, a, "system", "cisco-flash")
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Empty(t, sink.Errors)
	boot := findTag(t, sink.Find("storage"), "descr", "bootflash")
	require.Equal(t, "cisco_flash_mib", boot.Tags["source"])
	require.Equal(t, 8e9, boot.Fields["size_bytes"])
	require.Equal(t, 2e9, boot.Fields["used_bytes"])
	require.Equal(t, 25.0, boot.Fields["used_percent"])
	usb := findTag(t, sink.Find("storage"), "descr", "usbflash0")
	require.Equal(t, 1e6, usb.Fields["size_bytes"])
	require.Equal(t, 75.0, usb.Fields["used_percent"])
	require.Len(t, sink.Inventories[0].Components["storage"], 2)
}
