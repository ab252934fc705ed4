package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kpilot/kpilot/agent/enroll"
	"github.com/kpilot/kpilot/agent/ship"
	"github.com/kpilot/kpilot/agent/transport"
	"github.com/kpilot/kpilot/collectors"
)

// CheckReport is what `kpilot-agent check` found: whether the server takes
// the agent's credential, and per target whether it answered and what it
// gave. Its JSON form is documented in docs/agent.md.
type CheckReport struct {
	Config  string        `json:"config"`
	OK      bool          `json:"ok"`
	Server  *ServerCheck  `json:"server,omitempty"`
	Spool   *SpoolCheck   `json:"spool,omitempty"`
	Targets []TargetCheck `json:"targets"`
}

// SpoolCheck says whether the spool can be written: a test write in its
// directory, and what a running agent on metrics_listen reports.
type SpoolCheck struct {
	Dir   string `json:"dir"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// HeldBytes is what the running agent holds in memory because its
	// spool cannot write; 0 when no agent answered on metrics_listen.
	HeldBytes int64 `json:"held_bytes,omitempty"`
}

// ServerCheck is the outcome of asking the server who it takes the agent
// for.
type ServerCheck struct {
	URL     string `json:"url"`
	OK      bool   `json:"ok"`
	AgentID string `json:"agent_id,omitempty"`
	Name    string `json:"name,omitempty"`
	Error   string `json:"error,omitempty"`
}

// TargetCheck summarises one poll of one target.
type TargetCheck struct {
	Collector       string              `json:"collector"`
	Type            string              `json:"type"`
	Asset           string              `json:"asset"`
	Address         string              `json:"address"`
	OK              bool                `json:"ok"`
	Outcome         string              `json:"outcome"` // as in probe: ok, partial, unreachable, credentials_rejected, protocol_error
	Error           string              `json:"error,omitempty"`
	DurationSeconds float64             `json:"duration_seconds"`
	Samples         int                 `json:"samples"`
	KPIs            map[string][]string `json:"kpis"` // measurement -> fields
	Inventory       InventorySummary    `json:"inventory"`
	PartialErrors   []string            `json:"partial_errors"`
}

// InventorySummary names what the inventory held, without the values.
type InventorySummary struct {
	Attributes []string       `json:"attributes"`
	Components map[string]int `json:"components"` // kind -> count
}

// Check polls every configured target once, in parallel within
// max_parallel_polls, and, unless skipServer, asks the server whether it
// takes the agent's credential. Nothing is spooled or sent; collector state
// goes to throw-away directories, as with probe.
func Check(ctx context.Context, cfg *Config, skipServer bool, log *slog.Logger) *CheckReport {
	rep := &CheckReport{Config: cfg.Path(), OK: true}
	type item struct {
		cc CollectorConfig
		t  collectors.Target
	}
	var items []item
	for _, cc := range cfg.Collectors {
		for _, t := range cc.Base().Targets {
			items = append(items, item{cc, t})
		}
	}
	rep.Targets = make([]TargetCheck, len(items))
	sem := make(chan struct{}, cfg.MaxParallelPolls)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rep.Targets[i] = checkTarget(ctx, it.cc, it.t, log)
		})
	}
	if !skipServer {
		rep.Server = checkServer(ctx, cfg)
		rep.OK = rep.Server.OK
	}
	rep.Spool = checkSpool(ctx, cfg)
	rep.OK = rep.OK && rep.Spool.OK
	wg.Wait()
	for _, t := range rep.Targets {
		rep.OK = rep.OK && t.OK
	}
	return rep
}

func checkTarget(ctx context.Context, cc CollectorConfig, t collectors.Target, log *slog.Logger) TargetCheck {
	b := cc.Base()
	tc := TargetCheck{Collector: b.Name, Type: b.Type, Asset: t.Asset, Address: t.Address,
		KPIs: map[string][]string{}, PartialErrors: []string{},
		Inventory: InventorySummary{Attributes: []string{}, Components: map[string]int{}}}
	res, err := probe(ctx, cc, t, log)
	if err != nil {
		tc.Error = err.Error()
		return tc
	}
	tc.OK, tc.Outcome, tc.Error, tc.DurationSeconds = res.OK, res.Outcome, res.Error, res.DurationSeconds
	tc.PartialErrors = res.PartialErrors
	tc.Samples = len(res.Samples)
	fields := map[string]map[string]bool{}
	for _, s := range res.Samples {
		if fields[s.Measurement] == nil {
			fields[s.Measurement] = map[string]bool{}
		}
		for f := range s.Fields {
			fields[s.Measurement][f] = true
		}
	}
	for m, fs := range fields {
		tc.KPIs[m] = slices.Sorted(maps.Keys(fs))
	}
	if inv := res.Inventory; inv != nil {
		tc.Inventory.Attributes = slices.Sorted(maps.Keys(inv.Attributes))
		for k, c := range inv.Components {
			tc.Inventory.Components[k] = len(c)
		}
	}
	return tc
}

// checkServer calls GET /api/v1/agents/self with the agent's credential:
// it proves the address, the TLS trust (CA file, client certificate) and
// the credential in one request.
func checkServer(ctx context.Context, cfg *Config) *ServerCheck {
	sc := &ServerCheck{URL: cfg.Server.URL}
	fail := func(err error) *ServerCheck { sc.Error = err.Error(); return sc }
	cred, err := enroll.Load(cfg.Server.CredentialFile)
	if err != nil {
		return fail(err)
	}
	hc, err := transport.NewClient(transport.Options{CAFile: cfg.Server.CAFile, CertFile: cfg.Server.CertFile, KeyFile: cfg.Server.KeyFile})
	if err != nil {
		return fail(fmt.Errorf("server TLS settings: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(cfg.Server.URL, "/")+"/api/v1/agents/self", nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Authorization", "Bearer "+cred.Token)
	req.Header.Set("User-Agent", ship.UserAgent())
	resp, err := hc.Do(req)
	if err != nil {
		return fail(fmt.Errorf("server not reachable: %w", err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fail(errors.New("the server refused the agent's credential (the agent was removed, or the credential is from another server): enroll again with a new token"))
	case resp.StatusCode != http.StatusOK:
		return fail(fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(body))))
	}
	var self struct {
		AgentID string `json:"agent_id"`
		Name    string `json:"name"`
	}
	if err := json.Unmarshal(body, &self); err != nil {
		return fail(fmt.Errorf("server answered 200 with something that is not kpilot-server's JSON: %w", err))
	}
	sc.OK, sc.AgentID, sc.Name = true, self.AgentID, self.Name
	return sc
}

// spoolProbeBytes is the size of check's test write: about one batch, so
// that a disk with a few bytes left is not taken for a writable one.
const spoolProbeBytes = 64 << 10

// checkSpool writes and removes a test file in the spool directory, and
// asks a running agent on metrics_listen whether its spool can write. A
// spool directory that does not exist yet (before the first start) is not
// a failure: the agent creates it.
func checkSpool(ctx context.Context, cfg *Config) *SpoolCheck {
	sc := &SpoolCheck{Dir: filepath.Join(cfg.DataDir, "spool"), OK: true}
	if _, err := os.Stat(sc.Dir); err == nil {
		if err := probeWrite(sc.Dir); err != nil {
			sc.OK, sc.Error = false, fmt.Sprintf("the spool cannot write: %v", err)
			return sc
		}
	}
	if writable, held, ok := runningSpool(ctx, cfg.MetricsListen); ok && !writable {
		sc.OK, sc.HeldBytes = false, held
		sc.Error = fmt.Sprintf("the running agent reports that its spool cannot write (kpilot_agent_spool_writable 0); it holds %s of samples in memory",
			mib(held))
	}
	return sc
}

func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".check-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, spoolProbeBytes))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// runningSpool reads kpilot_agent_spool_writable and
// kpilot_agent_spool_memory_bytes from an agent serving /metrics on
// listen. ok is false when none answers.
func runningSpool(ctx context.Context, listen string) (writable bool, held int64, ok bool) {
	if listen == "" {
		return false, 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/metrics", nil)
	if err != nil {
		return false, 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return false, 0, false
	}
	found := false
	for line := range strings.Lines(string(body)) {
		name, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch name {
		case "kpilot_agent_spool_writable":
			writable, found = value == "1", true
		case "kpilot_agent_spool_memory_bytes":
			f, _ := strconv.ParseFloat(value, 64)
			held = int64(f)
		}
	}
	return writable, held, found
}
