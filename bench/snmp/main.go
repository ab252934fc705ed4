// Command snmp benchmarks the SNMP collector against snmpd on loopback:
// many simulated devices (one snmpd answering on many UDP ports), polled
// concurrently like the agent does, with samples encoded into wire batches
// as the agent's batcher does. It reports values per CPU-second and per
// wall-second and the peak resident memory of this process, and with
// -telegraf the same figures for Telegraf's inputs.snmp on the same
// targets. Results and how to reproduce them: bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kpilot/kpilot/bench/internal/benchenv"
	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/snmp"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
)

func main() {
	devices := flag.Int("devices", 100, "simulated devices (snmpd ports)")
	rounds := flag.Int("rounds", 5, "measured polling rounds after one warm-up round")
	workers := flag.Int("workers", 16, "devices polled at once (the agent polls 16 targets at once)")
	profiles := flag.String("profiles", "system,if-mib,bench-software", "profiles to read")
	telegraf := flag.String("telegraf", "", "path of a telegraf binary to compare with (optional)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured rounds here")
	memProfile := flag.String("memprofile", "", "write an allocation profile here at the end")
	flag.Parse()
	if snmp.GosnmpDebugCompiled {
		log.Print("warning: built without -tags gosnmp_nodebug, unlike releases; figures are about 10% low")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*devices, *rounds, *workers, strings.Split(*profiles, ","), *telegraf); err != nil {
		log.Print(err)
		os.Exit(1)
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			log.Fatal(err)
		}
	}
}

func run(devices, rounds, workers int, profiles []string, telegraf string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kpilot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ports, stop, err := benchenv.StartSnmpd(ctx, dir, devices)
	if err != nil {
		return err
	}
	defer stop()

	cfg := snmp.BenchConfig(profiles, []string{"bench/snmp/profiles"})
	var cs []collectors.Collector
	for i, p := range ports {
		t := collectors.Target{Address: fmt.Sprintf("127.0.0.1:%d", p), Asset: fmt.Sprintf("dev-%d", i)}
		cfg.Targets = append(cfg.Targets, t)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	shared := &collectors.Shared{} // the SNMP sessions kept between polls, as in the agent
	for _, t := range cfg.Targets {
		c, err := cfg.New(t, collectors.Options{Shared: shared})
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}

	// Warm-up: the first run of every device reads lookups and inventory.
	t0 := time.Now()
	hints := make([]int, len(cs)) // bytes each device's last poll encoded, as the agent keeps
	wv, _, err := pollAll(ctx, cs, workers, hints)
	if err != nil {
		return err
	}
	fmt.Printf("kpilot: first (refresh) round: %d values (%d per device) in %.2fs\n", wv, wv/devices, time.Since(t0).Seconds())
	runtime.GC()
	cpu0 := cpuTime()
	start := time.Now()
	var values, samples int
	var slowest time.Duration
	for r := 0; r < rounds; r++ {
		t0 := time.Now()
		v, s, err := pollAll(ctx, cs, workers, hints)
		if err != nil {
			return err
		}
		values += v
		samples += s
		slowest = max(slowest, time.Since(t0))
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	fmt.Printf("kpilot: %d devices, %d rounds, %d values (%d per device per round), %d samples\n",
		devices, rounds, values, values/devices/rounds, samples)
	fmt.Printf("kpilot: %.0f values per CPU-second, %.0f values per wall-second, slowest round %.2fs, CPU %.2fs, peak RSS %.1f MB, GOMAXPROCS %d\n",
		float64(values)/cpu.Seconds(), float64(values)/wall.Seconds(), slowest.Seconds(), cpu.Seconds(), maxRSSMB(), runtime.GOMAXPROCS(0))
	if telegraf != "" {
		return runTelegraf(ctx, telegraf, dir, ports, profiles, values/rounds)
	}
	return nil
}

// pollAll polls every collector once, workers at a time, and encodes each
// device's samples into a wire batch as the agent does.
func pollAll(ctx context.Context, cs []collectors.Collector, workers int, hints []int) (values, samples int, err error) {
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sink := &countSink{}
			sink.enc.Grow(hints[i])
			pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			err := c.Collect(pctx, sink)
			lines := sink.enc.Lines()
			if err == nil {
				err = sink.err
				data, _ := sink.enc.Take()
				hints[i] = len(data)
				wire.BatchOf(data, sink.inv)
			}
			_, v := c.(interface{ Stats() (int, int) }).Stats()
			mu.Lock()
			defer mu.Unlock()
			values += v
			samples += lines
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return 0, 0, fmt.Errorf("%d polls failed, first: %w", len(errs), errs[0])
	}
	return values, samples, nil
}

// countSink encodes what a poll reports as the agent's sink does: rows
// and samples into line protocol as they come.
type countSink struct {
	enc wire.Encoder
	inv []kpi.Inventory
	err error // the first sample refused
}

func (s *countSink) Sample(x kpi.Sample)       { s.took(s.enc.Sample(x)) }
func (s *countSink) Row(r *kpi.Row)            { s.took(s.enc.Row(r)) }
func (s *countSink) Inventory(x kpi.Inventory) { s.inv = append(s.inv, x) }
func (s *countSink) Error(err error)           { log.Printf("partial error: %v", err) }

func (s *countSink) took(err error) {
	if err != nil && s.err == nil {
		s.err = err
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func maxRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}
