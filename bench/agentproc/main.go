// Command agentproc measures the running agent as a whole process: it
// builds kpilot-server and kpilot-agent from the tree, starts influxd and
// the server, simulated SNMP devices (one snmpd answering on many UDP ports
// of 127.0.0.1), enrolls an agent and runs `kpilot-agent run` against
// them, and reads the agent's resident memory (VmRSS, VmHWM) and CPU time
// (utime + stime) from /proc after every polling cycle, once the cycle's
// samples are spooled and shipped. With -baseline it runs another agent
// binary (e.g. built from an earlier commit) the same way right after, and
// with -telegraf a Telegraf daemon polling the same devices and columns.
// Results and how to reproduce them: bench/README.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/bench/internal/benchenv"
	"github.com/kpilot/kpilot/internal/devenv"
)

type options struct {
	devices, cycles   int
	interval, timeout time.Duration
	profiles          []string
	baseline          string
	telegraf          string
	heapDir           string
	env               []string
	keep              bool
}

func main() {
	var o options
	var profiles, env string
	flag.IntVar(&o.devices, "devices", 100, "simulated devices (snmpd ports)")
	flag.IntVar(&o.cycles, "cycles", 6, "polling cycles to measure (the first, which also reads lookups and inventory, is reported apart)")
	flag.DurationVar(&o.interval, "interval", 30*time.Second, "the agent's polling interval: one cycle")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "the agent's poll timeout (at most -interval)")
	flag.StringVar(&profiles, "profiles", "system,if-mib,bench-software", "SNMP profiles to read (from bench/snmp/profiles and the built-in ones)")
	flag.StringVar(&o.baseline, "baseline", "", "also run this kpilot-agent binary (e.g. built from an earlier commit) the same way, after the tree's")
	flag.StringVar(&o.telegraf, "telegraf", "", "also run this telegraf binary as a daemon on the same devices (default profiles only)")
	flag.StringVar(&o.heapDir, "heapprofile", "", "write a heap profile of the tree's agent after every cycle into this directory (debug_listen)")
	flag.StringVar(&env, "agent-env", "", "extra environment of the tree's agent, comma-separated (e.g. GOGC=50)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.Parse()
	o.profiles = strings.Split(profiles, ",")
	if env != "" {
		o.env = strings.Split(env, ",")
	}
	if o.cycles < 2 {
		log.Fatal("-cycles: at least 2 (the first is the refresh cycle)")
	}
	if err := run(context.Background(), o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "kpilot-bench-agentproc-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("work directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	bins := map[string]string{}
	for _, name := range []string{"kpilot-server", "kpilot-agent"} {
		bins[name] = filepath.Join(dir, name)
		build := exec.Command("go", "build", "-tags", "gosnmp_nodebug", "-o", bins[name], "./cmd/"+name)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building %s (run from the repository root): %w", name, err)
		}
	}

	ports, stopSnmpd, err := benchenv.StartSnmpd(ctx, dir, o.devices)
	if err != nil {
		return err
	}
	defer stopSnmpd()
	profilesDir := filepath.Join(root, "bench", "snmp", "profiles")
	perPoll, err := benchenv.ValuesPerPoll(ctx, ports[0], o.profiles, []string{profilesDir})
	if err != nil {
		return fmt.Errorf("polling one device: %w", err)
	}
	fmt.Printf("%d devices × %d values per poll (a steady poll; the first reads lookups and inventory too), interval %s, %d cycles\n",
		o.devices, perPoll, o.interval, o.cycles)

	srv, err := startServer(ctx, dir, bins["kpilot-server"])
	if err != nil {
		return err
	}
	defer srv.stop()

	runs := []struct{ name, bin string }{{"tree", bins["kpilot-agent"]}}
	if o.baseline != "" {
		runs = append(runs, struct{ name, bin string }{"baseline", o.baseline})
	}
	var results []result
	for _, r := range runs {
		res, err := runAgent(ctx, o, srv, filepath.Join(dir, "agent-"+r.name), r.name, r.bin, ports, profilesDir, perPoll)
		if err != nil {
			return fmt.Errorf("agent %s: %w", r.name, err)
		}
		results = append(results, res)
	}
	if o.telegraf != "" {
		res, err := runTelegraf(ctx, o, dir, ports, perPoll)
		if err != nil {
			return fmt.Errorf("telegraf: %w", err)
		}
		results = append(results, res)
	}
	fmt.Printf("\n%-10s %14s %14s %16s %18s\n", "", "peak RSS (MB)", "RSS at end", "CPU-s per cycle", "values / CPU-s")
	for _, r := range results {
		fmt.Printf("%-10s %14.1f %14.1f %16.2f %18.0f\n", r.name, mb(r.peak), mb(r.last), r.steadyCPU.Seconds()/float64(r.steadyCycles),
			float64(r.steadyValues)/r.steadyCPU.Seconds())
	}
	return nil
}

