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
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// testConfig is the defaults with changes.
func testConfig(change func(*Config)) *Config {
	c := newConfig().(*Config)
	c.Retries = 1
	c.MaxRepetitions = 10
	if change != nil {
		change(c)
	}
	return c
}

func newCollector(t *testing.T, cfg *Config, addr string) *collector {
	t.Helper()
	cfg.Targets = []collectors.Target{{Address: addr, Asset: "host-1", Labels: map[string]string{"site": "lab"}}}
	if cfg.Timeout == 0 {
		cfg.Timeout = yamlconf.Duration(5 * time.Second)
	}
	require.NoError(t, cfg.Validate())
	c, err := cfg.New(cfg.Targets[0], collectors.Options{})
	require.NoError(t, err)
	return c.(*collector)
}

// snmpWalk reads a subtree with net-snmp's own snmpwalk, the independent
// reference for what the collector must find: OID -> value.
func snmpWalk(t *testing.T, s *devenv.Snmpd, oid string) map[string]string {
	t.Helper()
	out, err := exec.Command("snmpwalk", "-v2c", "-c", s.Community, "-On", "-Oq", "-Ot", s.Addr(), oid).Output()
	require.NoError(t, err, "snmpwalk: %s", out)
	rows := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if ok && strings.HasPrefix(name, oid+".") {
			rows[name] = strings.Trim(value, `"`)
		}
	}
	return rows
}

func TestCollectFromSnmpd(t *testing.T) {
	s := devenv.SNMP(t)
	wantIfaces := len(snmpWalk(t, s, ".1.3.6.1.2.1.2.2.1.1"))
	require.Positive(t, wantIfaces)
	wantStorage := 0
	for _, typ := range snmpWalk(t, s, ".1.3.6.1.2.1.25.2.3.1.2") {
		if strings.HasSuffix(typ, ".1.3.6.1.2.1.25.2.1.4") || strings.HasSuffix(typ, ".1.3.6.1.2.1.25.2.1.10") ||
			strings.HasSuffix(typ, ".1.3.6.1.2.1.25.2.1.5") || strings.HasSuffix(typ, ".1.3.6.1.2.1.25.2.1.9") {
			wantStorage++
		}
	}
	wantCPUs := len(snmpWalk(t, s, ".1.3.6.1.2.1.25.3.3.1.2")) // may be 0 in containers

	tests := []struct {
		name string
		cfg  *Config
	}{
		{"v1 getnext", testConfig(func(c *Config) { c.Version, c.Walk = "1", "getnext" })},
		{"v2c bulk", testConfig(nil)},
		{"v2c getnext", testConfig(func(c *Config) { c.Walk = "getnext" })},
		{"v3 authPriv SHA/AES", testConfig(func(c *Config) {
			c.Version, c.Username, c.SecurityLevel = "3", s.V3User, "auth_priv"
			c.AuthProtocol, c.AuthPassword = "sha", yamlconf.Secret(s.V3AuthPass)
			c.PrivProtocol, c.PrivPassword = "aes", yamlconf.Secret(s.V3PrivPass)
		})},
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
			lo := findTag(t, ifs, "ifname", "lo")
			require.Greater(t, lo.Fields["in_octets"].(int64), int64(0))
			require.Equal(t, 1.0, lo.Fields["oper_status"], "lo is up")
			require.NotContains(t, lo.Fields, "in_octets_per_second", "no rate before a second reading")

			storage := sink.Find("storage")
			require.Len(t, storage, wantStorage)
			root := findTag(t, storage, "descr", "/")
			require.Greater(t, root.Fields["size_bytes"].(float64), 1e6)
			require.InDelta(t, 100*root.Fields["used_bytes"].(float64)/root.Fields["size_bytes"].(float64),
				root.Fields["used_percent"].(float64), 1e-9)
			require.NotEmpty(t, sink.Find("memory"))
			require.Len(t, sink.Find("cpu"), wantCPUs)
			require.NotEmpty(t, sink.Find("load"), "ucd-snmp is detected on net-snmp")
			require.NotEmpty(t, sink.Find("disk"), "includeAllDisks fills dskTable")

			require.Len(t, sink.Inventories, 1)
			inv := sink.Inventories[0]
			require.Equal(t, "kpilot-snmpd", inv.Attributes["sys_name"])
			require.Equal(t, "kpilot test rack", inv.Attributes["sys_location"])
			if wantCPUs > 0 {
				require.EqualValues(t, wantCPUs, inv.Attributes["cpu_count"])
			}
			require.Greater(t, inv.Attributes["memory_bytes"], int64(1<<20))
			require.Len(t, inv.Components["interfaces"], wantIfaces)
			require.Len(t, inv.Components["storage"], wantStorage)
			require.Contains(t, inv.Attributes["snmp_profiles"], "if-mib")
		})
	}
}

func findTag(t *testing.T, samples []kpi.Sample, tag, value string) kpi.Sample {
	t.Helper()
	for _, x := range samples {
		if x.Tags[tag] == value {
			return x
		}
	}
	require.Failf(t, "sample missing", "no sample with %s=%q in %d samples", tag, value, len(samples))
	return kpi.Sample{}
}

