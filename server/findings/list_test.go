package findings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/findings"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

// filter is a findings.Filter for state and severity, failing the test on
// a bad one.
func filter(t *testing.T, state, severity string) findings.Filter {
	t.Helper()
	f, err := findings.NewFilter(state, severity)
	require.NoError(t, err)
	return f
}

// TestList: owner users see the findings of their assets and of the agents
// in their OU subtree; a service partner sees its customers' asset
// findings, a reseller none, another tenant its own only.
func TestList(t *testing.T) {
	w := newWorld(t)
	open := filter(t, "", "")
	for _, tc := range []struct {
		name, caller string
		f            func(findings.Filter) findings.Filter
		want         []string
	}{
		{name: "owner admin", caller: "admin", want: []string{"a_root", "a_branch", "agent_root", "agent_branch"}},
		{name: "owner viewer", caller: "viewer", want: []string{"a_root", "a_branch", "agent_root", "agent_branch"}},
		{name: "admin of a lower OU: its subtree's assets and agents", caller: "branch_admin", want: []string{"a_branch", "agent_branch"}},
		{name: "service partner", caller: "s1", want: []string{"a_root", "a_branch"}},
		{name: "reseller", caller: "r1", want: []string{}},
		{name: "other tenant", caller: "globex", want: []string{"g1"}},
		{name: "another customer's findings", caller: "admin", want: []string{},
			f: func(f findings.Filter) findings.Filter { f.CustomerID = w.globex.ID; return f }},
		{name: "own organization as customer keeps agents", caller: "admin", want: []string{"a_root", "a_branch", "agent_root", "agent_branch"},
			f: func(f findings.Filter) findings.Filter { f.CustomerID = w.acme.ID; return f }},
		{name: "a partner names its customer", caller: "s1", want: []string{"a_root", "a_branch"},
			f: func(f findings.Filter) findings.Filter { f.CustomerID = w.acme.ID; return f }},
		{name: "a category drops agents", caller: "admin", want: []string{"a_branch"},
			f: func(f findings.Filter) findings.Filter { f.Category = "storage"; return f }},
		{name: "critical or worse", caller: "admin", want: []string{},
			f: func(findings.Filter) findings.Filter { return filter(t, "open", "critical") }},
		{name: "critical or worse, other tenant", caller: "globex", want: []string{"g1"},
			f: func(findings.Filter) findings.Filter { return filter(t, "open", "critical") }},
		{name: "resolved only", caller: "admin", want: []string{},
			f: func(findings.Filter) findings.Filter { return filter(t, "resolved", "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := open
			if tc.f != nil {
				f = tc.f(f)
			}
			vs, err := w.s.List(t.Context(), w.callers[tc.caller], f)
			require.NoError(t, err)
			require.ElementsMatch(t, tc.want, keys(vs))
		})
	}
}

// TestListShows: what each caller is told about a finding: a partner
// learns the customer's name but not its OUs.
func TestListShows(t *testing.T) {
	w := newWorld(t)
	vs, err := w.s.List(t.Context(), w.callers["s1"], findings.Filter{AssetID: w.assets["a_branch"].ID})
	require.NoError(t, err)
	require.Len(t, vs, 1)
	v := vs[0]
	require.Equal(t, &findings.Ref{ID: w.acme.ID, Name: "Acme"}, v.Customer)
	require.Equal(t, &findings.Ref{ID: w.assets["a_branch"].ID, Name: "NAS"}, v.Asset)
	require.Empty(t, v.OUID, "a partner is not told the customer's OU")
	require.Equal(t, "open", v.State)
	require.Nil(t, v.Acknowledged)

	vs, err = w.s.List(t.Context(), w.callers["admin"], filter(t, "", ""))
	require.NoError(t, err)
	for _, v := range vs {
		require.Nil(t, v.Customer, "%s: the caller's own finding", v.Text)
		require.NotEmpty(t, v.OUID, v.Text)
		if v.Text == "agent_root" {
			require.Equal(t, &findings.Ref{ID: "agent_root"}, v.Agent, "an agent the store does not know has no name")
			require.Nil(t, v.Asset)
		}
	}

	f := filter(t, "", "")
	f.Limit = 3
	vs, err = w.s.List(t.Context(), w.callers["admin"], f)
	require.NoError(t, err)
	require.Len(t, vs, 3, "at most Limit")

	// Resolved findings stay as history.
	_, err = w.st.ReconcileFindings(t.Context(), w.globex.ID, nil, now.Add(time.Hour))
	require.NoError(t, err)
	vs, err = w.s.List(t.Context(), w.callers["globex"], filter(t, "all", ""))
	require.NoError(t, err)
	require.Equal(t, []string{"g1"}, keys(vs))
	require.Equal(t, "resolved", vs[0].State)
	require.Equal(t, now.Add(time.Hour), vs[0].ResolvedAt.UTC())
}

// TestListAsset: asking for one asset's findings checks that asset alone,
// never the caller's whole visible set.
func TestListAsset(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name, caller, asset string
		f                   func(*findings.Filter)
		want                []string
		kind                problem.Kind
		msg                 string
	}{
		{name: "owner", caller: "admin", asset: "a_root", want: []string{"a_root"}},
		{name: "owner of a lower OU, asset above", caller: "branch_admin", asset: "a_root", kind: problem.NotFound, msg: "not found"},
		{name: "service partner", caller: "s1", asset: "a_branch", want: []string{"a_branch"}},
		{name: "reseller sees the asset, not its findings", caller: "r1", asset: "a_root", kind: problem.Forbidden,
			msg: "check-up findings are shown to the owner and service partners only"},
		{name: "reseller, asset it does not see", caller: "r1", asset: "a_branch", kind: problem.NotFound, msg: "not found"},
		{name: "other tenant", caller: "globex", asset: "a_root", kind: problem.NotFound, msg: "not found"},
		{name: "unknown asset", caller: "admin", asset: "", kind: problem.NotFound, msg: "not found"},
		{name: "other category", caller: "admin", asset: "a_root", f: func(f *findings.Filter) { f.Category = "storage" },
			kind: problem.NotFound, msg: "not found"},
		{name: "other customer", caller: "s1", asset: "a_root", f: func(f *findings.Filter) { f.CustomerID = w.globex.ID },
			kind: problem.NotFound, msg: "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filter(t, "", "")
			f.AssetID = "0b7c1f5e-0000-4000-8000-00000000dead"
			if tc.asset != "" {
				f.AssetID = w.assets[tc.asset].ID
			}
			if tc.f != nil {
				tc.f(&f)
			}
			before := w.vis.sets.Load()
			vs, err := w.s.List(t.Context(), w.callers[tc.caller], f)
			require.Equal(t, before, w.vis.sets.Load(), "no visible set resolved")
			if tc.kind != 0 {
				requireProblem(t, err, tc.kind, tc.msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, keys(vs))
		})
	}
}

func TestNewFilter(t *testing.T) {
	for _, tc := range []struct {
		name, state, severity string
		open                  *bool
		msg                   string
	}{
		{name: "defaults", open: ptr(true)},
		{name: "open", state: "open", open: ptr(true)},
		{name: "resolved", state: "resolved", severity: "warning", open: ptr(false)},
		{name: "all", state: "all", severity: "info"},
		{name: "bad state", state: "closed", msg: "state: open, resolved or all"},
		{name: "bad severity", severity: "urgent", msg: "severity: info, warning or critical"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := findings.NewFilter(tc.state, tc.severity)
			if tc.msg != "" {
				requireProblem(t, err, problem.Invalid, tc.msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.open, f.Open)
			require.Equal(t, store.Severity(tc.severity), f.MinSeverity)
		})
	}
}

func ptr[T any](v T) *T { return &v }
