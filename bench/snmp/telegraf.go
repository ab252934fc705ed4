package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// runTelegraf polls the same targets with Telegraf's inputs.snmp, reading
// the same columns, once (telegraf --once), and reports its CPU time and
// peak memory from the process's rusage. A run against no agents measures
// Telegraf's start-up, which is subtracted from the CPU time.
func runTelegraf(ctx context.Context, bin, dir string, ports []int, profiles []string, valuesPerRound int) error {
	if !slices.Contains(profiles, "bench-software") {
		return fmt.Errorf("the Telegraf comparison reads the default profiles only")
	}
	var agents []string
	for _, p := range ports {
		agents = append(agents, fmt.Sprintf("%q", fmt.Sprintf("udp://127.0.0.1:%d", p)))
	}
	base, _, err := telegrafOnce(ctx, bin, dir, "base", agents[:1])
	if err != nil {
		return err
	}
	cpu, rss, err := telegrafOnce(ctx, bin, dir, "snmp", agents)
	if err != nil {
		return err
	}
	net := cpu - base
	fmt.Printf("telegraf: one round of %d devices: CPU %.2fs (%.2fs after subtracting %.2fs start-up), peak RSS %.1f MB\n",
		len(ports), cpu.Seconds(), net.Seconds(), base.Seconds(), rss)
	fmt.Printf("telegraf: %.0f values per CPU-second (same %d values per round as kpilot)\n",
		float64(valuesPerRound)/net.Seconds(), valuesPerRound)
	return nil
}

func telegrafOnce(ctx context.Context, bin, dir, name string, agents []string) (time.Duration, float64, error) {
	var b strings.Builder
	b.WriteString("[agent]\n  interval = \"60s\"\n  omit_hostname = true\n  snmp_translator = \"gosmi\"\n[[outputs.discard]]\n")
	if name == "base" { // start-up: one device, one value
		fmt.Fprintf(&b, "[[inputs.snmp]]\n  agents = [%s]\n  version = 2\n  [[inputs.snmp.field]]\n    name = \"uptime\"\n    oid = \".1.3.6.1.2.1.1.3.0\"\n", agents[0])
	} else {
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
`, strings.Join(agents, ", "))
		b.WriteString(telegrafTables())
	}
	conf := filepath.Join(dir, "telegraf-"+name+".conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		return 0, 0, err
	}
	cmd := exec.CommandContext(ctx, bin, "--config", conf, "--once")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("telegraf: %w\n%s", err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), float64(ru.Maxrss) / 1024, nil
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
