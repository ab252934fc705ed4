package findings_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
)

// TestGet: a finding shows to whom its list shows it; to anyone else it
// does not exist.
func TestGet(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name, caller string
		sees         []string
	}{
		{"owner admin", "admin", []string{"a_root", "a_branch", "agent_root", "agent_branch"}},
		{"owner viewer", "viewer", []string{"a_root", "a_branch", "agent_root", "agent_branch"}},
		{"admin of a lower OU", "branch_admin", []string{"a_branch", "agent_branch"}},
		{"service partner", "s1", []string{"a_root", "a_branch"}},
		{"reseller", "r1", nil},
		{"other tenant", "globex", []string{"g1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for key, f := range w.findings {
				v, err := w.s.Get(t.Context(), w.callers[tc.caller], f.ID)
				if !slices.Contains(tc.sees, key) {
					requireProblem(t, err, problem.NotFound, "not found")
					continue
				}
				require.NoError(t, err, key)
				require.Equal(t, f.ID, v.ID)
			}
		})
	}
	_, err := w.s.Get(t.Context(), w.callers["admin"], "no-such-finding")
	requireProblem(t, err, problem.NotFound, "not found")

	v, err := w.s.Get(t.Context(), w.callers["s1"], w.findings["a_root"].ID)
	require.NoError(t, err)
	require.Equal(t, "Acme", v.Customer.Name, "a partner is told whose finding it is")
	require.Empty(t, v.OUID)
}

// TestAcknowledge: only the owner's admins acknowledge; partners read the
// note but not who wrote it.
func TestAcknowledge(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	branch := w.findings["a_branch"].ID
	for _, tc := range []struct {
		name, caller, finding string
		kind                  problem.Kind
	}{
		{"service partner", "s1", "a_branch", problem.Forbidden},
		{"owner viewer", "viewer", "a_branch", problem.Forbidden},
		{"reseller", "r1", "a_root", problem.NotFound},
		{"other tenant", "globex", "a_branch", problem.NotFound},
		{"admin of a lower OU, agent above", "branch_admin", "agent_root", problem.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := w.findings[tc.finding].ID
			msg := "not found"
			if tc.kind == problem.Forbidden {
				msg = "only admins of the asset's own organization may acknowledge findings; partner access is read-only"
			}
			requireProblem(t, w.s.MayAcknowledge(ctx, w.callers[tc.caller], id), tc.kind, msg)
			_, err := w.s.Acknowledge(ctx, w.callers[tc.caller], w.who(tc.caller), id, "x")
			requireProblem(t, err, tc.kind, msg)
		})
	}

	for _, note := range []string{strings.Repeat("x", 1001), "a\x1b[31mred"} {
		_, err := w.s.Acknowledge(ctx, w.callers["admin"], w.who("admin"), branch, note)
		requireProblem(t, err, problem.Invalid, "note: at most 1000 characters, no control characters")
	}
	require.Empty(t, w.actions(t, w.acme.ID), "nothing refused is recorded")

	require.NoError(t, w.s.MayAcknowledge(ctx, w.callers["branch_admin"], branch))
	v, err := w.s.Acknowledge(ctx, w.callers["branch_admin"], w.who("branch_admin"), branch, "  Disk ordered, ticket 4711\n")
	require.NoError(t, err)
	require.Equal(t, "Disk ordered, ticket 4711", v.Acknowledged.Note)
	require.Equal(t, "branch_admin@example.com", v.Acknowledged.By)
	require.Equal(t, now, v.Acknowledged.At)

	v, err = w.s.Get(ctx, w.callers["s1"], branch)
	require.NoError(t, err)
	require.Equal(t, "Disk ordered, ticket 4711", v.Acknowledged.Note)
	require.Empty(t, v.Acknowledged.By, "a partner is not told who acknowledged")
	v, err = w.s.Get(ctx, w.callers["viewer"], branch)
	require.NoError(t, err)
	require.Equal(t, "branch_admin@example.com", v.Acknowledged.By)

	_, err = w.s.Acknowledge(ctx, w.callers["admin"], w.who("admin"), w.findings["agent_branch"].ID, "agent moved")
	require.NoError(t, err, "an agent's finding, in the admin's subtree")
	require.Equal(t, []string{"finding.acknowledge", "finding.acknowledge"}, w.actions(t, w.acme.ID))
}
