package snmp

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

func newCollector(t *testing.T, cfg *Config, addr string) collectors.Collector {
	t.Helper()
	cfg.Targets = []collectors.Target{{Address: addr, Asset: "host-1", Labels: map[string]string{"site": "lab"}}}
	cfg.Timeout = yamlconf.Duration(5 * time.Second)
	require.NoError(t, cfg.Validate())
	c, err := cfg.New(cfg.Targets[0], collectors.Options{})
	require.NoError(t, err)
	return c
}

// snmpWalkCount counts rows of a column with net-snmp's own snmpwalk, the
// independent reference for what the collector must find.
func snmpWalkCount(t *testing.T, s *devenv.Snmpd, oid string) int {
	t.Helper()
	out, err := exec.Command("snmpwalk", "-v2c", "-c", s.Community, "-On", "-Oq", s.Addr(), oid).Output()
	require.NoError(t, err, "snmpwalk: %s", out)
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, oid+".") {
			n++
		}
	}
	require.Positive(t, n, "snmpwalk found no rows under %s", oid)
	return n
}

func TestCollectFromSnmpd(t *testing.T) {
	s := devenv.SNMP(t)
	wantIfaces := snmpWalkCount(t, s, ".1.3.6.1.2.1.2.2.1.1")

	tests := []struct {
		name string
		cfg  *Config
	}{
		{"v1 getnext", &Config{Version: "1", Community: "public", Retries: 1, MaxRepetitions: 10, Walk: "getnext"}},
		{"v2c bulk", &Config{Version: "2c", Community: "public", Retries: 1, MaxRepetitions: 10}},
		{"v3 authPriv SHA/AES", &Config{Version: "3", Username: s.V3User, SecurityLevel: "auth_priv",
			AuthProtocol: "sha", AuthPassword: yamlconf.Secret(s.V3AuthPass),
			PrivProtocol: "aes", PrivPassword: yamlconf.Secret(s.V3PrivPass), Retries: 1, MaxRepetitions: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, err := collectortest.CollectOnce(t, newCollector(t, tt.cfg, s.Addr()))
			require.NoError(t, err)
			require.Empty(t, sink.Errors)

			sys := sink.Find("system")
			require.Len(t, sys, 1)
			require.Greater(t, sys[0].Fields["uptime_seconds"].(float64), 0.0)
			require.Equal(t, "lab", sys[0].Tags["site"], "target labels become tags")

			ifs := sink.Find("interface")
			require.Len(t, ifs, wantIfaces, "got %d interface samples, want %d rows as snmpwalk sees them", len(ifs), wantIfaces)
			var lo map[string]any
			for _, x := range ifs {
				if x.Tags["ifname"] == "lo" {
					lo = x.Fields
				}
			}
			require.NotNil(t, lo, "loopback interface missing")
			require.Greater(t, lo["in_octets"].(int64), int64(0))
			require.Equal(t, int64(1), lo["oper_status"], "lo is up")

			require.Len(t, sink.Inventories, 1)
			inv := sink.Inventories[0]
			require.Equal(t, "kpilot-snmpd", inv.Attributes["sys_name"])
			require.Equal(t, "kpilot test rack", inv.Attributes["sys_location"])
			require.Len(t, inv.Components["interfaces"], wantIfaces)
		})
	}
}

func TestCollectWrongCommunityTimesOut(t *testing.T) {
	s := devenv.SNMP(t)
	cfg := &Config{Version: "2c", Community: "wrong", Retries: 0, MaxRepetitions: 10}
	c := newCollector(t, cfg, s.Addr())
	start := time.Now()
	_, err := collectortest.CollectOnce(t, c)
	require.Error(t, err)
	require.Contains(t, err.Error(), "reading system group")
	require.Less(t, time.Since(start), 10*time.Second, "a silent agent must not hang the poll")
}

func TestCollectUnreachablePort(t *testing.T) {
	port, err := devenv.FreePort("udp")
	require.NoError(t, err)
	cfg := &Config{Version: "2c", Community: "public", Retries: 0, MaxRepetitions: 10}
	c := newCollector(t, cfg, "127.0.0.1:"+strconv.Itoa(port))
	_, err = collectortest.CollectOnce(t, c)
	require.Error(t, err)
	require.Contains(t, err.Error(), fmt.Sprintf("127.0.0.1:%d", port))
}
