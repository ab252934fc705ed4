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
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/yamlconf"
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
			missing = append(missing, p.Type+":"+p.Descr)
		}
	}
	return found, missing
}

// memoryChecks names, per recording, the LibreNMS modules whose memory
// pools and volumes kpilot must read in full (size and used). Recordings
// and modules not listed are counted in the log, not held to.
var memoryChecks = map[string][]string{
	"ftd_ftd1150":                  {"cemp"},
	"iosxe_c9400":                  {"cemp"},
	"ios_2960x":                    {"cmp"},
	"truenas_11-3":                 {"freenas-zpool", "freenas-dataset"},
	"truenas-scale_24.04.2.2":      {"truenas-scale-zv"},
	"junos":                        {"junos"},
	"junos_qfx5100":                {"junos"},
	"junos_srx3600":                {"junos"},
	"fortigate":                    {"fortigate"},
	"fortigate_100e":               {"fortigate"},
	"fortigate_60f":                {"fortigate"},
	"hpe-ilo_4_with_bat_checks":    {"hpe-ilo"},
	"hpe-ilo_5_with_bat_checks":    {"hpe-ilo"},
	"hpe-ilo_hpe-ilo6-with-vmware": {"hpe-ilo"},
}

// TestRecordedMemoryAndStorage polls the recordings that have LibreNMS
// results and compares the memory and storage samples with LibreNMS's
// memory pools and storage (description, size, used): the modules
// memoryChecks names per recording must be found in full; the totals
// found / expected are logged.
func TestRecordedMemoryAndStorage(t *testing.T) {
	shared, ok := devenv.SharedTestdata()
	if !ok {
		t.Skip("SKIPPED: ../shared/testdata is absent; the GPL recordings are not part of the project")
	}
	dir := filepath.Join(shared, "snmp")
	all, err := filepath.Glob(filepath.Join(dir, "expected", "*.json"))
	require.NoError(t, err)
	var files []string
	exp := map[string]expectedPools{}
	for _, f := range all {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		rec := filepath.Join(dir, "data", name+".snmprec")
		if _, err := os.Stat(rec); err != nil {
			continue
		}
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var e expectedPools
		require.NoError(t, json.Unmarshal(raw, &e))
		if m, s := e.pools(t); len(m)+len(s) == 0 {
			continue
		}
		files = append(files, rec)
		exp[name] = e
	}
	s := devenv.SNMPSim(t, files...)
	var memFound, memWant, stFound, stWant int
	var wrong []string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range exp {
			if !yield(n) {
				return
			}
		}
	}) {
		mem, storage := exp[name].pools(t)
		cfg := testConfig(func(c *Config) { c.Community = yamlconf.Secret(name); c.MaxRepetitions = 25 })
		sink, err := collectortest.CollectOnce(t, newCollector(t, cfg, s.Addr()))
		require.NoError(t, err, name)
		mf, mmiss := foundValues(sink.Find("memory"), mem)
		sf, smiss := foundValues(sink.Find("storage"), storage)
		memFound, memWant, stFound, stWant = memFound+mf, memWant+2*len(mem), stFound+sf, stWant+2*len(storage)
		t.Logf("%-30s memory %3d/%3d storage %3d/%3d missing %v", name, mf, 2*len(mem), sf, 2*len(storage), slices.Concat(mmiss, smiss))
		for _, module := range memoryChecks[name] {
			for _, m := range slices.Concat(mmiss, smiss) {
				if strings.HasPrefix(m, module+":") {
					wrong = append(wrong, name+": "+m)
				}
			}
		}
	}
	t.Logf("memory pools: %d/%d values found; storage: %d/%d", memFound, memWant, stFound, stWant)
	require.Empty(t, wrong, "pools not read right (size and used)")
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
