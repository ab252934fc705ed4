package snmp

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// expected is the part of a LibreNMS test result the inventory is checked
// against (see ../shared/testdata/README.md).
type expected struct {
	OS struct {
		Discovery struct {
			Devices []struct {
				Hardware, Serial, Version *string
			}
		}
	}
	Ports struct {
		// An object with the ports, or a string such as "matches
		// discovery" when LibreNMS's poller found the same.
		Discovery, Poller json.RawMessage
	}
	Storage struct {
		Discovery json.RawMessage // an object, or [] when LibreNMS found none
	}
}

type expectedPorts struct {
	Ports []struct {
		IfIndex int `json:"ifIndex"`
	}
}

// ports returns the ports of the poller's result, else the discovery's.
func (e expected) ports(t *testing.T) []int {
	t.Helper()
	for _, raw := range []json.RawMessage{e.Ports.Poller, e.Ports.Discovery} {
		if len(raw) == 0 || raw[0] != '{' {
			continue
		}
		var p expectedPorts
		require.NoError(t, json.Unmarshal(raw, &p))
		if len(p.Ports) == 0 {
			continue
		}
		out := make([]int, 0, len(p.Ports))
		for _, x := range p.Ports {
			out = append(out, x.IfIndex)
		}
		return out
	}
	return nil
}

type expectedStorage struct {
	Storage []struct {
		Type  string
		Descr string  `json:"storage_descr"`
		Size  float64 `json:"storage_size"`
	}
}

// recordingChecks says which LibreNMS fields our inventory must match per
// recording. A field is left out where LibreNMS composes its own string
// ("Generic x86 64-bit", "Server 2019 (1809)") or reads a MIB no profile
// covers yet; the reason is given.
var recordingChecks = map[string]string{
	"apc_smtl1000-nmc3":            "model serial version",
	"arubaos-cx_10.10":             "descr serial version", // LibreNMS's model is entPhysicalDescr; ours is the part number JL679A
	"dell-compellent":              "version",              // no model/serial in the recording
	"drac_r640":                    "model serial version",
	"dsm_ds214se-dsm7":             "model serial version",
	"eaton-mgeups_9pxle":           "model serial version",
	"fortigate_100e":               "serial version", // LibreNMS derives the model from sysObjectID
	"hpe-ilo_hpe-ilo6-with-vmware": "model serial version",
	"iosxe_c9200l":                 "version", // LibreNMS names the stack; ours is its chassis, see recordingExtra
	"jetdirect_m252dw":             "model",
	"junos_qfx5100":                "model serial version",
	"konica_c250i":                 "model serial", // version is in a Konica MIB
	"linux_powermon":               "version",      // "Generic x86 64-bit" is LibreNMS's own text
	"nimbleos":                     "",
	"nxos_n9k-c93180yc-fx3":        "model serial version",
	"panos_440":                    "serial version",
	"pfsense":                      "", // version and "amd64" are parsed from sysDescr by LibreNMS
	"procurve_2520":                "model version",
	"qnap":                         "model serial version",
	"routeros_rb750gr3":            "model serial version",
	"supermicro-bmc_x11":           "model serial",
	"truenas-scale_24.04.2.2":      "",
	"vmware-esxi":                  "model serial version",
	"windows_svr_2019_1809":        "", // LibreNMS maps the build number to a release name
	"xclarity_lenovoxcc":           "model serial version",
}

// recordingExtra holds attributes checked against the recording itself
// where LibreNMS has none or another convention.
var recordingExtra = map[string]map[string]any{
	"iosxe_c9200l":      {"model": "C9200L-48P-4X", "manufacturer": "Cisco"},
	"arubaos-cx_10.10":  {"model": "JL679A"},
	"jetdirect_m252dw":  {"serial": "VNB3J99999"},
	"apc_smtl1000-nmc3": {"manufacturer": "APC"},
	"nimbleos":          {"sys_object_id": ".1.3.6.1.4.1.37447.3.1"},
}

// TestRecordedDevices polls every recording in ../shared/testdata/snmp
// through snmpsim with profiles: auto and checks the inventory against
// LibreNMS's expected results: model, serial, OS version, interface count,
// hrStorage volume sizes, and memory pools and storage (poolTally). Every field of every sample must have a KPI
// definition in the built-in catalog.
func TestRecordedDevices(t *testing.T) {
	shared := sharedRecordings(t)
	cat := builtinCatalog(t)
	var pools poolTally
	defer func() {
		t.Logf("LibreNMS memory pool values found: %d/%d; storage: %d/%d", pools.memFound, pools.memWant, pools.stFound, pools.stWant)
	}()
	for _, p := range pollRecordings(t, shared) {
		name, f, sink := p.name, p.file, p.sink
		t.Run(name, func(t *testing.T) {
			require.NoError(t, p.err)
			require.Len(t, sink.Inventories, 1)
			require.Empty(t, undefined(cat, sink.Samples), "%s: fields without a KPI definition", name)
			inv := sink.Inventories[0]
			if os.Getenv("KPILOT_DUMP") != "" {
				b, _ := json.MarshalIndent(inv.Attributes, "", " ")
				t.Logf("%s: %s ifaces=%d storage=%d errs=%v", name, b, len(inv.Components["interfaces"]), len(inv.Components["storage"]), sink.Errors)
			}
			raw, err := os.ReadFile(filepath.Join(shared, "snmp", "expected", name+".json"))
			if os.IsNotExist(err) {
				return // snmpsim-data recordings: checked in snmpsimdata_test.go
			}
			require.NoError(t, err)
			var exp expected
			require.NoError(t, json.Unmarshal(raw, &exp))
			checkRecording(t, name, inv, exp, recordedInterfaces(t, f))
			pools.check(t, name, sink.Samples, raw)
			for attr, want := range recordingExtra[name] {
				require.Equal(t, want, inv.Attributes[attr], "%s: %s", name, attr)
			}
		})
	}
}

