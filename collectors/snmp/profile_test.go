package snmp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/configs"
)

func TestBuiltinProfilesLoad(t *testing.T) {
	lib, err := LoadLibrary(configs.SNMPProfiles())
	require.NoError(t, err)
	for _, name := range []string{"system", "if-mib", "host-resources", "ucd-snmp", "entity", "ups-mib", "apc",
		"printer-mib", "cisco", "hpe", "juniper", "synology", "netapp", "dell",
		"entity-sensor", "cisco-entity-sensor", "lm-sensors", "juniper-dom"} {
		_, ok := lib.Get(name)
		require.True(t, ok, "built-in profile %s missing", name)
	}
}

func TestAutoSelection(t *testing.T) {
	lib, err := LoadLibrary(configs.SNMPProfiles())
	require.NoError(t, err)
	names := func(ps []*Profile) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	tests := []struct {
		sysObjectID string
		detected    map[string]bool
		first       string
		has, hasNot []string
	}{
		{".1.3.6.1.4.1.9.1.2694", nil, "cisco", []string{"system", "if-mib"}, []string{"juniper", "ups-mib"}},
		{"1.3.6.1.4.1.2636.1.1.1.4.82.5", nil, "juniper", []string{"system"}, []string{"cisco"}},
		{".1.3.6.1.4.1.318.1.3.27", nil, "apc", nil, []string{"cisco"}},
		{".1.3.6.1.4.1.789.2.3", nil, "netapp", nil, nil},
		{".1.3.6.1.4.1.674.10892.5", nil, "dell", nil, nil},
		{".1.3.6.1.4.1.47196.4.1.1.1.254", nil, "hpe", nil, nil},
		// Synology answers with the net-snmp sysObjectID; its model OID finds it.
		{".1.3.6.1.4.1.8072.3.2.10", map[string]bool{".1.3.6.1.4.1.6574.1": true}, "synology", []string{"host-resources"}, nil},
		// Sensor tables are read only where the device answers them.
		{".1.3.6.1.4.1.9.1.2694", nil, "cisco", nil, []string{"entity-sensor", "cisco-entity-sensor", "lm-sensors", "juniper-dom"}},
		{".1.3.6.1.4.1.9.1.2694", map[string]bool{".1.3.6.1.4.1.9.9.91.1.1.1.1.1": true}, "cisco", []string{"cisco-entity-sensor"}, []string{"entity-sensor"}},
		{".1.3.6.1.4.1.30065.1.3011", map[string]bool{".1.3.6.1.2.1.99.1.1.1.1": true}, "", []string{"entity-sensor"}, []string{"cisco-entity-sensor"}},
		{".1.3.6.1.4.1.8072.3.2.10", map[string]bool{".1.3.6.1.4.1.2021.13.16": true}, "", []string{"lm-sensors"}, nil},
		{".1.3.6.1.4.1.2636.1.1.1.2.82", map[string]bool{".1.3.6.1.4.1.2636.3.60.1.1.1.1.5": true}, "juniper", []string{"juniper-dom"}, nil},
		// A prefix must end at a dot: .1.3.6.1.4.1.90 is not Cisco (.9).
		{".1.3.6.1.4.1.90.1", nil, "", nil, []string{"cisco"}},
	}
	for _, tt := range tests {
		got := names(lib.Auto(tt.sysObjectID, "", tt.detected))
		if tt.first != "" {
			require.Equal(t, tt.first, got[0], "%s: %v", tt.sysObjectID, got)
		}
		require.Subset(t, got, tt.has, tt.sysObjectID)
		for _, n := range tt.hasNot {
			require.NotContains(t, got, n, tt.sysObjectID)
		}
	}
}

// TestAutoSelectionBySysDescr: a device whose sysObjectID is generic
// (net-snmp's) or another vendor's is recognised by its sysDescr, and such
// a profile comes after the sysObjectID matches and before the detected
// and generic ones.
func TestAutoSelectionBySysDescr(t *testing.T) {
	lib, err := LoadLibrary(configs.SNMPProfiles())
	require.NoError(t, err)
	names := func(ps []*Profile) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	const netSNMP = ".1.3.6.1.4.1.8072.3.2.10"
	tests := []struct {
		name, sysObjectID, sysDescr string
		detected                    map[string]bool
		first                       string
		hasNot                      []string
	}{
		{"truenas with net-snmp's sysObjectID", netSNMP, "TrueNAS-SCALE-24.04.2.2. Hardware: x86_64 Intel(R) Core(TM) i7-4790 CPU @ 3.60GHz. Software: Linux 6.6.32", nil, "truenas-identity", nil},
		{"edgeswitch with Broadcom's sysObjectID", ".1.3.6.1.4.1.4413", "EdgeSwitch 24-Port 250W, 1.8.0.5106045, Linux 3.6.5-1b505fb7, 0.0.0.0000000", nil, "ubiquiti-identity", nil},
		{"a plain Linux host", netSNMP, "Linux host 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC x86_64", nil, "", []string{"truenas-identity", "ubiquiti-identity"}},
		{"no sysDescr", netSNMP, "", nil, "", []string{"truenas-identity", "ubiquiti-identity"}},
		{"sys_descr before detect", netSNMP, "FreeNAS-11.3-U2.1 (6a6a2dfda7). Hardware: amd64", map[string]bool{".1.3.6.1.2.1.47.1.1.1.1": true}, "truenas-identity", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(lib.Auto(tt.sysObjectID, tt.sysDescr, tt.detected))
			if tt.first != "" {
				require.Equal(t, tt.first, got[0], "%v", got)
			}
			for _, n := range tt.hasNot {
				require.NotContains(t, got, n)
			}
			require.Contains(t, got, "host-resources", "generic profiles stay selected")
		})
	}
}

