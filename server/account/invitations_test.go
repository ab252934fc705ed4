package account_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

const msgInvitationGone = "the invitation is unknown, used, revoked or expired: ask for a new one"

func TestInvitationIsSingleUse(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)

	inv, err := e.svc.InviteUser(ctx, actor(admin), admin, "New@Acme.example", store.Viewer, e.branch.ID)
	require.NoError(t, err)
	require.Equal(t, "new@acme.example", inv.Email, "addresses are lowercased")
	require.Equal(t, e.now.Add(e.ttl.Invitation), inv.ExpiresAt)
	require.Equal(t, "open", account.InvitationStatus(inv, e.now))
	m, tok := e.mails.last(t)
	require.Equal(t, "new@acme.example", m.To)
	require.Contains(t, m.Text, "Acme invites you to kpilot as viewer of Acme.")
	require.Contains(t, m.Text, "https://kpilot.example/invite#"+tok)
	require.Equal(t, 1, e.counts["invitation/sent"])
	require.Len(t, e.audited(e.org.ID, "invitation.create"), 1)

	look, err := e.svc.LookupInvitation(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, "Acme", look.Organization)
	require.False(t, look.ExistingAccount)

	who := actor(admin)
	who.UserID, who.OrgID = "", "" // the accepting person is not logged in
	res, err := e.svc.AcceptInvitation(ctx, who, tok, password)
	require.NoError(t, err)
	require.True(t, res.CreatedUser)
	require.Equal(t, e.org.ID, res.OrgID)
	welcome, _ := e.mails.last(t)
	require.Equal(t, "Your kpilot account is ready", welcome.Subject)

	evs := e.audited(e.org.ID, "invitation.accept")
	require.Len(t, evs, 1)
	require.Equal(t, res.UserID, evs[0].ActorUserID, "the newcomer accepted")
	require.Equal(t, "192.0.2.10", evs[0].RemoteAddr)
	require.Empty(t, evs[0].ActorOrgID)

	_, err = e.svc.AcceptInvitation(ctx, who, tok, password)
	requireProblem(t, err, problem.NotFound, msgInvitationGone)
	_, err = e.svc.LookupInvitation(ctx, tok)
	requireProblem(t, err, problem.NotFound, msgInvitationGone)

	s, err := e.svc.Login(ctx, account.Login{Email: "new@acme.example", Password: password}, (&noLimit{}).limit)
	require.NoError(t, err)
	c, err := e.svc.Authenticate(ctx, s.Token)
	require.NoError(t, err)
	require.Equal(t, store.Viewer, c.Principal.Role)
	require.Equal(t, e.branch.ID, c.Principal.OUID)
}

func TestInvitationExpires(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	inv, err := e.svc.InviteUser(t.Context(), actor(admin), admin, "late@acme.example", store.Admin, "")
	require.NoError(t, err)
	require.Equal(t, e.org.RootOU, inv.OUID, "no OU: the admin's own")
	_, tok := e.mails.last(t)

	e.now = e.now.Add(e.ttl.Invitation + time.Second)
	require.Equal(t, "expired", account.InvitationStatus(inv, e.now))
	_, err = e.svc.LookupInvitation(t.Context(), tok)
	requireProblem(t, err, problem.NotFound, msgInvitationGone)
	_, err = e.svc.AcceptInvitation(t.Context(), actor(admin), tok, password)
	requireProblem(t, err, problem.NotFound, msgInvitationGone)
}

func TestRevokedInvitationCannotBeUsed(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	viewer := e.user("viewer@acme.example", e.org, e.org.RootOU, store.Viewer)
	inv, err := e.svc.InviteUser(ctx, actor(admin), admin, "gone@acme.example", store.Viewer, "")
	require.NoError(t, err)
	_, tok := e.mails.last(t)

	require.ErrorIs(t, e.svc.RevokeInvitation(ctx, actor(viewer), viewer, inv.ID), problem.ErrAdminOnly)
	require.ErrorIs(t, e.svc.RevokeInvitation(ctx, actor(admin), admin, "no-such-id"), problem.ErrNotFound)
	require.NoError(t, e.svc.RevokeInvitation(ctx, actor(admin), admin, inv.ID))
	require.Len(t, e.audited(e.org.ID, "invitation.revoke"), 1)

	_, err = e.svc.AcceptInvitation(ctx, actor(admin), tok, password)
	requireProblem(t, err, problem.NotFound, msgInvitationGone)
	invs, err := e.svc.Invitations(ctx, admin)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	require.Equal(t, "revoked", account.InvitationStatus(invs[0], e.now))
	_, err = e.svc.Invitations(ctx, viewer)
	require.ErrorIs(t, err, problem.ErrAdminOnly)
}