// Every security level and every auth/priv protocol pair against net-snmp.
func TestSNMPv3Protocols(t *testing.T) {
	s := devenv.SNMP(t)
	for _, u := range s.V3Users {
		t.Run(u.Name, func(t *testing.T) {
			cfg := testConfig(func(c *Config) {
				c.Version, c.Username, c.SecurityLevel = "3", u.Name, u.Level
				c.AuthProtocol, c.PrivProtocol = u.Auth, u.Priv
				if u.Auth != "" {
					c.AuthPassword = yamlconf.Secret(s.V3AuthPass)
				}
				if u.Priv != "" {
					c.PrivPassword = yamlconf.Secret(s.V3PrivPass)
				}
				c.Profiles = []string{"system"}
			})
			sink, err := collectortest.CollectOnce(t, newCollector(t, cfg, s.Addr()))
			require.NoError(t, err)
			require.Len(t, sink.Find("system"), 1)
			require.Equal(t, "kpilot-snmpd", sink.Inventories[0].Attributes["sys_name"])
		})
	}
}

func TestCounterRatesAcrossRuns(t *testing.T) {
	s := devenv.SNMP(t)
	c := newCollector(t, testConfig(func(c *Config) { c.Profiles = []string{"system", "if-mib"} }), s.Addr())
	_, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	// snmpd caches interface counters for a few seconds, so the rate may
	// be 0 here; its computation is tested in rate_test.go.
	lo := findTag(t, sink.Find("interface"), "ifname", "lo")
	require.GreaterOrEqual(t, lo.Fields["in_octets_per_second"].(float64), 0.0)
	require.Contains(t, lo.Fields, "in_utilization_percent")
	require.Empty(t, sink.Inventories, "inventory is sent on refresh runs, not every run")
	require.Empty(t, sink.Find("reboot"))
}

func TestWrongCommunityTimesOutWithTarget(t *testing.T) {
	s := devenv.SNMP(t)
	c := newCollector(t, testConfig(func(c *Config) { c.Community, c.Retries = "wrong", 0; c.Timeout = yamlconf.Duration(2 * time.Second) }), s.Addr())
	start := time.Now()
	_, err := collectortest.CollectOnce(t, c)
	require.Error(t, err)
	require.Contains(t, err.Error(), s.Addr())
	require.Less(t, time.Since(start), 10*time.Second, "a silent agent must not hang the poll")
}

func TestWrongV3PasswordIsReported(t *testing.T) {
	s := devenv.SNMP(t)
	c := newCollector(t, testConfig(func(c *Config) {
		c.Version, c.Username, c.SecurityLevel = "3", s.V3User, "auth_priv"
		c.AuthProtocol, c.AuthPassword = "sha", "not-the-password"
		c.PrivProtocol, c.PrivPassword = "aes", yamlconf.Secret(s.V3PrivPass)
		c.Retries = 0
	}), s.Addr())
	_, err := collectortest.CollectOnce(t, c)
	require.Error(t, err)
	require.Contains(t, err.Error(), s.Addr())
}

func TestUnreachablePortNamesTarget(t *testing.T) {
	port, err := devenv.FreePort("udp")
	require.NoError(t, err)
	c := newCollector(t, testConfig(func(c *Config) { c.Retries = 0; c.Timeout = yamlconf.Duration(time.Second) }),
		"127.0.0.1:"+strconv.Itoa(port))
	_, err = collectortest.CollectOnce(t, c)
	require.Error(t, err)
	require.Contains(t, err.Error(), fmt.Sprintf("127.0.0.1:%d", port))
}

// rowSink takes rows as the agent's sink does, and checks each against
// the sample it converts to: the same line, the same refusal.
type rowSink struct {
	collectortest.Sink
	t    *testing.T
	rows int
}

func (s *rowSink) Row(r *kpi.Row) {
	s.rows++
	var byRow, bySample wire.Encoder
	errRow, errSample := byRow.Row(r), bySample.Sample(r.Sample())
	if (errRow == nil) != (errSample == nil) || string(byRow.Bytes()) != string(bySample.Bytes()) {
		s.t.Errorf("row %q (%v) differs from its sample %q (%v)", byRow.Bytes(), errRow, bySample.Bytes(), errSample)
	}
	s.Sample(r.Sample())
}

// TestRowsFromSnmpd collects snmpd twice (the second run has rates and
// computed fields) through a sink that takes rows, as the agent does.
func TestRowsFromSnmpd(t *testing.T) {
	s := devenv.SNMP(t)
	c := newCollector(t, testConfig(nil), s.Addr())
	for run := range 2 {
		sink := &rowSink{t: t}
		require.NoError(t, c.Collect(t.Context(), sink))
		require.Empty(t, sink.Errors)
		require.Equal(t, sink.rows, len(sink.Samples), "every sample came as a row")
		require.NotEmpty(t, sink.Find("interface"))
		if run == 1 {
			lo := findTag(t, sink.Find("interface"), "ifname", "lo")
			require.Contains(t, lo.Fields, "in_octets_per_second")
			require.Equal(t, "lab", lo.Tags["site"], "target labels become tags")
		}
	}
}
