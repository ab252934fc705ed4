// Package benchenv holds what the benchmarks under bench/ share: simulated
// SNMP devices (one snmpd answering on many UDP ports), Telegraf's
// configuration for the same columns, and a process's CPU time and
// memory read from /proc.
package benchenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/snmp"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// StartSnmpd runs one snmpd answering on n UDP ports of 127.0.0.1: n
// devices as far as a collector can tell. dir holds its config and
// state. stop ends it.
func StartSnmpd(ctx context.Context, dir string, n int) (ports []int, stop func(), err error) {
	bin, err := devenv.SnmpdPath()
	if err != nil {
		return nil, nil, err
	}
	var addrs []string
	for len(ports) < n {
		p, err := devenv.FreePort("udp")
		if err != nil {
			return nil, nil, err
		}
		if slices.Contains(ports, p) {
			continue
		}
		ports = append(ports, p)
		addrs = append(addrs, fmt.Sprintf("udp:127.0.0.1:%d", p))
	}
	conf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(conf, []byte("rocommunity public 127.0.0.1\n"), 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "persist"), 0o755); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "-f", "-Lf", "/dev/null", "-C", "-c", conf, "-r", "-p", filepath.Join(dir, "snmpd.pid"), strings.Join(addrs, ","))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=")
	p, err := devenv.Start("snmpd", cmd, nil)
	if err != nil {
		return nil, nil, err
	}
	cfg := snmp.BenchConfig([]string{"system"}, nil)
	cfg.Targets = []collectors.Target{{Address: fmt.Sprintf("127.0.0.1:%d", ports[n-1]), Asset: "probe"}}
	cfg.Timeout = yamlconf.Duration(time.Second)
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	c, err := cfg.New(cfg.Targets[0], collectors.Options{})
	if err != nil {
		return nil, nil, err
	}
	err = p.WaitFor(ctx, 30*time.Second, func() error { return c.Collect(ctx, discard{}) })
	if err != nil {
		_ = p.Stop()
		return nil, nil, err
	}
	return ports, func() { _ = p.Stop() }, nil
}

// discard is a collectors.Sink that keeps nothing.
type discard struct{}

func (discard) Sample(kpi.Sample)       {}
func (discard) Inventory(kpi.Inventory) {}
func (discard) Error(error)             {}

// ValuesPerPoll polls one device twice with the snmp collector reading
// profiles (from profilesDir) and returns the values of the second, a
// steady poll (the first also reads lookups and inventory): what each of
// the simulated devices answers per poll.
func ValuesPerPoll(ctx context.Context, port int, profiles, profilesDir []string) (int, error) {
	cfg := snmp.BenchConfig(profiles, profilesDir)
	cfg.Targets = []collectors.Target{{Address: fmt.Sprintf("127.0.0.1:%d", port), Asset: "probe"}}
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	c, err := cfg.New(cfg.Targets[0], collectors.Options{})
	if err != nil {
		return 0, err
	}
	for range 2 {
		if err := c.Collect(ctx, discard{}); err != nil {
			return 0, err
		}
	}
	_, v := c.(interface{ Stats() (int, int) }).Stats()
	return v, nil
}

// TelegrafConfig is a Telegraf configuration polling agents (udp://host:port)
// every interval with inputs.snmp for the columns of the default bench
// profiles (system's uptime, if-mib's every-run columns, bench-software's
// two), writing to outputs.discard.
func TelegrafConfig(agents []string, interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[agent]\n  interval = %q\n  omit_hostname = true\n  snmp_translator = \"gosmi\"\n[[outputs.discard]]\n", interval.String())
	quoted := make([]string, len(agents))
	for i, a := range agents {
		quoted[i] = strconv.Quote(a)
	}
	fmt.Fprintf(&b, `[[inputs.snmp]]
  agents = [%s]
  version = 2
  community = "public"
  timeout = "30s"
  retries = 1
  max_repetitions = 25
  [[inputs.snmp.field]]
    name = "uptime"
    oid = ".1.3.6.1.2.1.1.3.0"
`, strings.Join(quoted, ", "))
	b.WriteString(telegrafTables())
	return b.String()
}

