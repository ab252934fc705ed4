package catalog_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
)

// -update rewrites the generated part of docs/kpi-catalog.md. Another
// test file of the package may define the flag too; it is defined once.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files (docs/kpi-catalog.md's list of built-in KPIs)")
	}
	return true
}()

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const (
	docPath = "../../docs/kpi-catalog.md"
	// docMarker starts the generated part of the document.
	docMarker = "<!-- Generated from the built-in definitions by `go test ./internal/catalog -run TestCatalogDoc -update`: do not edit below. -->\n"
)

// TestCatalogDoc holds docs/kpi-catalog.md's list of built-in KPIs to
// what Builtin reads from the shipped files.
func TestCatalogDoc(t *testing.T) {
	c, err := catalog.Builtin()
	require.NoError(t, err)
	doc, err := os.ReadFile(docPath)
	require.NoError(t, err)
	head, _, ok := strings.Cut(string(doc), docMarker)
	require.True(t, ok, "docs/kpi-catalog.md has the marker line %q", docMarker)
	want := head + docMarker + "\n" + c.Markdown()
	if updating() {
		require.NoError(t, os.WriteFile(docPath, []byte(want), 0o644))
		return
	}
	require.Equal(t, want, string(doc), "docs/kpi-catalog.md is out of date: go test ./internal/catalog -run TestCatalogDoc -update")
}

func TestMarkdown(t *testing.T) {
	c, err := catalog.New(catalog.User, section(t, counters), section(t, storage), section(t, `
kpis:
  - measurement: ups
    name: {en: UPS}
    fields:
      battery_percent:
        name: {en: Battery | charge, de: Batterieladung}
        unit: percent
        kind: gauge
        class: service
        key: {power: 2}
        thresholds: {warning: 30, critical: 10, below: true}
`))
	require.NoError(t, err)
	md := c.Markdown()
	for _, want := range []string{
		"| storage | `storage.used_percent` Storage used |",
		"| network | `interface.in_octets` Received |",
		"| power | `ups.battery_percent` Battery \\| charge |",
		"| printer | – |",
		"### `interface`: Interface / Schnittstelle\n",
		"### `storage`: Volume\n\nA file system.\n",
		"| `in_octets` | Received / Empfangen | bytes (rate `in_octets_per_second`: bytes_per_second) | counter | network 1 |  | all |",
		"| `oper_status` | Status | – | state: 1 Up / Aktiv (ok), 2 Down / Inaktiv (critical) |  |  | all |",
		"| `used_percent` | Storage used / Speicher belegt | percent | gauge | server 4, storage 1 | warning ≥ 85, critical ≥ 95 | all |",
		"| `battery_percent` | Battery \\| charge / Batterieladung | percent | gauge | power 2 | warning ≤ 30, critical ≤ 10 | service |",
	} {
		require.Contains(t, md, want)
	}
	require.NotContains(t, md, "in_octets_per_second` |", "derived rates are no rows of their own")
	require.Less(t, strings.Index(md, "### `interface`"), strings.Index(md, "### `storage`"), "measurements in name order")
}
