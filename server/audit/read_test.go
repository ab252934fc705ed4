package audit_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/visibility"
)

// TestRead checks who reads which part of an organization's trail: the
// root admin all of it, a branch admin its subtree's events, a viewer
// nothing; and that a full page names the next.
func TestRead(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	org := &store.Organization{Name: "Customer", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, org))
	branch := store.OU{OrgID: org.ID, ParentID: org.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &branch))
	sub := store.OU{OrgID: org.ID, ParentID: branch.ID, Name: "Sub"}
	require.NoError(t, st.CreateOU(ctx, &sub))

	log := audit.New(st, nil, func() time.Time { return time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC) })
	root := audit.Actor{UserID: "u-root", OrgID: org.ID, OUID: org.RootOU}
	for _, e := range []audit.Entry{
		{OrgID: org.ID, Action: "webhook.create", TargetID: "whole-org"},
		{OrgID: org.ID, OUID: org.RootOU, Action: "ou_key.read", TargetID: "root"},
		{OrgID: org.ID, OUID: sub.ID, Action: "ou_key.read", TargetID: "sub", Detail: map[string]any{"n": 1}},
	} {
		require.NoError(t, log.Record(ctx, root, e))
	}

	admin := func(ou string) visibility.Principal {
		return visibility.Principal{UserID: "u", OrgID: org.ID, OrgKind: store.Customer, OUID: ou, Role: store.Admin}
	}
	viewer := admin(org.RootOU)
	viewer.Role = store.Viewer
	for _, tt := range []struct {
		name    string
		p       visibility.Principal
		f       store.AuditFilter
		targets []string
		next    bool
		kind    problem.Kind
	}{
		{"root admin reads all", admin(org.RootOU), store.AuditFilter{Limit: 10}, []string{"sub", "root", "whole-org"}, false, 0},
		{"branch admin reads its subtree", admin(branch.ID), store.AuditFilter{Limit: 10}, []string{"sub"}, false, 0},
		{"a full page names the next", admin(org.RootOU), store.AuditFilter{Limit: 2}, []string{"sub", "root"}, true, 0},
		{"by action", admin(org.RootOU), store.AuditFilter{Action: "webhook.create", Limit: 10}, []string{"whole-org"}, false, 0},
		{"viewer", viewer, store.AuditFilter{Limit: 10}, nil, false, problem.Forbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			page, err := audit.Read(ctx, st, tt.p, tt.f)
			require.Equal(t, tt.kind, problem.KindOf(err), "%v", err)
			if tt.kind != 0 {
				return
			}
			var got []string
			for _, e := range page.Events {
				require.Equal(t, org.ID, e.OrgID)
				got = append(got, e.TargetID)
			}
			require.Equal(t, tt.targets, got)
			if tt.next {
				require.Equal(t, page.Events[len(page.Events)-1].ID, page.NextBefore)
			} else {
				require.Empty(t, page.NextBefore)
			}
		})
	}
}
