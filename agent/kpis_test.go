package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/enroll"
	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/api"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
)

// kpiTestConfig stands for an SNMP or REST entry with a user's own
// profile: KPIs is what the profile declares. It is not registered (the
// list of collector types is the agent's, which other tests read).
type kpiTestConfig struct {
	collectors.Common `yaml:",inline"`
	KPIs              catalog.Section `yaml:"kpis"`
}

func (c *kpiTestConfig) Validate() error                   { return c.ValidateCommon() }
func (c *kpiTestConfig) KPIDefinitions() []catalog.Section { return []catalog.Section{c.KPIs} }
func (c *kpiTestConfig) New(collectors.Target, collectors.Options) (collectors.Collector, error) {
	return idleCollector{}, nil
}

type idleCollector struct{}

func (idleCollector) Collect(context.Context, collectors.Sink) error { return nil }

// kpiServer is the real server API on addr, with its store.
type kpiServer struct {
	st   store.Store
	org  store.Organization
	cred string
	addr string
}

func newKPIServer(t *testing.T) *kpiServer {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	s := &kpiServer{st: st, org: store.Organization{Name: "Acme", Kind: store.Customer}}
	require.NoError(t, st.CreateOrganization(ctx, &s.org))
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	now := time.Now()
	require.NoError(t, st.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: hash, OrgID: s.org.ID, OUID: s.org.RootOU,
		CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	cred, credHash := auth.NewToken(auth.PrefixAgent)
	require.NoError(t, st.EnrollAgent(ctx, auth.Hash(tok), now, &store.Agent{Name: "a", TokenHash: credHash}))
	s.cred = cred
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	s.addr = fmt.Sprintf("127.0.0.1:%d", port)
	return s
}

// serve starts answering on addr (nothing listens there before).
func (s *kpiServer) serve(t *testing.T) {
	t.Helper()
	ts := tsdb.New(tsdb.Options{URL: "http://127.0.0.1:1", Bucket: "kpilot/autogen", Timeout: time.Second})
	a := api.New(s.st, ts, api.Limits{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	mux := http.NewServeMux()
	a.Register(mux)
	ln, err := net.Listen("tcp", s.addr)
	require.NoError(t, err)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// fields returns the measurement.field the organization's agents defined.
func (s *kpiServer) fields(t *testing.T) []string {
	t.Helper()
	defs, err := s.st.KPIDefinitions(t.Context(), s.org.ID)
	require.NoError(t, err)
	var out []string
	for _, d := range defs {
		if d.Field != "" {
			out = append(out, d.Measurement+"."+d.Field)
		}
	}
	return out
}

// writeKPIs writes what the user's profiles declare, which the test's
// kpiDefs reads on every (re)load.
func writeKPIs(t *testing.T, path, kpis string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte("kpis: "+kpis), 0o600))
}

func readKPIs(t *testing.T, path string) []catalog.Section {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sec, err := catalog.ReadSection(data, path)
	require.NoError(t, err)
	return (&Config{Collectors: []CollectorConfig{{Config: &kpiTestConfig{KPIs: sec}}}}).KPIDefinitions()
}

const upsLoad = `[{measurement: ups, name: {en: UPS}, fields: {load_percent: {name: {en: Load}, unit: percent, kind: gauge}}}]`

// TestAgentSendsKPIDefinitions runs a real agent against the real server
// API: the definitions of its user's own profiles reach the server
// although the server comes up only after the agent, and a reload sends
// the changed set (and an emptied one, to clear it).
func TestAgentSendsKPIDefinitions(t *testing.T) {
	srv := newKPIServer(t)
	dir := t.TempDir()
	path, kpis := filepath.Join(dir, "agent.yaml"), filepath.Join(dir, "profile.yaml")
	url := "http://" + srv.addr
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf("server: {url: %s}\ndata_dir: %s\nmetrics_listen: \"\"\nwatch_config: false\n", url, dir)), 0o600))
	writeKPIs(t, kpis, upsLoad)
	cred, err := json.Marshal(enroll.Credential{ServerURL: url, AgentID: "a", Token: srv.cred})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "credential.json"), cred, 0o600))
	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	require.NoError(t, err)
	a.kpis.min, a.kpis.max = 20*time.Millisecond, 200*time.Millisecond
	a.kpiDefs = func(*Config) []catalog.Section { return readKPIs(t, kpis) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	time.Sleep(300 * time.Millisecond) // a few failed tries: nothing listens yet
	require.Empty(t, srv.fields(t))
	srv.serve(t)
	require.Eventually(t, func() bool { return slices.Equal(srv.fields(t), []string{"ups.load_percent"}) },
		10*time.Second, 20*time.Millisecond, "retried until the server took them")

	writeKPIs(t, kpis, `[{measurement: ups, fields: {
      load_percent: {name: {en: Load}, unit: percent, kind: gauge},
      battery_status: {name: {en: Battery}, kind: state, class: service, states: {1: {name: {en: OK}, severity: ok}}}}}]`)
	require.NoError(t, a.Reload(t.Context()))
	require.Eventually(t, func() bool {
		return slices.Equal(srv.fields(t), []string{"ups.battery_status", "ups.load_percent"})
	}, 10*time.Second, 20*time.Millisecond, "a reload sends the changed set")

	writeKPIs(t, kpis, `[]`)
	require.NoError(t, a.Reload(t.Context()))
	require.Eventually(t, func() bool { return len(srv.fields(t)) == 0 }, 10*time.Second, 20*time.Millisecond,
		"profiles without definitions clear what this agent sent")
}

