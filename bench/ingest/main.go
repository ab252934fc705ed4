// Command ingest compares end-to-end ingest through kpilot-server with
// writing the same points straight to influxd. A round starts two
// influxd 1.8 on 127.0.0.1, one written to directly and one behind a
// kpilot-server process built from this tree, and sends both the same
// points in agent sized batches from the same number of concurrent
// clients:
//
//   - direct: the same device points as line protocol, POSTed to influxd's
//     /api/v2/write, by default as the agent makes them: the device's
//     own tags and its name under asset (as Telegraf's SNMP input tags
//     agent_host), no tenant tag; -direct legacy adds the three UUID
//     tags of the first schema, -direct bare drops the device name (then
//     200 devices' points fall into the series of one, see README.md);
//   - server: the agent's wire batches (zstd, as the agent sends them to
//     a server that takes it; -coding gzip for older agents) POSTed to
//     the server, which decodes, checks, enriches and writes them to its
//     influxd.
//
// The points go in segments, to one way and then the other, the order
// alternating from segment to segment, so that the speed of a shared
// host, which drifts from minute to minute, weighs on both alike.
// -calibrate sends both ways straight to influxd, to show how far apart
// two equal ways come out on the host. -baseline adds a third way, another
// kpilot-server binary (say, one built from an earlier commit) with an
// influxd of its own, taking its turn in every segment, so that a change
// to the server is measured against the old one in the same minutes.
//
// It reports points per second for both and their ratio, and the server
// process's CPU time per million points and peak resident memory (from
// /proc, so the load generator's own work is not counted). Results and
// how to reproduce them: bench/README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/kpilot/kpilot/bench/internal/benchenv"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/lineproto"
	"github.com/kpilot/kpilot/internal/wire"
)

type options struct {
	points, batch, assets, clients int
	rounds, segments               int
	keep, calibrate                bool
	cpuprofile, coding, direct     string
	baseline                       string
	profileSeconds                 int
}

