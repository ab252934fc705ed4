// Command redfish measures how long the Redfish collector takes to read
// one server's full inventory (the first poll) and its readings (later
// polls) from the project's mockup server, with a per-request delay like
// a real BMC's, over TLS on 127.0.0.1. Results and how to reproduce them:
// bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/redfish"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/redfishmock"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

func main() {
	mockups := flag.String("mockups", strings.Join(redfishmock.Mockups(), ","), "mockups to read")
	delay := flag.Duration("delay", 250*time.Millisecond, "latency the mockup server adds to every request")
	parallel := flag.Int("parallel", 4, "max_concurrent_requests of the collector")
	rounds := flag.Int("rounds", 3, "measured rounds per mockup (each a new collector)")
	expand := flag.Bool("expand", true, "let the collector use $expand (the mockups advertise it)")
	flag.Parse()
	fmt.Printf("%-28s %8s %10s %10s %10s %9s\n", "mockup", "requests", "inventory", "readings", "readings", "samples")
	fmt.Printf("%-28s %8s %10s %10s %10s %9s\n", "", "(inv.)", "(best)", "requests", "(best)", "")
	for _, name := range strings.Split(*mockups, ",") {
		if err := bench(name, *delay, *parallel, *rounds, *expand); err != nil {
			log.Print(err)
			os.Exit(1)
		}
	}
}

type sink struct{ samples, errs int }

func (s *sink) Sample(kpi.Sample)       { s.samples++ }
func (s *sink) Inventory(kpi.Inventory) {}
func (s *sink) Error(error)             { s.errs++ }

func bench(name string, delay time.Duration, parallel, rounds int, expand bool) error {
	root, err := redfishmock.Mockup(name)
	if err != nil {
		return err
	}
	m := redfishmock.New(root, redfishmock.Options{Username: "bench", Password: "bench", Delay: delay})
	srv := httptest.NewUnstartedServer(m)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()

	cc, _ := collectors.Lookup("redfish")
	cfg := cc.(*redfish.Config)
	cfg.Name, cfg.Type, cfg.Username, cfg.Password = "bmc", "redfish", "bench", yamlconf.Secret("bench")
	cfg.InsecureSkipVerify = true
	cfg.MaxConcurrentRequests = parallel
	cfg.Expand = expand
	cfg.Targets = []collectors.Target{{Address: srv.URL, Asset: "server"}}
	if err := cfg.Validate(); err != nil {
		return err
	}
	var bestInv, bestRead time.Duration
	var invReqs, readReqs, samples int
	for range rounds {
		dir, _ := os.MkdirTemp("", "kpilot-bench-")
		c, err := cfg.New(cfg.Targets[0], collectors.Options{DataDir: dir})
		if err != nil {
			return err
		}
		stats := c.(interface{ Stats() (int, int) })
		start := time.Now()
		s := &sink{}
		if err := c.Collect(context.Background(), s); err != nil {
			return fmt.Errorf("%s: inventory run: %w", name, err)
		}
		if d := time.Since(start); bestInv == 0 || d < bestInv {
			bestInv = d
		}
		invReqs, _ = stats.Stats()
		start = time.Now()
		s = &sink{}
		if err := c.Collect(context.Background(), s); err != nil {
			return fmt.Errorf("%s: readings run: %w", name, err)
		}
		if d := time.Since(start); bestRead == 0 || d < bestRead {
			bestRead = d
		}
		readReqs, _ = stats.Stats()
		samples = s.samples
		c.(io.Closer).Close()
		os.RemoveAll(dir)
	}
	fmt.Printf("%-28s %8d %9.2fs %10d %9.2fs %9d\n", name, invReqs, bestInv.Seconds(), readReqs, bestRead.Seconds(), samples)
	return nil
}
