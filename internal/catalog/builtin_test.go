package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
)

// TestBuiltinLoads holds the shipped definitions (configs/kpis, the SNMP
// profiles and REST templates) to no error: every text in English and
// German, known units and kinds, shared measurements named once and
// defined alike wherever they appear.
func TestBuiltinLoads(t *testing.T) {
	c, err := catalog.Builtin()
	require.NoError(t, err)
	require.NotZero(t, c.Len())
	for _, m := range c.Measurements() {
		require.NotEmpty(t, m.Name.DE, "measurement %s: German name", m.Measurement)
	}
	// What server/visibility has always treated as service data stays so
	// when it reads the class from the catalog: health events, a BMC's
	// server_health and every health code.
	for _, d := range c.Definitions() {
		if d.Measurement == "health_event" || d.Measurement == "server_health" ||
			d.Field == "health_code" || strings.HasSuffix(d.Field, "_health_code") {
			require.True(t, d.ServiceOnly(), "%s.%s: class %s, not service", d.Measurement, d.Field, d.Class)
		}
	}
}