func main() {
	var o options
	flag.IntVar(&o.points, "points", 1_000_000, "points to write in each run")
	flag.IntVar(&o.batch, "batch", 5000, "points per batch (the agent's spool.max_batch_lines)")
	flag.IntVar(&o.assets, "assets", 200, "assets the points belong to")
	flag.IntVar(&o.clients, "clients", 4, "concurrent senders")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds, each on fresh influxd and server processes; the medians are reported")
	flag.IntVar(&o.segments, "segments", 10, "segments of the points in a round, sent directly and through the server in turn")
	flag.BoolVar(&o.calibrate, "calibrate", false, "send both ways straight to an influxd of its own, to see how far apart two equal ways come out on this host")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.StringVar(&o.direct, "direct", "device", "what the direct writer tags points with: device (the agent's asset name), legacy (the first schema's three UUID tags) or bare (nothing)")
	flag.StringVar(&o.coding, "coding", wire.Zstd, "content coding of the agent's batches: zstd (what the agent sends a server that takes it) or gzip")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the server, taken from its first segment of the first round on (-profile-seconds), to this file")
	flag.IntVar(&o.profileSeconds, "profile-seconds", 10, "length of the -cpuprofile profile; with -segments 1 and enough -points the server is busy all of it")
	flag.StringVar(&o.baseline, "baseline", "", "also run this kpilot-server binary (e.g. built from an earlier commit) as a third way in every segment, and report it beside the tree's")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	if o.segments < 1 || o.segments > o.points/o.batch {
		return fmt.Errorf("-segments %d: want 1 to %d (a segment is at least one batch)", o.segments, o.points/o.batch)
	}
	if !slices.Contains([]string{"device", "legacy", "bare"}, o.direct) {
		return fmt.Errorf("-direct %q: want device, legacy or bare", o.direct)
	}
	if o.calibrate && (o.cpuprofile != "" || o.baseline != "") {
		return errors.New("-cpuprofile and -baseline concern the server, which -calibrate does not start")
	}
	if o.baseline != "" {
		abs, err := filepath.Abs(o.baseline)
		if err != nil {
			return err
		}
		o.baseline = abs
	}
	dir, err := os.MkdirTemp("", "kpilot-bench-ingest-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	bin := filepath.Join(dir, "kpilot-server")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kpilot-server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building kpilot-server (run from the repository root): %w", err)
	}

	start := time.Now().Add(-24 * time.Hour)
	batches, direct := makeBatches(o, start)
	fmt.Printf("%d points in %d %s batches of %d over %d assets, %d clients, %d segments, direct writer tags: %s\n",
		o.points, len(batches), o.coding, o.batch, o.assets, o.clients, o.segments, o.direct)

	perM := func(d time.Duration) float64 { return d.Seconds() / float64(o.points) * 1e6 }
	names := []string{"through kpilot-server"}
	if o.calibrate {
		names[0] = "influxd directly, the other"
	}
	if o.baseline != "" {
		names = append(names, "through the -baseline server")
	}
	ratios, cpus := make([][]float64, len(names)), make([][]float64, len(names))
	var cpuDiffs []float64
	for r := range max(o.rounds, 1) {
		if r > 0 {
			o.cpuprofile = "" // the first round's
		}
		res, err := runRound(ctx, o, filepath.Join(dir, fmt.Sprintf("round-%d", r)), bin, batches, direct, r%2 == 1)
		if err != nil {
			return err
		}
		if o.rounds > 1 {
			fmt.Printf("\nround %d of %d", r+1, o.rounds)
		}
		directRate := float64(o.points) / res.direct.Seconds()
		fmt.Printf("\n%-34s %12.0f points/s\n", "influxd directly", directRate)
		for i, sv := range res.servers {
			rate := float64(o.points) / sv.took.Seconds()
			fmt.Printf("%-34s %12.0f points/s  (%.0f%% of direct", names[i], rate, 100*rate/directRate)
			if len(sv.pairs) > 1 {
				fmt.Printf("; segments %.0f%% to %.0f%%", slices.Min(sv.pairs), slices.Max(sv.pairs))
			}
			fmt.Printf(")\n")
			ratios[i] = append(ratios[i], 100*rate/directRate)
			if o.calibrate {
				continue
			}
			fmt.Printf("%-34s %12.2f CPU-seconds per million points (user %.2f, system %.2f)\n", "  its CPU",
				perM(sv.cpu.Total()), perM(sv.cpu.User), perM(sv.cpu.Sys))
			fmt.Printf("%-34s %12.0f MB\n", "  its peak RSS", float64(sv.peakRSS)/(1<<20))
			cpus[i] = append(cpus[i], perM(sv.cpu.Total()))
		}
		if len(res.servers) == 2 {
			cpuDiffs = append(cpuDiffs, perM(res.servers[0].cpu.Total())-perM(res.servers[1].cpu.Total()))
		}
	}
	if o.rounds > 1 {
		fmt.Printf("\nmedians of %d rounds:\n", o.rounds)
		for i, name := range names {
			fmt.Printf("%-34s %.0f%% of direct (%.0f%% to %.0f%%)", name, median(ratios[i]), slices.Min(ratios[i]), slices.Max(ratios[i]))
			if len(cpus[i]) > 0 {
				fmt.Printf(", %.2f CPU-seconds per million points (%.2f to %.2f)", median(cpus[i]), slices.Min(cpus[i]), slices.Max(cpus[i]))
			}
			fmt.Println()
		}
	}
	if len(cpuDiffs) > 0 {
		// The difference within a round, where both servers worked in the
		// same minutes, is the figure of a change; the host's drift
		// between rounds cancels out of it.
		fmt.Printf("%-34s %+.2f CPU-seconds per million points, median of %d rounds (%+.2f to %+.2f)\n", "the tree's server minus -baseline",
			median(cpuDiffs), len(cpuDiffs), slices.Min(cpuDiffs), slices.Max(cpuDiffs))
	}
	return nil
}

// roundResult is one round: the time the direct way took for all points
// and what each server (or, with -calibrate, the second direct way) did.
type roundResult struct {
	direct  time.Duration
	servers []serverResult
}

// serverResult is one server's share of a round: the time it took for
// all points, its CPU time while it ingested, its peak memory, and the
// ratio of the direct way's time to its own in each segment.
type serverResult struct {
	took    time.Duration
	cpu     benchenv.CPU
	peakRSS int64
	pairs   []float64
}

