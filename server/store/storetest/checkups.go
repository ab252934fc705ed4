package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// checkupTests cover store.Checkups: check-up rules and findings.
var checkupTests = []test{
	{"CheckupRulesPerOrganization", testCheckupRules},
	{"FindingsOpenRefreshResolve", testFindingsLifecycle},
	{"FindingsOpenOnceUnderConcurrency", testFindingsConcurrent},
	{"FindingsFilter", testFindingsFilter},
	{"OpenFindingCounts", testOpenFindingCounts},
}

func testCheckupRules(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s, "A"), newOrg(t, s, "B")
	_, err := s.CheckupRules(ctx, a.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	at := time.Now().UTC().Truncate(time.Millisecond)
	require.NoError(t, s.PutCheckupRules(ctx, store.CheckupRules{OrgID: a.ID, Doc: []byte("rules: []\n"), UpdatedBy: "u1", UpdatedAt: at}))
	require.NoError(t, s.PutCheckupRules(ctx, store.CheckupRules{OrgID: a.ID, Doc: []byte("rules: [x]\n"), UpdatedBy: "u2", UpdatedAt: at}))
	got, err := s.CheckupRules(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "rules: [x]\n", string(got.Doc))
	require.Equal(t, "u2", got.UpdatedBy)
	require.Equal(t, at, got.UpdatedAt)
	_, err = s.CheckupRules(ctx, b.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "another organization's rules are its own")
	require.NoError(t, s.PutCheckupRules(ctx, store.CheckupRules{OrgID: a.ID}))
	_, err = s.CheckupRules(ctx, a.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a nil document deletes")

	ids, err := s.OrganizationIDs(ctx)
	require.NoError(t, err)
	require.Subset(t, ids, []string{a.ID, b.ID})
}

func result(rule, asset, subject string, sev store.Severity, text string) store.FindingResult {
	return store.FindingResult{RuleID: rule, Kind: "storage_used", AssetID: asset, Subject: subject, Severity: sev, Text: text}
}

func testFindingsLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := newOrg(t, s, "A")
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	r1 := result("storage", "as1", "/var", store.SeverityWarning, "86% full")
	r2 := result("storage", "as1", "/data", store.SeverityWarning, "90% full")
	changed, err := s.ReconcileFindings(ctx, o.ID, []store.FindingResult{r1, r2}, t0)
	require.NoError(t, err)
	require.Len(t, changed.Opened, 2)
	require.Empty(t, changed.Resolved)

	// Still /var, now critical; /data is gone.
	r1.Severity, r1.Text = store.SeverityCritical, "96% full"
	t1 := t0.Add(time.Minute)
	changed, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{r1}, t1)
	require.NoError(t, err)
	require.Empty(t, changed.Opened, "a finding that holds is refreshed, not opened again")
	require.Len(t, changed.Resolved, 1)
	require.Equal(t, "/data", changed.Resolved[0].Subject)
	require.Equal(t, t1, changed.Resolved[0].ResolvedAt)
	all, err := s.Findings(ctx, store.FindingFilter{OrgID: o.ID})
	require.NoError(t, err)
	require.Len(t, all, 2)
	byS := map[string]store.Finding{}
	for _, f := range all {
		byS[f.Subject] = f
	}
	require.True(t, byS["/var"].Open())
	require.Equal(t, store.SeverityCritical, byS["/var"].Severity)
	require.Equal(t, "96% full", byS["/var"].Text)
	require.Equal(t, t0, byS["/var"].OpenedAt)
	require.Equal(t, t1, byS["/var"].LastSeenAt)
	require.False(t, byS["/data"].Open())
	require.Equal(t, t1, byS["/data"].ResolvedAt)

	require.NoError(t, s.AckFinding(ctx, byS["/var"].ID, "u1", "ordering disks", t1))
	f, err := s.Finding(ctx, byS["/var"].ID)
	require.NoError(t, err)
	require.Equal(t, "u1", f.AckedBy)
	require.Equal(t, "ordering disks", f.AckNote)
	require.Equal(t, t1, f.AckedAt)
	require.ErrorIs(t, s.AckFinding(ctx, "missing", "u1", "", t1), store.ErrNotFound)

	// /data comes back: a new finding; the resolved one stays history.
	changed, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{r1, r2}, t1.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, changed.Opened, 1)
	require.Empty(t, changed.Resolved)
	require.Equal(t, "/data", changed.Opened[0].Subject)
	require.NotEqual(t, byS["/data"].ID, changed.Opened[0].ID)
	open := true
	now, err := s.Findings(ctx, store.FindingFilter{OrgID: o.ID, Open: &open})
	require.NoError(t, err)
	require.Len(t, now, 2)
}

func testFindingsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := newOrg(t, s, "A")
	now := time.Now()
	rs := []store.FindingResult{result("r", "as1", "x", store.SeverityWarning, "t")}
	// at runs eight evaluations of results at once and counts what they
	// opened and resolved.
	at := func(results []store.FindingResult, when time.Time) (opened, resolved int) {
		var wg sync.WaitGroup
		total := make(chan store.Reconciled, 8)
		for range 8 {
			wg.Go(func() {
				changed, err := s.ReconcileFindings(ctx, o.ID, results, when)
				if err == nil {
					total <- changed
				}
			})
		}
		wg.Wait()
		close(total)
		for c := range total {
			opened += len(c.Opened)
			resolved += len(c.Resolved)
		}
		return opened, resolved
	}
	opened, resolved := at(rs, now)
	require.Equal(t, 1, opened, "eight evaluations at once open the finding once")
	require.Zero(t, resolved)
	all, err := s.Findings(ctx, store.FindingFilter{OrgID: o.ID})
	require.NoError(t, err)
	require.Len(t, all, 1)
	opened, resolved = at(nil, now.Add(time.Minute))
	require.Zero(t, opened)
	require.Equal(t, 1, resolved, "eight evaluations at once resolve the finding once")
}

func testFindingsFilter(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s, "A"), newOrg(t, s, "B")
	now := time.Now()
	agent := store.FindingResult{RuleID: "silent", Kind: "agent_silent", AgentID: "ag1", Severity: store.SeverityWarning, Text: "silent"}
	_, err := s.ReconcileFindings(ctx, a.ID, []store.FindingResult{
		result("r", "as1", "x", store.SeverityWarning, "t"), result("r", "as2", "x", store.SeverityWarning, "t"), agent}, now)
	require.NoError(t, err)
	_, err = s.ReconcileFindings(ctx, b.ID, []store.FindingResult{result("r", "bs1", "x", store.SeverityWarning, "t")}, now)
	require.NoError(t, err)

	subjects := func(f store.FindingFilter) []string {
		got, err := s.Findings(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, x := range got {
			out = append(out, x.AssetID+x.AgentID)
		}
		return out
	}
	require.ElementsMatch(t, []string{"as1", "as2"}, subjects(store.FindingFilter{OrgID: a.ID}))
	require.ElementsMatch(t, []string{"as1", "as2", "ag1"}, subjects(store.FindingFilter{OrgID: a.ID, Agents: true}))
	require.ElementsMatch(t, []string{"as2"}, subjects(store.FindingFilter{OrgID: a.ID, AssetIDs: []string{"as2", "bs1"}}))
	require.Empty(t, subjects(store.FindingFilter{OrgID: a.ID, AssetIDs: []string{}}), "an empty list is nothing, not everything")
	require.ElementsMatch(t, []string{"ag1"}, subjects(store.FindingFilter{OrgID: a.ID, AssetIDs: []string{}, Agents: true}))
	require.Len(t, subjects(store.FindingFilter{OrgID: a.ID, Limit: 1}), 1)
	require.ElementsMatch(t, []string{"bs1"}, subjects(store.FindingFilter{OrgID: b.ID, Agents: true}))
	closed := false
	require.Empty(t, subjects(store.FindingFilter{OrgID: a.ID, Open: &closed}))
}

func testOpenFindingCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b, c := newOrg(t, s, "A"), newOrg(t, s, "B"), newOrg(t, s, "C")
	now := time.Now()
	agent := store.FindingResult{RuleID: "silent", Kind: "agent_silent", AgentID: "ag1", Severity: store.SeverityCritical, Text: "silent"}
	_, err := s.ReconcileFindings(ctx, a.ID, []store.FindingResult{
		result("r", "as1", "x", store.SeverityCritical, "t"), result("r", "as1", "y", store.SeverityCritical, "t"),
		result("r", "as1", "z", store.SeverityWarning, "t"), result("r", "as2", "x", store.SeverityInfo, "t"), agent}, now)
	require.NoError(t, err)
	_, err = s.ReconcileFindings(ctx, b.ID, []store.FindingResult{result("r", "bs1", "x", store.SeverityWarning, "t")}, now)
	require.NoError(t, err)
	_, err = s.ReconcileFindings(ctx, b.ID, nil, now.Add(time.Minute)) // resolves bs1's
	require.NoError(t, err)
	_, err = s.ReconcileFindings(ctx, c.ID, []store.FindingResult{result("r", "cs1", "x", store.SeverityWarning, "t")}, now)
	require.NoError(t, err)

	got, err := s.OpenFindingCounts(ctx, []string{a.ID, b.ID})
	require.NoError(t, err)
	require.ElementsMatch(t, []store.FindingCount{
		{OrgID: a.ID, AssetID: "as1", Severity: store.SeverityCritical, Count: 2},
		{OrgID: a.ID, AssetID: "as1", Severity: store.SeverityWarning, Count: 1},
		{OrgID: a.ID, AssetID: "as2", Severity: store.SeverityInfo, Count: 1},
	}, got, "open asset findings of the organizations asked for: no agent's, no resolved one, no other organization's")
	got, err = s.OpenFindingCounts(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}