// result is one daemon's run: its peak and last resident set, and its CPU
// time and the values polled over the cycles after the first.
type result struct {
	name                       string
	peak, last                 int64
	steadyCPU                  time.Duration
	steadyValues, steadyCycles int
}

// server is the kpilot-server and its influxd.
type server struct {
	base, cfg, org, bin string
	stop                func()
}

func startServer(ctx context.Context, dir, bin string) (*server, error) {
	influx, err := devenv.StartInfluxd(ctx, filepath.Join(dir, "influxd"), 0, "kpilot", nil)
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, stop: func() { _ = influx.Stop() }}
	port, err := devenv.FreePort("tcp")
	if err != nil {
		s.stop()
		return nil, err
	}
	s.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.cfg = filepath.Join(dir, "server.yaml")
	if err := devenv.RewriteConfig("configs/server.example.yaml", s.cfg,
		"127.0.0.1:8080", fmt.Sprintf("127.0.0.1:%d", port),
		"http://127.0.0.1:8086", influx.URL,
		"/var/lib/kpilot-server", filepath.Join(dir, "server"),
		"log_level: info", "log_level: warn",
		"metrics_listen: 127.0.0.1:9464", `metrics_listen: ""`,
		// Every agent of the benchmark creates its devices' assets at once.
		"new_assets_per_agent_hour: 500", "new_assets_per_agent_hour: 0"); err != nil {
		s.stop()
		return nil, err
	}
	boot, err := exec.CommandContext(ctx, bin, "bootstrap", "--config", s.cfg, "--org", "Bench GmbH", "--admin", "bench@example.com").Output()
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	s.org = benchenv.Value(string(boot), "organization_id")
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		s.stop()
		return nil, err
	}
	p, err := devenv.Start("kpilot-server", exec.Command(bin, "run", "--config", s.cfg), logf)
	if err != nil {
		s.stop()
		return nil, err
	}
	s.stop = func() { _ = p.Stop(); _ = influx.Stop(); logf.Close() }
	if err := p.WaitFor(ctx, 60*time.Second, func() error { return benchenv.Get(s.base + "/readyz") }); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// runAgent enrolls an agent with a data directory of its own and runs it