// runRound starts the ways — an influxd written to directly, and a
// kpilot-server with its own influxd (and the -baseline server with
// another) — and sends the points in segments, taking turns between them
// (the order rotating from segment to segment, and reversed when swap is
// set), so the host's speed, which drifts from minute to minute on a
// shared machine, weighs the same on all. Each influxd ends up with the
// same points, and each is checked to hold every one.
func runRound(ctx context.Context, o options, dir, bin string, batches, direct [][]byte, swap bool) (roundResult, error) {
	var res roundResult
	d, err := startDirect(ctx, filepath.Join(dir, "direct"))
	if err != nil {
		return res, fmt.Errorf("direct: %w", err)
	}
	defer d.stop()
	var servers []*way
	sent, extra := batches, o.assets
	if o.calibrate {
		// Both ways direct: what the harness and the host alone make of
		// two equal ways.
		sent, extra = direct, 0
		s, err := startDirect(ctx, filepath.Join(dir, "direct-again"))
		if err != nil {
			return res, fmt.Errorf("direct: %w", err)
		}
		defer s.stop()
		servers = append(servers, s)
	} else {
		for i, b := range []string{bin, o.baseline} {
			if b == "" {
				continue
			}
			s, err := startServer(ctx, o, filepath.Join(dir, fmt.Sprintf("server-%d", i)), b)
			if err != nil {
				return res, fmt.Errorf("server %s: %w", b, err)
			}
			defer s.stop()
			servers = append(servers, s)
		}
	}
	settle()

	res.servers = make([]serverResult, len(servers))
	profiled := make(chan error, 1)
	profiled <- nil
	ways := len(servers) + 1 // 0 is direct, i+1 is servers[i]
	for seg := range o.segments {
		lo, hi := seg*len(batches)/o.segments, (seg+1)*len(batches)/o.segments
		took := make([]time.Duration, ways)
		for _, w := range order(ways, seg, swap) {
			if w == 0 {
				t, err := send(o, direct[lo:hi], d.post)
				if err != nil {
					return res, fmt.Errorf("direct: %w", err)
				}
				took[0] = t
				continue
			}
			s := servers[w-1]
			if seg == 0 && w == 1 && o.cpuprofile != "" {
				<-profiled
				go func() { profiled <- profile(s.debug, o.cpuprofile, o.profileSeconds) }()
			}
			cpu0, err := cpuTime(s.pid)
			if err != nil {
				return res, err
			}
			t, err := send(o, sent[lo:hi], s.post)
			if err != nil {
				return res, fmt.Errorf("server: %w", err)
			}
			cpu1, err := cpuTime(s.pid)
			if err != nil {
				return res, err
			}
			took[w] = t
			sr := &res.servers[w-1]
			sr.cpu.User += cpu1.User - cpu0.User
			sr.cpu.Sys += cpu1.Sys - cpu0.Sys
		}
		res.direct += took[0]
		for i := range servers {
			res.servers[i].took += took[i+1]
			res.servers[i].pairs = append(res.servers[i].pairs, 100*took[0].Seconds()/took[i+1].Seconds())
		}
	}
	if err := <-profiled; err != nil {
		return res, err
	}
	if err := checkCount(d.influx, o.points); err != nil {
		return res, fmt.Errorf("direct: %w", err)
	}
	for i, s := range servers {
		if res.servers[i].peakRSS, err = peakRSS(s.pid); err != nil {
			return res, err
		}
		if err := checkCount(s.influx, o.points+extra); err != nil {
			return res, fmt.Errorf("server: %w", err)
		}
	}
	return res, nil
}

// order is the order of the ways in segment seg: 0 direct, i the i-th
// server. It rotates by one every segment, so each way goes first as
// often as the others; swap reverses it. With two ways, segments take
// turns: direct first in even segments unless swap.
func order(ways, seg int, swap bool) []int {
	o := make([]int, ways)
	for i := range o {
		o[i] = (seg + i) % ways
	}
	if swap {
		slices.Reverse(o)
	}
	return o
}