// TestConfigKPIDefinitions: the sections of every entry that reads the
// user's own profiles, none of the others.
func TestConfigKPIDefinitions(t *testing.T) {
	sec, err := catalog.ReadSection([]byte("kpis: "+upsLoad), "profile.yaml")
	require.NoError(t, err)
	cfg := &Config{Collectors: []CollectorConfig{
		{Config: &kpiTestConfig{KPIs: sec}},
		{Config: &plainConfig{}},
		{Config: &kpiTestConfig{}},
	}}
	got := cfg.KPIDefinitions()
	require.Equal(t, []catalog.Section{sec, nil}, got)
	require.Empty(t, (&Config{Collectors: []CollectorConfig{{Config: &plainConfig{}}}}).KPIDefinitions())
}

// plainConfig is an entry of built-in profiles only: no KPIDefiner.
type plainConfig struct{ collectors.Common }

func (c *plainConfig) Validate() error { return nil }
func (c *plainConfig) New(collectors.Target, collectors.Options) (collectors.Collector, error) {
	return idleCollector{}, nil
}

// TestKPISenderOffer: what is sent, and what is not.
func TestKPISenderOffer(t *testing.T) {
	sec := func(text string) []catalog.Section {
		s, err := catalog.ReadSection([]byte("kpis: "+text), "profile.yaml")
		require.NoError(t, err)
		return []catalog.Section{s}
	}
	k := newKPISender(http.DefaultClient, "http://127.0.0.1:9", "t", slog.New(slog.DiscardHandler))
	pending := func() string {
		body, ok := k.take()
		if !ok {
			return ""
		}
		k.settle(body)
		return string(body)
	}

	k.offer(nil)
	require.Empty(t, pending(), "no definitions of the user's own, none sent before: nothing to send")
	k.offer(sec(upsLoad))
	first := pending()
	require.Contains(t, first, `"load_percent"`)
	k.offer(sec(upsLoad))
	require.Empty(t, pending(), "the set in force is not sent again")
	k.offer(append(sec(upsLoad), sec(`[{measurement: ups, fields: {load_percent: {name: {en: Other}, unit: ratio, kind: gauge}}}]`)...))
	require.Empty(t, pending(), "two profiles that disagree: nothing sent")
	k.offer(append(sec(upsLoad), sec(upsLoad)...))
	require.Empty(t, pending(), "two profiles that agree are one set, the one in force")
	k.offer(nil)
	require.Equal(t, "[]", pending(), "emptied: sent to clear the server's copy")
	k.offer(nil)
	require.Empty(t, pending())
}