// Someone who already has an account proves it with its password, and
// cannot join twice.
func TestAcceptWithExistingAccount(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	other := store.Organization{Name: "Other", Kind: store.Customer}
	require.NoError(t, e.st.CreateOrganization(ctx, &other))
	e.user("eng@other.example", other, other.RootOU, store.Admin)

	_, err := e.svc.InviteUser(ctx, actor(admin), admin, "eng@other.example", store.Viewer, "")
	require.NoError(t, err)
	_, tok := e.mails.last(t)
	look, err := e.svc.LookupInvitation(ctx, tok)
	require.NoError(t, err)
	require.True(t, look.ExistingAccount)

	_, err = e.svc.AcceptInvitation(ctx, actor(admin), tok, "not-the-password")
	requireProblem(t, err, problem.Unauthorized, "an account with this email exists: enter its current password to accept")
	res, err := e.svc.AcceptInvitation(ctx, actor(admin), tok, password)
	require.NoError(t, err)
	require.False(t, res.CreatedUser)

	_, err = e.svc.InviteUser(ctx, actor(admin), admin, "eng@other.example", store.Admin, "")
	require.NoError(t, err)
	_, tok = e.mails.last(t)
	_, err = e.svc.AcceptInvitation(ctx, actor(admin), tok, password)
	requireProblem(t, err, problem.Conflict, "this account is already a member of the organization")
}

func TestNewAccountNeedsAGoodPassword(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	_, err := e.svc.InviteUser(t.Context(), actor(admin), admin, "new@acme.example", store.Viewer, "")
	require.NoError(t, err)
	_, tok := e.mails.last(t)
	_, err = e.svc.AcceptInvitation(t.Context(), actor(admin), tok, "short")
	require.Equal(t, problem.Invalid, problem.KindOf(err), "got %v", err)
	require.True(t, strings.HasPrefix(err.Error(), "password: "), "got %v", err)
	_, err = e.svc.AcceptInvitation(t.Context(), actor(admin), tok, password)
	require.NoError(t, err, "a refused password does not use up the invitation")
}

func TestInviteUserChecks(t *testing.T) {
	e := newEnv(t)
	branchAdmin := e.user("branch@acme.example", e.org, e.branch.ID, store.Admin)
	viewer := e.user("viewer@acme.example", e.org, e.org.RootOU, store.Viewer)
	tests := []struct {
		name     string
		email    string
		role     store.Role
		ou       string
		by       string
		wantKind problem.Kind
		wantMsg  string
	}{
		{"not an address", "Bob <bob@acme.example>", store.Viewer, "", "branch", problem.Invalid, `email "Bob <bob@acme.example>": not an email address`},
		{"unknown role", "bob@acme.example", "owner", "", "branch", problem.Invalid, `role "owner": admin or viewer`},
		{"OU above the admin", "bob@acme.example", store.Viewer, e.org.RootOU, "branch", problem.NotFound, "not found"},
		{"viewer", "bob@acme.example", store.Viewer, "", "viewer", problem.Forbidden, problem.ErrAdminOnly.Msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := map[string]visibility.Principal{"branch": branchAdmin, "viewer": viewer}[tt.by]
			_, err := e.svc.InviteUser(t.Context(), actor(p), p, tt.email, tt.role, tt.ou)
			requireProblem(t, err, tt.wantKind, tt.wantMsg)
		})
	}
	require.Empty(t, e.mails.msgs)
}

// The link exists only in the mail: an invitation whose mail cannot be
// sent is revoked again.
func TestInvitationWhoseMailFailsIsRevoked(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	e.mails.fail = true
	_, err := e.svc.InviteUser(t.Context(), actor(admin), admin, "new@acme.example", store.Viewer, "")
	requireProblem(t, err, problem.BadGateway, "the email could not be sent; try again later")
	require.ErrorContains(t, err, "connection refused", "the cause is kept for the log")
	require.Equal(t, 1, e.counts["invitation/failed"])
	invs, err := e.svc.Invitations(t.Context(), admin)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	require.Equal(t, "revoked", account.InvitationStatus(invs[0], e.now))
}