// makeBatches returns the agent's batches and, for the direct run,
// the same points tagged as o.direct says.
func makeBatches(o options, start time.Time) ([][]byte, [][]byte) {
	org, ou := uuid.NewString(), uuid.NewString()
	legacy := make([]string, o.assets)
	for i := range legacy {
		legacy[i] = uuid.NewString()
	}
	var batches, direct [][]byte
	var line []byte
	perAsset := max(o.batch/o.assets, 1)
	for n := 0; n < o.points; n += o.batch {
		var samples []kpi.Sample
		var lines bytes.Buffer
		for i := n; i < min(n+o.batch, o.points); i++ {
			a := (i / perAsset) % o.assets // one poll's samples together, as the agent sends them
			at := start.Add(time.Duration(i) * time.Millisecond)
			port := i%48 + 1
			s := kpi.Sample{Asset: fmt.Sprintf("switch-%03d", a), Measurement: "interface",
				Tags:   map[string]string{"ifindex": strconv.Itoa(port), "ifname": fmt.Sprintf("GigabitEthernet1/0/%d", port)},
				Fields: map[string]any{"in_bps": float64(i) * 31.5, "out_bps": float64(i) * 17.25, "in_errors_rate": 0.0, "oper_status": int64(1), "admin_up": true},
				Time:   at}
			samples = append(samples, s)
			// The device's line, tags in key order.
			tags := []lineproto.Tag{{Key: "ifindex", Value: s.Tags["ifindex"]}, {Key: "ifname", Value: s.Tags["ifname"]}}
			switch o.direct {
			case "device":
				tags = append([]lineproto.Tag{{Key: "asset", Value: s.Asset}}, tags...)
			case "legacy":
				tags = append([]lineproto.Tag{{Key: "asset_id", Value: legacy[a]}}, append(tags,
					lineproto.Tag{Key: "org_id", Value: org}, lineproto.Tag{Key: "ou_id", Value: ou})...)
			}
			fields := []lineproto.Field{{Key: "admin_up", Kind: lineproto.Bool, N: 1}, {Key: "in_bps", Kind: lineproto.Float, F: float64(i) * 31.5},
				{Key: "in_errors_rate", Kind: lineproto.Float}, {Key: "oper_status", Kind: lineproto.Int, N: 1},
				{Key: "out_bps", Kind: lineproto.Float, F: float64(i) * 17.25}}
			line = lineproto.AppendLine(line[:0], "interface", tags, fields, at.UnixNano())
			lines.Write(line)
		}
		b, err := wire.NewBatch(samples, nil)
		if err != nil {
			log.Fatal(err)
		}
		data, err := b.MarshalAs(o.coding)
		if err != nil {
			log.Fatal(err)
		}
		batches = append(batches, data)
		direct = append(direct, bytes.Clone(lines.Bytes()))
	}
	return batches, direct
}

