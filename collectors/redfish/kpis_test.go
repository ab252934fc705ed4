package redfish

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/redfishmock"
)

// TestMockupFieldsAreDefined polls every vendor mockup (an inventory run
// with its events, then a readings-only run) and holds every field of
// every sample to a definition in the built-in catalog
// (configs/kpis/redfish.yaml and common.yaml).
func TestMockupFieldsAreDefined(t *testing.T) {
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	mockups := redfishmock.Mockups()
	require.NotEmpty(t, mockups)
	for _, name := range mockups {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, srv := bmcServer(t, name, redfishmock.Options{})
			col := newCollector(t, testConfig(t, srv, nil))
			missing := map[string]bool{}
			measurements := map[string]bool{}
			for range 2 {
				s, err := collectortest.CollectOnce(t, col)
				require.NoError(t, err)
				for _, x := range s.Samples {
					measurements[x.Measurement] = true
					for f := range x.Fields {
						if _, ok := cat.Lookup(x.Measurement, f); !ok {
							missing[x.Measurement+"."+f] = true
						}
					}
				}
			}
			require.Subset(t, slices.Collect(maps.Keys(measurements)), []string{"server_health", "temperature", "power"})
			require.Empty(t, slices.Sorted(maps.Keys(missing)), "%s: fields without a KPI definition", name)
		})
	}
}