func TestSysDescrPatternIsValidated(t *testing.T) {
	_, err := ParseProfile([]byte("name: bad\nmatch: {sys_descr: ['(']}\ninventory: [{name: model, value: x}]\n"), "bad.yaml")
	require.ErrorContains(t, err, "match.sys_descr[0]")
}

func TestProfilesDirOverridesBuiltin(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte(`
name: system
description: replaced
match: {always: true}
inventory:
  - {name: sys_name, oid: 1.3.6.1.2.1.1.5.0}
`), 0o644))
	lib, err := LoadLibrary(configs.SNMPProfiles(), dir)
	require.NoError(t, err)
	p, _ := lib.Get("system")
	require.Equal(t, "replaced", p.Description)
	require.Equal(t, filepath.Join(dir, "mine.yaml"), p.Source)
}

func TestProfileErrorsNameTheProblem(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"name: x\nmetrics: [{measurement: m, scalars: [{name: a, oid: sysUpTime.0, kind: gauge}]}]", "only digits"},
		{"name: x\nmetrics: [{measurement: m, scalars: [{name: a, oid: 1.3.6.1.2.1.1.3.0, kind: gauje}]}]", `kind "gauje"`},
		{"name: x\nmetrics: [{measurement: m, scalars: [{name: a, oid: 1.3.6.1.2.1.1.3.0, kind: gauge}], colums: []}]", "field colums not found"},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: a, oid: 1.3.6.1.2.1.2.2.1.5, kind: gauge, scale_by: b}]}]", `scale_by "b"`},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: a, oid: 1.3.6.1.2.1.2.2.1.5, kind: gauge}], where: [{column: z, in: ['1']}]}]", `column "z" is not defined`},
		{"name: x\ninventory: [{name: v, oid: 1.3.6.1.2.1.1.1.0, regex: 'Version [^ ]+'}]", "needs a capture group"},
		{"name: X Y\ninventory: [{name: v, value: a}]", `name "X Y"`},
		{"name: x\n", "reads nothing"},
		{"name: x\ninventory: [{name: v, value: a, oid: 1.3.6.1.2.1.1.1.0}]", "exactly one of oid, column, count and value"},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: a, oid: 1.3.6.1.2.1.2.2.1.5, kind: counter, lookup: true}]}]", "cannot be cached"},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: a, oid: 1.3.6.1.2.1.99.1.1.1.4, kind: gauge, scale_by_si_prefix: s}]}]", `scale_by_si_prefix "s": no other numeric column`},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: d, oid: 1.3.6.1.2.1.47.1.1.1.1.7, kind: tag}, {name: a, oid: 1.3.6.1.2.1.99.1.1.1.4, kind: gauge, precision_by: d}]}]", `precision_by "d": no other numeric column`},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: a, oid: 1.3.6.1.2.1.99.1.1.1.4, kind: counter, dbm_from_watts: true}]}]", "dbm_from_watts: only for gauges"},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: a, oid: 1.3.6.1.2.1.99.1.1.1.4, kind: gauge, valid: [5, 1]}]}]", "valid: a gauge's [min, max]"},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: d, oid: 1.3.6.1.2.1.47.1.1.1.1.7, kind: tag}], where: [{column: d, match: '(rx'}]}]", "match: error parsing regexp"},
		{"name: x\nmetrics: [{measurement: m, columns: [{name: d, oid: 1.3.6.1.2.1.47.1.1.1.1.7, kind: tag}], where: [{column: d, in: ['1'], match: 'rx'}]}]", "set exactly one of in, not_in and match"},
	}
	for _, tt := range tests {
		_, err := ParseProfile([]byte(tt.yaml), "test.yaml")
		require.ErrorContains(t, err, tt.want, tt.yaml)
		require.ErrorContains(t, err, "test.yaml")
	}
}

func FuzzParseProfile(f *testing.F) {
	entries, err := os.ReadDir("../../configs/snmp")
	require.NoError(f, err)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".yaml" {
			data, err := os.ReadFile(filepath.Join("../../configs/snmp", e.Name()))
			require.NoError(f, err)
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(data, "fuzz.yaml")
		if err != nil {
			return
		}
		// A profile that parses must compile into a plan without panicking.
		newPlan([]*Profile{p})
	})
}