// for the cycles, reading its memory and CPU after each.
func runAgent(ctx context.Context, o options, srv *server, dir, name, bin string, ports []int, profilesDir string, perPoll int) (result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	metricsPort, err := devenv.FreePort("tcp")
	if err != nil {
		return result{}, err
	}
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  url: %s\ndata_dir: %s\nlog_level: warn\nmetrics_listen: 127.0.0.1:%d\nwatch_config: false\n", srv.base, dir, metricsPort)
	debug := ""
	if o.heapDir != "" && name == "tree" {
		debugPort, err := devenv.FreePort("tcp")
		if err != nil {
			return result{}, err
		}
		debug = fmt.Sprintf("http://127.0.0.1:%d", debugPort)
		fmt.Fprintf(&b, "debug_listen: 127.0.0.1:%d\n", debugPort)
	}
	fmt.Fprintf(&b, "defaults:\n  interval: %s\n  timeout: %s\n", o.interval, o.timeout)
	fmt.Fprintf(&b, "collectors:\n  - type: snmp\n    name: bench\n    version: 2c\n    community: public\n    retries: 1\n    max_repetitions: 25\n")
	fmt.Fprintf(&b, "    profiles: [%s]\n    profiles_dir: [%s]\n    targets:\n", strings.Join(o.profiles, ", "), profilesDir)
	for i, p := range ports {
		// Assets of their own: an asset is another agent's once created.
		fmt.Fprintf(&b, "      - {address: \"127.0.0.1:%d\", asset: %s-dev-%04d}\n", p, name, i)
	}
	cfg := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return result{}, err
	}
	tok, err := exec.CommandContext(ctx, srv.bin, "enroll-token", "--config", srv.cfg, "--org", srv.org).Output()
	if err != nil {
		return result{}, fmt.Errorf("enroll-token: %w", err)
	}
	if out, err := exec.CommandContext(ctx, bin, "enroll", "--config", cfg, "--token", strings.TrimSpace(string(tok)), "--name", "bench-"+name).CombinedOutput(); err != nil {
		return result{}, fmt.Errorf("enroll: %w: %s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return result{}, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "run", "--config", cfg)
	cmd.Env = append(os.Environ(), o.env...)
	if name != "tree" {
		cmd.Env = os.Environ() // -agent-env is for the tree's agent
	}
	p, err := devenv.Start("kpilot-agent", cmd, logf)
	if err != nil {
		return result{}, err
	}
	defer p.Stop()
	pid := p.Pid()
	if err := p.WaitFor(ctx, 30*time.Second, func() error { return benchenv.Get(metrics) }); err != nil {
		return result{}, err
	}
	fmt.Printf("\nkpilot-agent run (%s, pid %d)\n", name, pid)
	fmt.Printf("%-6s %8s %10s %10s %10s %12s %12s %10s %10s\n", "cycle", "polls", "samples", "shipped", "CPU-s", "VmRSS MB", "VmHWM MB", "heap MB", "GC goal")
	res := result{name: name}
	var prev benchenv.CPU
	deadline := time.Now()
	for c := 1; c <= o.cycles; c++ {
		deadline = deadline.Add(o.interval)
		m, err := waitCycle(ctx, metrics, c*len(ports), deadline.Add(3*o.interval))
		if err != nil {
			return result{}, fmt.Errorf("cycle %d: %w\n%s", c, err, tail(logf.Name()))
		}
		cpu, err := benchenv.ReadCPU(pid)
		if err != nil {
			return result{}, err
		}
		mem, err := benchenv.ReadMemory(pid)
		if err != nil {
			return result{}, err
		}
		d := cpu.Total() - prev.Total()
		prev = cpu
		fmt.Printf("%-6d %8.0f %10.0f %10.0f %10.2f %12.1f %12.1f %10.1f %10.1f\n", c, m["kpilot_agent_polls_total"],
			m["kpilot_agent_samples_collected_total"], m["kpilot_agent_ship_samples_total"], d.Seconds(), mb(mem.RSS), mb(mem.HWM),
			m["go_memstats_heap_inuse_bytes"]/(1<<20), m["go_memstats_next_gc_bytes"]/(1<<20))
		res.peak, res.last = mem.HWM, mem.RSS
		if c > 1 {
			res.steadyCPU += d
			res.steadyValues += perPoll * len(ports)
			res.steadyCycles++
		}
		if debug != "" {
			if err := save(debug+"/debug/pprof/heap", filepath.Join(o.heapDir, fmt.Sprintf("heap-%d.pb.gz", c))); err != nil {
				return result{}, err
			}
		}
		// The next cycle is read once its polls are done: wait for the
		// time they start, at least.
		if wait := time.Until(deadline); wait > 0 {
			time.Sleep(wait)
		}
	}
	return res, nil
}

// waitCycle waits until the agent has polled at least polls times and
// every sample it had collected by then is shipped (the server stored
// it), and returns its metrics then.
func waitCycle(ctx context.Context, url string, polls int, deadline time.Time) (map[string]float64, error) {
	collected := -1.0
	for {
		m, err := scrape(url)
		if err == nil && collected < 0 && m["kpilot_agent_polls_total"] >= float64(polls) {
			collected = m["kpilot_agent_samples_collected_total"]
		}
		if err == nil && collected >= 0 && m["kpilot_agent_ship_samples_total"] >= collected {
			return m, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not done by %s: polls %v, collected %v, shipped %v, %v", deadline.Format(time.TimeOnly),
				m["kpilot_agent_polls_total"], m["kpilot_agent_samples_collected_total"], m["kpilot_agent_ship_samples_total"], err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(scrapeEvery):
		}
	}
}

// scrapeEvery is how often waitCycle reads the agent's metrics. A scrape
// of 1,000 targets' metrics allocates about half a megabyte in the agent:
// once a second that was a sixth of all the agent allocated, far more
// than a Prometheus scraping every 15 s or more would make it do.
const scrapeEvery = 3 * time.Second

// scrape reads the agent's metrics, summed over their labels. They are
// asked for uncompressed: compressing them is work the agent would not
// do for this benchmark otherwise.
func scrape(url string) (map[string]float64, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			continue
		}
		name, rest, ok := strings.Cut(l, " ")
		if i := strings.IndexByte(l, '{'); i >= 0 {
			name = l[:i]
			_, rest, ok = strings.Cut(l[strings.LastIndexByte(l, '}'):], " ")
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err == nil {
			m[name] += v
		}
	}
	return m, sc.Err()
}

