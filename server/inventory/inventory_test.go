package inventory

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/kpi"
)

func TestIdentities(t *testing.T) {
	for _, tc := range []struct {
		name  string
		attrs map[string]any
		want  []string
	}{
		{"redfish", map[string]any{"uuid": "4C4C4544-0037-4E10-8035-B4C04F4E4E32", "manufacturer": "Dell Inc.", "serial": " 7N5NN2 "},
			[]string{"uuid:4c4c4544-0037-4e10-8035-b4c04f4e4e32", "serial:dell:7N5NN2"}},
		{"maker spelled otherwise", map[string]any{"manufacturer": "DELL", "serial": "7n5nn2"}, []string{"serial:dell:7N5NN2"}},
		{"placeholder uuid and serial", map[string]any{"uuid": "00000000-0000-0000-0000-000000000000", "serial": "To Be Filled By O.E.M."}, nil},
		{"all-ones uuid", map[string]any{"uuid": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "serial": "SN1"}, []string{"serial::SN1"}},
		{"not a string", map[string]any{"serial": 42}, nil},
		{"nothing", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Identities(kpi.Inventory{Attributes: tc.attrs}))
		})
	}
}

func TestDiff(t *testing.T) {
	before := kpi.Inventory{
		Attributes: map[string]any{"firmware_version": "1.0", "cpu_count": int64(2), "hostname": "a"},
		Components: map[string][]map[string]any{
			"interfaces": {{"index": int64(1), "name": "eth0", "speed": int64(1000)}, {"index": int64(2), "name": "eth1", "speed": int64(1000)}},
			"psus":       {{"model": "P1"}, {"model": "P1"}},
		},
	}
	after := kpi.Inventory{
		Attributes: map[string]any{"firmware_version": "1.1", "cpu_count": int64(2), "serial": "S"},
		Components: map[string][]map[string]any{
			"interfaces": {{"index": int64(2), "name": "eth1", "speed": int64(10000)}, {"index": int64(3), "name": "eth2", "speed": int64(1000)}},
			"psus":       {{"model": "P1"}, {"model": "P1"}},
		},
	}
	got := Diff(before, after)
	require.Equal(t, []Change{
		{Path: "attributes.firmware_version", Op: "changed", Before: "1.0", After: "1.1"},
		{Path: "attributes.hostname", Op: "removed", Before: "a"},
		{Path: "attributes.serial", Op: "added", After: "S"},
		{Path: "components.interfaces[1].index", Op: "removed", Before: float64(1)},
		{Path: "components.interfaces[1].name", Op: "removed", Before: "eth0"},
		{Path: "components.interfaces[1].speed", Op: "removed", Before: float64(1000)},
		{Path: "components.interfaces[2].speed", Op: "changed", Before: float64(1000), After: float64(10000)},
		{Path: "components.interfaces[3].index", Op: "added", After: float64(3)},
		{Path: "components.interfaces[3].name", Op: "added", After: "eth2"},
		{Path: "components.interfaces[3].speed", Op: "added", After: float64(1000)},
	}, got, "components are matched by key, not by position")

	// A snapshot read back from JSON (numbers as float64) equals the
	// original: no change is invented by the round trip.
	data, err := json.Marshal(after)
	require.NoError(t, err)
	var back kpi.Inventory
	require.NoError(t, json.Unmarshal(data, &back))
	require.Empty(t, Diff(back, after))
}
