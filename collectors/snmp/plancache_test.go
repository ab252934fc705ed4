package snmp

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/devenv"
)

// The targets of one entry that poll with the same profiles share one
// plan (it is not changed once built), instead of one copy each; another
// entry builds its own.
func TestTargetsShareThePlan(t *testing.T) {
	s := devenv.SNMP(t)
	cfg := testConfig(func(c *Config) { c.Profiles = []string{"system", "if-mib"} })
	a, b := newCollector(t, cfg, s.Addr()), newCollector(t, cfg, s.Addr())
	other := newCollector(t, testConfig(func(c *Config) { c.Profiles = []string{"system"} }), s.Addr())
	for _, c := range []collectors.Collector{a, b, other} {
		_, err := collectortest.CollectOnce(t, c)
		require.NoError(t, err)
	}
	require.NotNil(t, a.st.plan)
	require.Same(t, a.st.plan, b.st.plan, "one plan for both targets")
	require.NotSame(t, a.st.plan, other.st.plan)
	require.Equal(t, "system", other.st.plan.key)
}