func TestInviteWithoutMail(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	svc := account.New(e.st, nil, account.Options{TTL: e.ttl})
	_, err := svc.InviteUser(t.Context(), actor(admin), admin, "new@acme.example", store.Viewer, "")
	require.ErrorIs(t, err, account.ErrNoMail)
	invs, err := svc.Invitations(t.Context(), admin)
	require.NoError(t, err)
	require.Empty(t, invs, "nothing is stored without mail")
}

// A distributor's reseller invitation makes a new organization; both the
// new organization and the inviting distributor see it accepted.
func TestResellerInvitationIsAuditedOnBothSides(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	dist := store.Organization{Name: "Dist", Kind: store.Distributor, PartnerID: auth.NewPartnerID()}
	require.NoError(t, e.st.CreateOrganization(ctx, &dist))
	boss := e.user("boss@dist.example", dist, dist.RootOU, store.Admin)
	inv := store.Invitation{Kind: store.InviteReseller, Email: "owner@reseller.example", Role: store.Admin, Company: "Reseller",
		InvitedBy: boss.UserID, InvitedByOrg: dist.ID}
	_, err := e.svc.Invite(ctx, actor(boss), inv, dist.Name, "as the first administrator of Reseller")
	require.NoError(t, err)
	_, tok := e.mails.last(t)
	look, err := e.svc.LookupInvitation(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, "Reseller", look.Organization, "the company to be made")

	res, err := e.svc.AcceptInvitation(ctx, actor(boss), tok, password)
	require.NoError(t, err)
	require.NotEqual(t, dist.ID, res.OrgID)
	org, err := e.st.Organization(ctx, res.OrgID)
	require.NoError(t, err)
	require.Equal(t, store.Reseller, org.Kind)
	require.NotEmpty(t, org.PartnerID)

	// The new organization's trail also lists what it did in the
	// distributor's (ActorOrgID), so it holds both events.
	evs := e.audited(res.OrgID, "invitation.accept")
	require.Len(t, evs, 2)
	byOrg := map[string]store.AuditEvent{}
	for _, ev := range evs {
		byOrg[ev.OrgID] = ev
	}
	require.Empty(t, byOrg[res.OrgID].ActorOrgID)
	theirs := e.audited(dist.ID, "invitation.accept")
	require.Len(t, theirs, 1)
	require.Equal(t, res.OrgID, theirs[0].ActorOrgID, "the distributor sees who acted")
	require.JSONEq(t, `{"email":"owner@reseller.example","kind":"reseller","role":"admin"}`, theirs[0].Detail)
}

// An admin of a sub-OU lists and revokes only the invitations into its
// OU and below; the root's admins see every one.
func TestInvitationsOfTheAdminsSubtree(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	root := e.user("root@acme.example", e.org, e.org.RootOU, store.Admin)
	branch := e.user("branch@acme.example", e.org, e.branch.ID, store.Admin)
	atRoot, err := e.svc.InviteUser(ctx, actor(root), root, "hq@acme.example", store.Viewer, e.org.RootOU)
	require.NoError(t, err)
	atBranch, err := e.svc.InviteUser(ctx, actor(root), root, "shop@acme.example", store.Viewer, e.branch.ID)
	require.NoError(t, err)

	invs, err := e.svc.Invitations(ctx, branch)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	require.Equal(t, atBranch.ID, invs[0].ID, "the branch admin sees the branch's invitation only")
	require.ErrorIs(t, e.svc.RevokeInvitation(ctx, actor(branch), branch, atRoot.ID), problem.ErrNotFound,
		"an invitation above the admin's OU is not found")
	require.Empty(t, e.audited(e.org.ID, "invitation.revoke"))

	require.NoError(t, e.svc.RevokeInvitation(ctx, actor(branch), branch, atBranch.ID))
	invs, err = e.svc.Invitations(ctx, root)
	require.NoError(t, err)
	require.Len(t, invs, 2, "the root's admin sees both")
}
