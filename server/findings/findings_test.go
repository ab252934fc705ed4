package findings_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/findings"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// world is, on a real SQLite store:
//
//	Acme (customer, consent given): root OU ─ branch OU
//	  a_root "ESX" (server) in root, a_branch "NAS" (storage) in branch
//	  agents' findings: agent_root in root, agent_branch in branch
//	  S1 (reseller): channel partner, default service partner of both
//	  R1 (reseller): created grant on a_root, reseller class only
//	Globex (customer): g1 "Switch", a critical finding
//
// Every asset and agent has one open warning finding unless said
// otherwise; findings maps the keys above to them.
type world struct {
	st       *sqlstore.DB
	s        *findings.Service
	vis      *countingVisibility
	acme     store.Organization
	globex   store.Organization
	s1, r1   store.Organization
	branch   store.OU
	assets   map[string]store.Asset
	findings map[string]store.Finding
	// Callers: admin, viewer (Acme root), branch_admin (Acme branch),
	// s1 and r1 (partner admins), globex (Globex admin).
	callers map[string]visibility.Principal
}

var now = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	w := &world{st: st, assets: map[string]store.Asset{}, findings: map[string]store.Finding{}, callers: map[string]visibility.Principal{}}

	org := func(name string, kind store.OrgKind, consent bool) store.Organization {
		o := store.Organization{Name: name, Kind: kind, PartnerID: "P-" + name, ChannelConsent: consent}
		if kind == store.Customer {
			o.PartnerID = ""
		}
		require.NoError(t, st.CreateOrganization(ctx, &o))
		return o
	}
	w.acme, w.globex = org("Acme", store.Customer, true), org("Globex", store.Customer, false)
	w.s1, w.r1 = org("S1", store.Reseller, false), org("R1", store.Reseller, false)
	w.branch = store.OU{OrgID: w.acme.ID, ParentID: w.acme.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &w.branch))

	user := func(key string, o store.Organization, ou string, role store.Role) {
		u := store.User{Email: key + "@example.com"}
		require.NoError(t, st.CreateUser(ctx, &u))
		w.callers[key] = visibility.Principal{UserID: u.ID, OrgID: o.ID, OrgKind: o.Kind, OUID: ou, Role: role}
	}
	user("admin", w.acme, w.acme.RootOU, store.Admin)
	user("viewer", w.acme, w.acme.RootOU, store.Viewer)
	user("branch_admin", w.acme, w.branch.ID, store.Admin)
	user("s1", w.s1, w.s1.RootOU, store.Admin)
	user("r1", w.r1, w.r1.RootOU, store.Admin)
	user("globex", w.globex, w.globex.RootOU, store.Admin)

	asset := func(key string, o store.Organization, ou, name, category string) {
		a := store.Asset{OrgID: o.ID, OUID: ou, Name: name, Category: category}
		require.NoError(t, st.CreateAsset(ctx, &a, nil))
		w.assets[key] = a
	}
	asset("a_root", w.acme, w.acme.RootOU, "ESX", "server")
	asset("a_branch", w.acme, w.branch.ID, "NAS", "storage")
	asset("g1", w.globex, w.globex.RootOU, "Switch", "network")

	grant := store.Grant{AssetID: w.assets["a_root"].ID, CustomerOrgID: w.acme.ID, PartnerOrgID: w.r1.ID, Kind: store.GrantCreated, GrantedBy: "t"}
	require.NoError(t, st.CreateGrant(ctx, &grant))
	require.NoError(t, st.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: w.acme.ID, PartnerOrgID: w.s1.ID, DefaultService: true, AddedBy: "t"}))

	result := func(key string, sev store.Severity) store.FindingResult {
		as := w.assets[key]
		return store.FindingResult{RuleID: "r", Kind: "storage_used", AssetID: as.ID, OUID: as.OUID, Subject: "storage,descr=/", Severity: sev, Text: key}
	}
	agent := func(key, ou string) store.FindingResult {
		return store.FindingResult{RuleID: "silent", Kind: "agent_silent", AgentID: key, OUID: ou, Severity: store.SeverityWarning, Text: key}
	}
	_, err = st.ReconcileFindings(ctx, w.acme.ID, []store.FindingResult{result("a_root", store.SeverityWarning), result("a_branch", store.SeverityWarning),
		agent("agent_root", w.acme.RootOU), agent("agent_branch", w.branch.ID)}, now)
	require.NoError(t, err)
	_, err = st.ReconcileFindings(ctx, w.globex.ID, []store.FindingResult{result("g1", store.SeverityCritical)}, now.Add(time.Minute))
	require.NoError(t, err)
	for _, o := range []store.Organization{w.acme, w.globex} {
		fs, err := st.Findings(ctx, store.FindingFilter{OrgID: o.ID, Agents: true})
		require.NoError(t, err)
		for _, f := range fs {
			w.findings[f.Text] = f
		}
	}

	w.vis = &countingVisibility{Loader: visibility.NewLoader(st)}
	// An InfluxDB nobody listens at: check-ups that need data fail.
	ts := tsdb.New(tsdb.Options{URL: "http://127.0.0.1:1", Bucket: "kpilot/autogen", Timeout: time.Second})
	t.Cleanup(ts.Close)
	runner := checkup.NewRunner(st, ts, checkup.DefaultRules(), slog.New(slog.DiscardHandler), nil)
	w.s = findings.New(st, audit.New(st, nil, func() time.Time { return now }), findings.Options{Visibility: w.vis, Checkups: runner,
		Now: func() time.Time { return now }})
	return w
}

// countingVisibility is the real loader, counting how often a whole
// visible set is resolved.
type countingVisibility struct {
	*visibility.Loader
	sets atomic.Int32
}

func (c *countingVisibility) Set(ctx context.Context, p visibility.Principal) (visibility.Set, error) {
	c.sets.Add(1)
	return c.Loader.Set(ctx, p)
}

// who is the audit actor of a caller.
func (w *world) who(caller string) audit.Actor {
	p := w.callers[caller]
	return audit.Actor{UserID: p.UserID, OrgID: p.OrgID, RemoteAddr: "192.0.2.1"}
}

// keys names views by the world's keys (their texts).
func keys(vs []findings.View) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Text)
	}
	return out
}

// actions are the audit actions recorded for org, oldest first.
func (w *world) actions(t *testing.T, org string) []string {
	t.Helper()
	evs, err := w.st.AuditEvents(t.Context(), store.AuditFilter{OrgID: org, Limit: 1000})
	require.NoError(t, err)
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Action)
	}
	return out
}

// requireProblem checks that err is a problem of kind with the message msg.
func requireProblem(t *testing.T, err error, kind problem.Kind, msg string) {
	t.Helper()
	var pe *problem.Error
	require.ErrorAs(t, err, &pe, "got %v, want a problem", err)
	require.Equal(t, kind, pe.Kind, "got %v", err)
	require.Equal(t, msg, pe.Msg)
}

func TestOrgAdmin(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name, caller string
		ok           bool
	}{
		{"admin at the top OU", "admin", true},
		{"viewer at the top OU", "viewer", false},
		{"admin of a lower OU", "branch_admin", false},
		{"partner admin of its own organization", "s1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := w.s.OrgAdmin(t.Context(), w.callers[tc.caller])
			if !tc.ok {
				requireProblem(t, err, problem.Forbidden, "only admins of the whole organization (its top OU) may do this")
				return
			}
			require.NoError(t, err)
			require.Equal(t, w.callers[tc.caller].OrgID, o.ID)
		})
	}
}
