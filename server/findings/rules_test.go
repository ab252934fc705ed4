package findings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
)

// TestPutRules: only admins of the whole organization set its rules, and
// scopes may name only its own OUs and assets.
func TestPutRules(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	doc := []byte("# ours\nrules:\n  - id: full\n    kind: storage_used\n    warning: 70\n    assets: {ous: [" + w.branch.ID + "], exclude: [" + w.assets["a_branch"].ID + "]}\n")

	for _, tc := range []struct {
		name, caller, doc string
		kind              problem.Kind
		msg               string
	}{
		{name: "admin of a lower OU", caller: "branch_admin", doc: string(doc), kind: problem.Forbidden,
			msg: "only admins of the whole organization (its top OU) may do this"},
		{name: "viewer", caller: "viewer", doc: string(doc), kind: problem.Forbidden,
			msg: "only admins of the whole organization (its top OU) may do this"},
		{name: "another organization's OU", caller: "admin", kind: problem.Invalid,
			doc: "rules:\n  - {id: x, kind: storage_used, assets: {ous: [" + w.globex.RootOU + "]}, warning: 1}\n",
			msg: `rule x: OU "` + w.globex.RootOU + `" is not one of this organization's`},
		{name: "another organization's asset, and an unknown one excluded", caller: "admin", kind: problem.Invalid,
			doc: "rules:\n  - {id: x, kind: health, assets: {ids: [" + w.assets["g1"].ID + "], exclude: [nope]}}\n",
			msg: `rule x: asset "` + w.assets["g1"].ID + `" is not one of this organization's; rule x: asset "nope" is not one of this organization's`},
		{name: "unknown kind", caller: "admin", doc: "rules:\n  - {id: x, kind: nope}\n", kind: problem.Invalid},
		{name: "not YAML", caller: "admin", doc: "rules: [{id: x, kind: health}\n", kind: problem.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.s.PutRules(ctx, w.callers[tc.caller], w.who(tc.caller), []byte(tc.doc))
			var pe *problem.Error
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tc.kind, pe.Kind, "got %v", err)
			if tc.msg != "" {
				require.Equal(t, tc.msg, pe.Msg)
			}
			require.NotContains(t, pe.Msg, "\n", "one line for the caller")
		})
	}
	require.Empty(t, w.actions(t, w.acme.ID), "nothing refused is recorded")

	rs, err := w.s.PutRules(ctx, w.callers["admin"], w.who("admin"), doc)
	require.NoError(t, err)
	require.True(t, rs.Own)
	require.Equal(t, now, rs.UpdatedAt)
	require.Len(t, rs.Rules, 1)

	rs, err = w.s.Rules(ctx, w.callers["viewer"])
	require.NoError(t, err)
	require.True(t, rs.Own)
	require.Equal(t, "admin@example.com", rs.UpdatedBy)
	require.Equal(t, now, rs.UpdatedAt.UTC())
	got, err := w.s.RulesDoc(ctx, w.callers["viewer"])
	require.NoError(t, err)
	require.Equal(t, string(doc), string(got), "the document comes back as it was sent")

	other, err := w.s.Rules(ctx, w.callers["globex"])
	require.NoError(t, err)
	require.False(t, other.Own, "one organization's rules are its own")
	require.True(t, other.UpdatedAt.IsZero())
	got, err = w.s.RulesDoc(ctx, w.callers["globex"])
	require.NoError(t, err)
	require.Contains(t, string(got), "# kpilot's default check-ups")

	requireProblem(t, w.s.ResetRules(ctx, w.callers["branch_admin"], w.who("branch_admin")), problem.Forbidden,
		"only admins of the whole organization (its top OU) may do this")
	require.NoError(t, w.s.ResetRules(ctx, w.callers["admin"], w.who("admin")))
	rs, err = w.s.Rules(ctx, w.callers["viewer"])
	require.NoError(t, err)
	require.False(t, rs.Own)
	require.NotEmpty(t, rs.Rules, "the server's defaults")
	require.Equal(t, []string{"checkup_rules.update", "checkup_rules.reset"}, w.actions(t, w.acme.ID))
}

// TestRun: running check-ups now is for admins of the whole organization;
// without InfluxDB the caller is told to retry later.
func TestRun(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	_, err := w.s.Run(ctx, w.callers["branch_admin"])
	requireProblem(t, err, problem.Forbidden, "only admins of the whole organization (its top OU) may do this")

	_, err = w.s.Run(ctx, w.callers["admin"])
	requireProblem(t, err, problem.Unavailable, "evaluating check-ups (InfluxDB or the rules) is unavailable; retry later")
	var pe *problem.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 10*time.Second, pe.RetryAfter)

	vs, err := w.s.Run(ctx, w.callers["s1"])
	require.NoError(t, err, "a partner organization has nothing to check")
	require.Empty(t, vs)
	open := filter(t, "", "")
	left, err := w.s.List(ctx, w.callers["admin"], open)
	require.NoError(t, err)
	require.Len(t, left, 4, "a failed run resolves nothing")
}
