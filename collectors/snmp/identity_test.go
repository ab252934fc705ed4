package snmp

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/devenv"
)

// TestApplianceIdentityFromVendorOID polls a real net-snmp agent, which
// answers with the generic sysObjectID and a Linux sysDescr, as Check
// Point, Sophos or IBM IMM appliances do. A profile selected by its
// sys_descr pattern reads the version from an OID of the agent's own MIB
// (net-snmp's versionTag standing in for a vendor's version), and that
// wins over the kernel version parsed out of sysDescr, even where the
// guessing profile comes first.
func TestApplianceIdentityFromVendorOID(t *testing.T) {
	s := devenv.SNMP(t)
	descr := snmpWalk(t, s, ".1.3.6.1.2.1.1")[".1.3.6.1.2.1.1.1.0"]
	kernel := regexp.MustCompile(`^Linux \S+ (\S+)`).FindStringSubmatch(descr)
	require.Len(t, kernel, 2, "snmpd's sysDescr %q names a Linux kernel", descr)
	vendorVersion := snmpWalk(t, s, ".1.3.6.1.4.1.2021.100")[".1.3.6.1.4.1.2021.100.2.0"] // versionTag
	require.NotEmpty(t, vendorVersion)
	require.NotEqual(t, kernel[1], vendorVersion)

	profiles := map[string]string{
		// Sorted first among the sys_descr matches: without guess, its
		// sysDescr version would win.
		"aaa-guess.yaml": `
name: aaa-guess
match: {sys_descr: ['^Linux ']}
inventory:
  - {name: os_version, oid: 1.3.6.1.2.1.1.1.0, regex: '^Linux \S+ (\S+)', guess: true}
`,
		"appliance.yaml": `
name: appliance
match: {sys_descr: ['^Linux ']}
inventory:
  - {name: manufacturer, value: Acme}
  - {name: os_version, oid: 1.3.6.1.4.1.2021.100.2.0}
`,
		"other.yaml": `
name: other
match: {sys_descr: ['^NoSuchOS ']}
inventory:
  - {name: model, value: never}
`,
	}
	tests := []struct {
		name      string
		files     []string
		version   string
		selected  []string
		unchosen  []string
		wantMaker any
	}{
		{"vendor OID wins over the guesses", []string{"aaa-guess.yaml", "appliance.yaml", "other.yaml"}, vendorVersion, []string{"aaa-guess", "appliance"}, []string{"other"}, "Acme"},
		{"the guess where no vendor OID has a value", []string{"aaa-guess.yaml", "other.yaml"}, kernel[1], []string{"aaa-guess"}, []string{"other"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(profiles[f]), 0o644))
			}
			cfg := testConfig(func(c *Config) { c.ProfilesDir = []string{dir} })
			sink, err := collectortest.CollectOnce(t, newCollector(t, cfg, s.Addr()))
			require.NoError(t, err)
			require.Len(t, sink.Inventories, 1)
			attrs := sink.Inventories[0].Attributes
			require.Equal(t, tt.version, attrs["os_version"])
			require.Equal(t, tt.wantMaker, attrs["manufacturer"])
			require.NotContains(t, attrs, "model")
			require.Subset(t, attrs["snmp_profiles"], tt.selected)
			for _, n := range tt.unchosen {
				require.NotContains(t, attrs["snmp_profiles"], n)
			}
		})
	}
}
