package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/kpilot/kpilot/bench/internal/benchenv"
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
		agents = append(agents, fmt.Sprintf("udp://127.0.0.1:%d", p))
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
	text := benchenv.TelegrafConfig(agents, time.Minute)
	if name == "base" { // start-up: one device, one value
		text = benchenv.TelegrafStartupConfig(agents[0])
	}
	conf := filepath.Join(dir, "telegraf-"+name+".conf")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return 0, 0, err
	}
	cmd := exec.CommandContext(ctx, bin, "--config", conf, "--once")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("telegraf: %w\n%s", err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), float64(ru.Maxrss) / 1024, nil
}
