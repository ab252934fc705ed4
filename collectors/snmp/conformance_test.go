package snmp

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/snmp/conformance"
)

var conformanceOut = flag.String("conformance.out", "", "write TestConformance's summary (JSON) to this file")

// conformanceFloors is the ratchet: the share of comparable values found
// per class and group (keys of conformance.Report.Totals) as measured
// when it was last raised, rounded down. The test fails when a figure
// drops below its floor; raise a floor when a change lifts its figure
// (docs/snmp.md, "Conformance report"). The targets are printed
// beside these. When added: overall 1716 of 7843.
var conformanceFloors = map[string]float64{
	"charge":            100,
	"count":             90,
	"current":           97,
	"dbm":               100,
	"delay":             100,
	"fanspeed":          98,
	"frequency":         100,
	"humidity":          100,
	"load":              94,
	"percent":           91,
	"power":             93,
	"power_consumed":    96,
	"power_factor":      100,
	"runtime":           92,
	"state":             97,
	"temperature":       99,
	"voltage":           97,
	"sensors (all)":     97,
	"mempool_total":     91,
	"mempool_used":      90,
	"mempools (all)":    90,
	"processor":         97,
	"processors (all)":  97,
	"storage_size":      100,
	"storage_used":      98,
	"storage (all)":     99,
	"model":             92,
	"serial":            100,
	"version":           98,
	"identity (all)":    96,
	conformance.Overall: 96,
}

// TestConformance scores one poll (profiles: auto) of every recording that
// has LibreNMS's expected result against that result: sensors of every
// class, memory pools, processors, storage and identity (docs/snmp.md,
// "Conformance report"). It prints found/comparable per device and per
// class beside the floors and issue 33's targets, writes a summary to
// -conformance.out, and fails when a figure drops below its floor.
func TestConformance(t *testing.T) {
	shared := sharedRecordings(t)
	cat := builtinCatalog(t)
	var report conformance.Report
	for _, p := range pollRecordings(t, shared) {
		raw, err := os.ReadFile(filepath.Join(shared, "snmp", "expected", p.name+".json"))
		if os.IsNotExist(err) {
			continue // the snmpsim-data walks have no expected result
		}
		require.NoError(t, err)
		require.NoError(t, p.err, "%s: poll", p.name)
		require.Len(t, p.sink.Inventories, 1, "%s: inventory", p.name)
		if len(p.sink.Errors) > 0 {
			// A partial poll (a column that timed out) lowers the figures:
			// say so, as the reason a floor may fail.
			t.Logf("%s: %d partial errors, first: %v", p.name, len(p.sink.Errors), p.sink.Errors[0])
		}
		recorded, err := os.ReadFile(p.file)
		require.NoError(t, err)
		want, err := conformance.ReadExpected(raw, conformance.ReadRecording(recorded))
		require.NoError(t, err, "%s", p.name)
		got := conformance.Read(p.sink.Samples, p.sink.Inventories[0], cat)
		report.Devices = append(report.Devices, conformance.Compare(p.name, want, got))
	}
	require.NotEmpty(t, report.Devices)

	var b strings.Builder
	require.NoError(t, report.WriteDevices(&b))
	t.Logf("per device (found/comparable):\n%s", b.String())
	b.Reset()
	require.NoError(t, report.WriteTable(&b, conformanceFloors))
	t.Logf("%d devices, per class (found/comparable):\n%s", len(report.Devices), b.String())

	summary, err := json.MarshalIndent(report.Summary(conformanceFloors), "", " ")
	require.NoError(t, err)
	out := *conformanceOut
	if out == "" {
		out = filepath.Join(t.TempDir(), "conformance.json")
	}
	require.NoError(t, os.WriteFile(out, summary, 0o644))
	t.Logf("summary: %s", out)

	totals := report.Totals()
	var below, raise []string
	for _, key := range slices.Sorted(maps.Keys(conformanceFloors)) {
		c, ok := totals[key]
		floor := conformanceFloors[key]
		switch {
		case !ok:
			below = append(below, key+": no comparable values any more")
		case c.Percent() < floor:
			below = append(below, fmt.Sprintf("%s: %d of %d found (%.2f%%), below the floor of %.0f%%", key, c.Found, c.Expected, c.Percent(), floor))
		case math.Floor(c.Percent()) > floor:
			raise = append(raise, fmt.Sprintf("%q: %.0f", key, math.Floor(c.Percent())))
		}
	}
	if len(raise) > 0 {
		t.Logf("floors to raise in conformanceFloors: %s", strings.Join(raise, ", "))
	}
	require.Empty(t, below, "figures below their floors")
}