// send posts every body with o.clients concurrent senders and returns the
// wall time.
func send(o options, bodies [][]byte, post func(sender int, body []byte) error) (time.Duration, error) {
	work := make(chan []byte)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	begin := time.Now()
	for k := range o.clients {
		wg.Go(func() {
			for b := range work {
				if err := post(k, b); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, b := range bodies {
		work <- b
	}
	close(work)
	wg.Wait()
	return time.Since(begin), first
}

// settle writes out what starting the processes left dirty in the page
// cache and lets the host calm down before the timed segments.
func settle() {
	syscall.Sync()
	time.Sleep(2 * time.Second)
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// way is where one side of a round sends its batches.
type way struct {
	influx *devenv.Influxd
	post   func(sender int, body []byte) error
	pid    int    // the server's process, whose CPU time is counted
	debug  string // the server's debug listener, for -cpuprofile
	stop   func()
}

// startDirect starts an influxd that the batches are written to as line
// protocol, the way the server writes them.
func startDirect(ctx context.Context, dir string) (*way, error) {
	influx, err := devenv.StartInfluxd(ctx, dir, 0, "kpilot", nil)
	if err != nil {
		return nil, err
	}
	u := influx.URL + "/api/v2/write?" + url.Values{"bucket": {influx.Bucket}, "precision": {"ns"}}.Encode()
	post := func(_ int, b []byte) error {
		resp, err := senders().Post(u, "text/plain; charset=utf-8", bytes.NewReader(b))
		if err != nil {
			return err
		}
		defer drain(resp)
		if resp.StatusCode != http.StatusNoContent {
			msg, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("influxd answered %s: %s", resp.Status, msg)
		}
		return nil
	}
	return &way{influx: influx, post: post, stop: func() { _ = influx.Stop() }}, nil
}

// startServer starts an influxd and a kpilot-server writing to it,
// enrolls an agent and sends a first batch, which creates the assets.
func startServer(ctx context.Context, o options, dir, bin string) (w *way, err error) {
	influx, err := devenv.StartInfluxd(ctx, filepath.Join(dir, "via-server"), 0, "kpilot", nil)
	if err != nil {
		return nil, err
	}
	w = &way{influx: influx, stop: func() { _ = influx.Stop() }}
	defer func() {
		if err != nil {
			w.stop()
		}
	}()
	port, err := devenv.FreePort("tcp")
	if err != nil {
		return nil, err
	}
	debugPort, err := devenv.FreePort("tcp")
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	w.debug = fmt.Sprintf("http://127.0.0.1:%d", debugPort)
	cfg := filepath.Join(dir, "server.yaml")
	if err := devenv.RewriteConfig("configs/server.example.yaml", cfg,
		"127.0.0.1:8080", fmt.Sprintf("127.0.0.1:%d", port),
		"http://127.0.0.1:8086", influx.URL,
		"/var/lib/kpilot-server", filepath.Join(dir, "server"),
		"log_level: info", "log_level: warn",
		"# debug_listen: 127.0.0.1:6060", fmt.Sprintf("debug_listen: 127.0.0.1:%d", debugPort),
		"metrics_listen: 127.0.0.1:9464", `metrics_listen: ""`); err != nil {
		return nil, err
	}
	boot, err := exec.CommandContext(ctx, bin, "bootstrap", "--config", cfg, "--org", "Bench GmbH", "--admin", "bench@example.com").Output()
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	orgID := benchenv.Value(string(boot), "organization_id")
	// One agent per sender, as in the field: the server bounds the
	// batches one agent has in flight (limits.ingest_per_agent).
	var toks []string
	for range max(o.clients, 1) {
		tok, err := exec.CommandContext(ctx, bin, "enroll-token", "--config", cfg, "--org", orgID).Output()
		if err != nil {
			return nil, fmt.Errorf("enroll-token: %w", err)
		}
		toks = append(toks, strings.TrimSpace(string(tok)))
	}
	srv, err := devenv.Start("kpilot-server", exec.Command(bin, "run", "--config", cfg), os.Stderr)
	if err != nil {
		return nil, err
	}
	w.stop = func() { _ = srv.Stop(); _ = influx.Stop() }
	w.pid = srv.Pid()
	if err := srv.WaitFor(ctx, 30*time.Second, func() error { return benchenv.Get(base + "/readyz") }); err != nil {
		return nil, err
	}
	var creds []string
	for _, tok := range toks {
		cred, err := enroll(base, tok)
		if err != nil {
			return nil, err
		}
		creds = append(creds, cred)
	}
	w.post = func(sender int, b []byte) error {
		cred := creds[sender%len(creds)]
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/ingest", bytes.NewReader(b))
		req.Header.Set("Content-Type", wire.ContentType)
		req.Header.Set("Content-Encoding", wire.Coding(b))
		req.Header.Set("Authorization", "Bearer "+cred)
		resp, err := senders().Do(req)
		if err != nil {
			return err
		}
		defer drain(resp)
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("kpilot-server answered %s: %s", resp.Status, msg)
		}
		return nil
	}
	// Warm up: the first batch creates the assets (one store write each).
	warm, _ := makeBatches(options{points: o.assets, batch: o.assets, assets: o.assets, coding: o.coding}, time.Now().Add(-48*time.Hour))
	if err := w.post(0, warm[0]); err != nil {
		return nil, err
	}
	return w, nil
}

func profile(debug, file string, seconds int) error {
	resp, err := http.Get(debug + "/debug/pprof/profile?seconds=" + strconv.Itoa(seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

func enroll(base, token string) (string, error) {
	body, _ := json.Marshal(map[string]string{"token": token, "name": "bench", "hostname": "bench", "version": "bench"})
	resp, err := http.Post(base+"/api/v1/agents/enroll", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	for _, v := range out {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "kpa_") {
			return s, nil
		}
	}
	return "", fmt.Errorf("enrollment answered %s without a credential: %v", resp.Status, out)
}

// checkCount makes sure every point arrived.
func checkCount(influx *devenv.Influxd, want int) error {
	resp, err := http.PostForm(influx.URL+"/query", url.Values{"db": {influx.Database}, "q": {`SELECT count("in_bps") FROM "interface"`}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct{ Series []struct{ Values [][]any } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if len(out.Results) == 0 || len(out.Results[0].Series) == 0 {
		return errors.New("no points in influxd")
	}
	if got := int(out.Results[0].Series[0].Values[0][1].(float64)); got != want {
		return fmt.Errorf("influxd holds %d points, want %d", got, want)
	}
	return nil
}

// senders is the HTTP client of the concurrent senders: it keeps a
// connection per sender, as each agent keeps its one (the default client
// keeps two, so the others would connect anew for every batch).
var senders = sync.OnceValue(func() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
})

// drain reads an answer to its end before closing it, so that its
// connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// cpuTime reads a process's CPU time; none for no process (-calibrate).
func cpuTime(pid int) (benchenv.CPU, error) {
	if pid == 0 {
		return benchenv.CPU{}, nil
	}
	return benchenv.ReadCPU(pid)
}

// peakRSS reads VmHWM, the process's peak resident set.
func peakRSS(pid int) (int64, error) {
	if pid == 0 {
		return 0, nil
	}
	m, err := benchenv.ReadMemory(pid)
	return m.HWM, err
}