// TelegrafStartupConfig polls one value of one agent: Telegraf's start-up
// cost, which a --once run subtracts.
func TelegrafStartupConfig(agent string) string {
	return fmt.Sprintf("[agent]\n  interval = \"60s\"\n  omit_hostname = true\n  snmp_translator = \"gosmi\"\n[[outputs.discard]]\n"+
		"[[inputs.snmp]]\n  agents = [%q]\n  version = 2\n  [[inputs.snmp.field]]\n    name = \"uptime\"\n    oid = \".1.3.6.1.2.1.1.3.0\"\n", agent)
}

// telegrafTables reads the columns the bench profiles read: if-mib's
// every-run columns and bench-software's two.
func telegrafTables() string {
	ifColumns := []struct{ name, oid string }{
		{"in_octets", ".1.3.6.1.2.1.31.1.1.1.6"}, {"out_octets", ".1.3.6.1.2.1.31.1.1.1.10"},
		{"in_ucast_pkts", ".1.3.6.1.2.1.31.1.1.1.7"}, {"out_ucast_pkts", ".1.3.6.1.2.1.31.1.1.1.11"},
		{"in_multicast_pkts", ".1.3.6.1.2.1.31.1.1.1.8"}, {"out_multicast_pkts", ".1.3.6.1.2.1.31.1.1.1.12"},
		{"in_broadcast_pkts", ".1.3.6.1.2.1.31.1.1.1.9"}, {"out_broadcast_pkts", ".1.3.6.1.2.1.31.1.1.1.13"},
		{"speed", ".1.3.6.1.2.1.31.1.1.1.15"}, {"admin_status", ".1.3.6.1.2.1.2.2.1.7"},
		{"oper_status", ".1.3.6.1.2.1.2.2.1.8"}, {"in_discards", ".1.3.6.1.2.1.2.2.1.13"},
		{"in_errors", ".1.3.6.1.2.1.2.2.1.14"}, {"out_discards", ".1.3.6.1.2.1.2.2.1.19"},
		{"out_errors", ".1.3.6.1.2.1.2.2.1.20"},
	}
	var b strings.Builder
	b.WriteString("  [[inputs.snmp.table]]\n    name = \"interface\"\n")
	for _, c := range ifColumns {
		fmt.Fprintf(&b, "    [[inputs.snmp.table.field]]\n      name = %q\n      oid = %q\n", c.name, c.oid)
	}
	b.WriteString(`  [[inputs.snmp.table]]
    name = "software"
    [[inputs.snmp.table.field]]
      name = "name"
      oid = ".1.3.6.1.2.1.25.6.3.1.2"
      is_tag = true
    [[inputs.snmp.table.field]]
      name = "type"
      oid = ".1.3.6.1.2.1.25.6.3.1.4"
`)
	return b.String()
}

// CPU is a process's user and system CPU time.
type CPU struct{ User, Sys time.Duration }

// Total is user plus system time.
func (c CPU) Total() time.Duration { return c.User + c.Sys }

// ReadCPU reads a process's user and system time from /proc/<pid>/stat
// (clock ticks of 1/100 s on Linux).
func ReadCPU(pid int) (CPU, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return CPU{}, err
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return CPU{time.Duration(utime) * 10 * time.Millisecond, time.Duration(stime) * 10 * time.Millisecond}, nil
}

// Memory is a process's resident set: now (VmRSS) and its peak so far
// (VmHWM), in bytes.
type Memory struct{ RSS, HWM int64 }

// ReadMemory reads VmRSS and VmHWM from /proc/<pid>/status.
func ReadMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	var found int
	for _, l := range strings.Split(string(data), "\n") {
		for key, dst := range map[string]*int64{"VmRSS:": &m.RSS, "VmHWM:": &m.HWM} {
			if v, ok := strings.CutPrefix(l, key); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err != nil {
					return Memory{}, fmt.Errorf("%s in /proc/%d/status: %w", key, pid, err)
				}
				*dst = kb << 10
				found++
			}
		}
	}
	if found != 2 {
		return Memory{}, errors.New("no VmRSS or VmHWM in /proc status")
	}
	return m, nil
}

// Value returns the value of "key: value" in a command's output (kpilot-server
// bootstrap prints the ids it made so), or "".
func Value(out, key string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Get fetches u and says why it is not 200 OK: a readiness check.
func Get(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return nil
}
