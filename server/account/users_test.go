package account_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

func TestMembersAreTheAdminsSubtree(t *testing.T) {
	e := newEnv(t)
	root := e.user("root@acme.example", e.org, e.org.RootOU, store.Admin)
	branch := e.user("branch@acme.example", e.org, e.branch.ID, store.Admin)
	viewer := e.user("viewer@acme.example", e.org, e.branch.ID, store.Viewer)

	emails := func(ms []store.Member) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Email)
		}
		return out
	}
	ms, err := e.svc.Members(t.Context(), root)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"root@acme.example", "branch@acme.example", "viewer@acme.example"}, emails(ms))
	ms, err = e.svc.Members(t.Context(), branch)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"branch@acme.example", "viewer@acme.example"}, emails(ms), "not the admin above")
	_, err = e.svc.Members(t.Context(), viewer)
	require.ErrorIs(t, err, problem.ErrAdminOnly)
}

func TestUpdateMember(t *testing.T) {
	e := newEnv(t)
	root := e.user("root@acme.example", e.org, e.org.RootOU, store.Admin)
	branch := e.user("branch@acme.example", e.org, e.branch.ID, store.Admin)
	viewer := e.user("viewer@acme.example", e.org, e.branch.ID, store.Viewer)
	other := store.OU{OrgID: e.org.ID, ParentID: e.org.RootOU, Name: "Sibling"}
	require.NoError(t, e.st.CreateOU(t.Context(), &other))
	role := func(r store.Role) *store.Role { return &r }
	ou := func(s string) *string { return &s }

	tests := []struct {
		name     string
		by       string // root, branch or viewer
		target   string // user id
		change   account.MemberChange
		wantKind problem.Kind
		wantMsg  string
	}{
		{"viewers change nothing", "viewer", branch.UserID, account.MemberChange{Role: role(store.Viewer)}, problem.Forbidden, problem.ErrAdminOnly.Msg},
		{"an admin cannot demote itself", "root", root.UserID, account.MemberChange{Role: role(store.Viewer)},
			problem.Forbidden, "ask another admin to change or remove your own membership"},
		{"members above the admin are not found", "branch", root.UserID, account.MemberChange{Role: role(store.Viewer)}, problem.NotFound, "not found"},
		{"unknown role", "root", viewer.UserID, account.MemberChange{Role: role("owner")}, problem.Invalid, `role "owner": admin or viewer`},
		{"OU outside the subtree", "branch", viewer.UserID, account.MemberChange{OUID: ou(other.ID)}, problem.Invalid, "ou_id: no such OU"},
		{"promote", "branch", viewer.UserID, account.MemberChange{Role: role(store.Admin)}, 0, ""},
		{"move", "root", viewer.UserID, account.MemberChange{OUID: ou(other.ID)}, 0, ""},
	}
	by := map[string]visibility.Principal{"root": root, "branch": branch, "viewer": viewer}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := by[tt.by]
			before := len(e.audited(e.org.ID, "user.update"))
			m, err := e.svc.UpdateMember(t.Context(), actor(p), p, tt.target, tt.change)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				require.Len(t, e.audited(e.org.ID, "user.update"), before, "a refused change is not audited")
				return
			}
			require.NoError(t, err)
			ms, err := e.st.Memberships(t.Context(), tt.target)
			require.NoError(t, err)
			require.Len(t, ms, 1)
			require.Equal(t, m.Membership, ms[0], "got the stored membership back")
			evs := e.audited(e.org.ID, "user.update")
			require.Len(t, evs, before+1)
			require.Equal(t, tt.target, evs[0].TargetID)
			require.Equal(t, p.UserID, evs[0].ActorUserID)
		})
	}
}

// An admin never removes itself, so the last admin stays; another admin
// may remove a member, whose session ends with the membership.
func TestRemoveMember(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	root := e.user("root@acme.example", e.org, e.org.RootOU, store.Admin)
	viewer := e.user("viewer@acme.example", e.org, e.branch.ID, store.Viewer)

	err := e.svc.RemoveMember(ctx, actor(root), root, root.UserID)
	requireProblem(t, err, problem.Forbidden, "ask another admin to change or remove your own membership")
	require.ErrorIs(t, e.svc.RemoveMember(ctx, actor(viewer), viewer, root.UserID), problem.ErrAdminOnly)

	s, err := e.svc.Login(ctx, account.Login{Email: "viewer@acme.example", Password: password}, (&noLimit{}).limit)
	require.NoError(t, err)
	require.NoError(t, e.svc.RemoveMember(ctx, actor(root), root, viewer.UserID))
	_, err = e.svc.Authenticate(ctx, s.Token)
	require.ErrorIs(t, err, account.ErrUnauthenticated, "a removed member's session ends at once")
	require.ErrorIs(t, e.svc.RemoveMember(ctx, actor(root), root, viewer.UserID), problem.ErrNotFound)

	evs := e.audited(e.org.ID, "user.remove")
	require.Len(t, evs, 1)
	require.JSONEq(t, `{"email":"viewer@acme.example"}`, evs[0].Detail)
}