// runTelegraf runs Telegraf as a daemon with the same interval, polling
// the same devices for the same columns into outputs.discard, and reads
// its memory and CPU time once every interval.
func runTelegraf(ctx context.Context, o options, dir string, ports []int, perPoll int) (result, error) {
	var agents []string
	for _, p := range ports {
		agents = append(agents, fmt.Sprintf("udp://127.0.0.1:%d", p))
	}
	conf := filepath.Join(dir, "telegraf.conf")
	if err := os.WriteFile(conf, []byte(benchenv.TelegrafConfig(agents, o.interval)), 0o600); err != nil {
		return result{}, err
	}
	p, err := devenv.Start("telegraf", exec.Command(o.telegraf, "--config", conf), nil)
	if err != nil {
		return result{}, err
	}
	defer p.Stop()
	pid := p.Pid()
	fmt.Printf("\ntelegraf (pid %d), read every %s\n", pid, o.interval)
	fmt.Printf("%-6s %10s %12s %12s\n", "cycle", "CPU-s", "VmRSS MB", "VmHWM MB")
	res := result{name: "telegraf"}
	var prev benchenv.CPU
	// Telegraf polls on the clock's round intervals; reading half an
	// interval after one falls between polls.
	next := time.Now().Truncate(o.interval).Add(o.interval + o.interval/2)
	for c := 1; c <= o.cycles; c++ {
		select {
		case <-ctx.Done():
			return result{}, ctx.Err()
		case <-time.After(time.Until(next)):
		}
		next = next.Add(o.interval)
		if p.Exited() {
			return result{}, errors.New("telegraf exited:\n" + p.Log())
		}
		cpu, err := benchenv.ReadCPU(pid)
		if err != nil {
			return result{}, err
		}
		mem, err := benchenv.ReadMemory(pid)
		if err != nil {
			return result{}, err
		}
		d := cpu.Total() - prev.Total()
		prev = cpu
		fmt.Printf("%-6d %10.2f %12.1f %12.1f\n", c, d.Seconds(), mb(mem.RSS), mb(mem.HWM))
		res.peak, res.last = mem.HWM, mem.RSS
		if c > 1 {
			res.steadyCPU += d
			res.steadyValues += perPoll * len(ports)
			res.steadyCycles++
		}
	}
	return res, nil
}

func save(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

func tail(file string) string {
	data, _ := os.ReadFile(file)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