// recordedPoll is what one poll of one recording with profiles: auto
// gave.
type recordedPoll struct {
	name, file string // community and .snmprec path
	sink       *collectortest.Sink
	err        error
}

// polled keeps the polls of the recordings for the life of the test
// binary: TestRecordedDevices and TestConformance read the same polls,
// and polling all recordings is the slow part (most of a minute on two
// cores).
var polled struct {
	sync.Mutex
	polls []recordedPoll
}

// pollRecordings polls every device recording in shared/snmp/data once
// (VLAN-context files are another context of a device, not a device) and
// returns the polls sorted by name; later calls return the same polls.
// snmpsim runs for t only: a test that calls this first serves the others.
func pollRecordings(t *testing.T, shared string) []recordedPoll {
	t.Helper()
	polled.Lock()
	defer polled.Unlock()
	if polled.polls != nil {
		return polled.polls
	}
	files, err := filepath.Glob(filepath.Join(shared, "snmp", "data", "*.snmprec"))
	require.NoError(t, err)
	s := devenv.SNMPSim(t, files...)
	var polls []recordedPoll
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".snmprec")
		if strings.Contains(name, "@") {
			continue
		}
		polls = append(polls, recordedPoll{name: name, file: f})
	}
	// Two polls at a time: snmpsimd answers one while the collector
	// decodes the other.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := range polls {
		p := &polls[i]
		cfg := testConfig(func(c *Config) { c.Community = yamlconf.Secret(p.name); c.MaxRepetitions = 25 })
		c := newCollector(t, cfg, s.Addr())
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.sink, p.err = collectortest.CollectOnce(t, c)
		}()
	}
	wg.Wait()
	polled.polls = polls
	return polls
}

func checkRecording(t *testing.T, name string, inv kpi.Inventory, exp expected, recorded map[int]bool) {
	// Recordings without an entry (LibreNMS's set grows) are held to the
	// interfaces and volumes; which identity fields must match is decided
	// per recording, with the reason, when one is added to recordingChecks.
	checks := recordingChecks[name]
	if len(exp.OS.Discovery.Devices) > 0 {
		dev := exp.OS.Discovery.Devices[0]
		for field, want := range map[string]*string{"model": dev.Hardware, "descr": dev.Hardware, "serial": dev.Serial, "version": dev.Version} {
			if !slices.Contains(strings.Fields(checks), field) {
				continue
			}
			attr := map[string]string{"model": "model", "descr": "description", "serial": "serial", "version": "os_version"}[field]
			got, _ := inv.Attributes[attr].(string)
			require.NotNil(t, want, "%s: expected JSON has no %s", name, field)
			require.True(t, sameValue(got, *want), "%s: %s = %q, LibreNMS says %q", name, attr, got, *want)
		}
	}
	// Every interface LibreNMS has and the recording holds, we have. We
	// may have more: LibreNMS hides some by its per-OS ignore lists (Junos
	// "lsi", for example). Some recordings were trimmed after LibreNMS's
	// run and lack interfaces its result lists.
	have := map[int64]bool{}
	for _, c := range inv.Components["interfaces"] {
		have[c["ifindex"].(int64)] = true
	}
	for _, ifIndex := range exp.ports(t) {
		if !recorded[ifIndex] {
			continue
		}
		require.True(t, have[int64(ifIndex)], "%s: interface ifIndex %d missing", name, ifIndex)
	}
	var storage expectedStorage
	if len(exp.Storage.Discovery) > 0 && exp.Storage.Discovery[0] == '{' {
		require.NoError(t, json.Unmarshal(exp.Storage.Discovery, &storage))
	}
	for _, st := range storage.Storage {
		if st.Type != "hrstorage" {
			continue // vendor storage MIBs LibreNMS reads (nimble, zvols)
		}
		var got map[string]any
		for _, c := range inv.Components["storage"] {
			if c["descr"] == st.Descr {
				got = c
			}
		}
		require.NotNil(t, got, "%s: storage %q missing", name, st.Descr)
		size, _ := got["size_bytes"].(float64)
		require.InDelta(t, st.Size, size, math.Max(1, st.Size*1e-9), "%s: storage %q size", name, st.Descr)
	}
}

// recordedInterfaces returns the ifIndex values a recording holds in
// ifTable (ifIndex, ifDescr) or ifXTable (ifName).
func recordedInterfaces(t *testing.T, file string) map[int]bool {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	out := map[int]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		oid, _, _ := strings.Cut(line, "|")
		for _, col := range []string{"1.3.6.1.2.1.2.2.1.1.", "1.3.6.1.2.1.2.2.1.2.", "1.3.6.1.2.1.31.1.1.1.1."} {
			if idx, ok := strings.CutPrefix(oid, col); ok {
				if n, err := strconv.Atoi(idx); err == nil {
					out[n] = true
				}
			}
		}
	}
	return out
}

// sameValue compares our attribute with LibreNMS's, which often adds or
// drops a vendor prefix ("HP Color LaserJet" vs "Color LaserJet").
func sameValue(got, want string) bool {
	g, w := strings.ToLower(strings.TrimSpace(got)), strings.ToLower(strings.TrimSpace(want))
	return g != "" && (strings.Contains(g, w) || strings.Contains(w, g))
}
