package snmp

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// TestKeptSessionsPollOtherTargets: the targets of one entry poll through
// the sessions the entry keeps (v1 and v2c), each with the settings of its
// own target: a kept session that polled one snmpd polls another, or
// fails for a target that does not answer, and then polls the first again
// with the same results. SNMPv3 sessions are not kept.
func TestKeptSessionsPollOtherTargets(t *testing.T) {
	a, b := devenv.SNMP(t), devenv.SNMP(t)
	cfg := testConfig(func(c *Config) {
		c.Profiles = []string{"system", "if-mib"}
		c.Timeout = yamlconf.Duration(2 * time.Second)
	})
	cfg.Targets = []collectors.Target{{Address: a.Addr(), Asset: "a"}, {Address: b.Addr(), Asset: "b"}, {Address: "127.0.0.1:9", Asset: "none"}}
	require.NoError(t, cfg.Validate())
	shared := &collectors.Shared{}
	pool := agentSessions(shared)
	var used []requester
	collector := func(i int) *collector {
		c, err := cfg.New(cfg.Targets[i], collectors.Options{Shared: shared})
		require.NoError(t, err)
		col := c.(*collector)
		dial := col.dial
		col.dial = func(ctx context.Context, g *gosnmp.GoSNMP) (requester, func() error, error) {
			r, closeFn, err := dial(ctx, g)
			if err == nil {
				used = append(used, r)
			}
			return r, closeFn, err
		}
		return col
	}
	first, err := collectortest.CollectOnce(t, collector(0))
	require.NoError(t, err)
	require.Empty(t, first.Errors)
	require.Len(t, pool.free, 1, "the session is kept")

	other, err := collectortest.CollectOnce(t, collector(1))
	require.NoError(t, err)
	require.Empty(t, other.Errors)
	require.Same(t, used[0], used[1], "the second target polled through the kept session")
	require.Equal(t, "b", other.Find("system")[0].Asset)

	_, err = collectortest.CollectOnce(t, collector(2))
	require.Error(t, err, "nothing answers on port 9")
	require.Len(t, pool.free, 1, "a failed poll's session is kept too")

	again, err := collectortest.CollectOnce(t, collector(0))
	require.NoError(t, err)
	require.Empty(t, again.Errors)
	require.Same(t, used[0], used[len(used)-1])
	require.Equal(t, len(first.Find("interface")), len(again.Find("interface")))
	require.Equal(t, first.Find("system")[0].Tags, again.Find("system")[0].Tags)

	v3 := testConfig(func(c *Config) {
		c.Profiles = []string{"system"}
		c.Version, c.Username, c.SecurityLevel = "3", a.V3User, "auth_priv"
		c.AuthProtocol, c.AuthPassword = "sha", yamlconf.Secret(a.V3AuthPass)
		c.PrivProtocol, c.PrivPassword = "aes", yamlconf.Secret(a.V3PrivPass)
	})
	v3.Targets = []collectors.Target{{Address: a.Addr(), Asset: "a"}}
	require.NoError(t, v3.Validate())
	v3Shared := &collectors.Shared{}
	for range 2 {
		c, err := v3.New(v3.Targets[0], collectors.Options{Shared: v3Shared})
		require.NoError(t, err)
		sink, err := collectortest.CollectOnce(t, c)
		require.NoError(t, err)
		require.NotEmpty(t, sink.Find("system"))
	}
	require.Empty(t, agentSessions(v3Shared).free, "SNMPv3 connects every time")

	// The entries of one agent share its sessions.
	second := testConfig(func(c *Config) { c.Profiles = []string{"system"} })
	second.Targets = []collectors.Target{{Address: b.Addr(), Asset: "b2"}}
	require.NoError(t, second.Validate())
	c, err := second.New(second.Targets[0], collectors.Options{Shared: shared})
	require.NoError(t, err)
	_, err = collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Len(t, pool.free, 1, "another entry of the agent polled through the same kept session")
}

// agentSessions returns the sessions kept in shared.
func agentSessions(shared *collectors.Shared) *sessions {
	return shared.Get(sessionsKey{}, func() any { return newSessions() }).(*sessions)
}

// TestKeptSessionsSaveTheReceiveBuffer: a poll through a kept session
// allocates at least 48 KiB less than one that connects anew, which
// allocates gosnmp's 64 KiB receive buffer.
func TestKeptSessionsSaveTheReceiveBuffer(t *testing.T) {
	s := devenv.SNMP(t)
	perPoll := func(keep bool) uint64 {
		cfg := testConfig(func(c *Config) { c.Profiles = []string{"system"} })
		cfg.Targets = []collectors.Target{{Address: s.Addr(), Asset: "host-1"}}
		require.NoError(t, cfg.Validate())
		opts := collectors.Options{}
		if keep {
			opts.Shared = &collectors.Shared{}
		}
		c, err := cfg.New(cfg.Targets[0], opts)
		require.NoError(t, err)
		col := c.(*collector)
		_, err = collectortest.CollectOnce(t, col) // the lookups, and the kept session's buffer
		require.NoError(t, err)
		const polls = 10
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range polls {
			_, err := collectortest.CollectOnce(t, col)
			require.NoError(t, err)
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / polls
	}
	fresh, kept := perPoll(false), perPoll(true)
	t.Logf("bytes allocated per poll: %d connecting anew, %d through a kept session", fresh, kept)
	require.Greater(t, fresh, kept+48<<10, fmt.Sprintf("fresh %d, kept %d", fresh, kept))
}
