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

func TestMayEnroll(t *testing.T) {
	tests := []struct {
		name string
		p    visibility.Principal
		want error
	}{
		{"customer admin", visibility.Principal{Role: store.Admin, OrgKind: store.Customer}, nil},
		{"customer viewer", visibility.Principal{Role: store.Viewer, OrgKind: store.Customer},
			problem.New(problem.Forbidden, "only admins may create enrollment tokens")},
		{"reseller admin", visibility.Principal{Role: store.Admin, OrgKind: store.Reseller}, problem.ErrCustomerOnly},
		{"distributor admin", visibility.Principal{Role: store.Admin, OrgKind: store.Distributor}, problem.ErrCustomerOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, account.MayEnroll(tt.p))
		})
	}
}

// An enrollment token enrolls one agent, into an OU its admin
// administers, before it expires.
func TestEnrollmentTokenIsSingleUse(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	branch := e.user("branch@acme.example", e.org, e.branch.ID, store.Admin)

	tok, err := e.svc.CreateEnrollmentToken(ctx, actor(branch), branch, "", "10m")
	require.NoError(t, err)
	require.Equal(t, e.branch.ID, tok.OUID, "no OU: the admin's own")
	require.Equal(t, e.now.Add(10*time.Minute), tok.ExpiresAt)
	require.Len(t, e.audited(e.org.ID, "enrollment_token.create"), 1)

	ag, cred, err := e.svc.Enroll(ctx, account.Enrollment{Token: tok.Token, Hostname: " site-a.example ", Version: strings.Repeat("v", 300)})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(cred, auth.PrefixAgent))
	require.Equal(t, "site-a.example", ag.Name, "no name: the host name")
	require.Len(t, ag.Version, 200, "fields are cut to 200 bytes")
	require.Equal(t, e.branch.ID, ag.OUID)

	const gone = "enrollment token is unknown, expired or already used"
	_, _, err = e.svc.Enroll(ctx, account.Enrollment{Token: tok.Token, Name: "site-b"})
	requireProblem(t, err, problem.Unauthorized, gone)
	_, _, err = e.svc.Enroll(ctx, account.Enrollment{Token: "kpe_guess"})
	requireProblem(t, err, problem.Unauthorized, gone)
	_, _, err = e.svc.Enroll(ctx, account.Enrollment{Token: "kps_not-an-enrollment-token"})
	requireProblem(t, err, problem.Unauthorized, gone)

	late, err := e.svc.CreateEnrollmentToken(ctx, actor(branch), branch, "", "")
	require.NoError(t, err)
	require.Equal(t, e.now.Add(e.ttl.EnrollmentToken), late.ExpiresAt, "no ttl: the default")
	e.now = e.now.Add(e.ttl.EnrollmentToken + time.Second)
	_, _, err = e.svc.Enroll(ctx, account.Enrollment{Token: late.Token, Name: "late"})
	requireProblem(t, err, problem.Unauthorized, gone)
}

func TestEnrollmentTokenChecks(t *testing.T) {
	e := newEnv(t)
	branch := e.user("branch@acme.example", e.org, e.branch.ID, store.Admin)
	other := store.Organization{Name: "Other", Kind: store.Customer}
	require.NoError(t, e.st.CreateOrganization(t.Context(), &other))
	tests := []struct {
		name, ou, ttl string
		wantKind      problem.Kind
		wantMsg       string
	}{
		{"the OU above", e.org.RootOU, "", problem.NotFound, "not found"},
		{"another organization's OU", other.RootOU, "", problem.NotFound, "not found"},
		{"days are not a Go duration", "", "30d", problem.Invalid, `ttl "30d": a duration from 1m to 168h`},
		{"under a minute", "", "30s", problem.Invalid, `ttl "30s": a duration from 1m to 168h`},
		{"over a week", "", "169h", problem.Invalid, `ttl "169h": a duration from 1m to 168h`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreateEnrollmentToken(t.Context(), actor(branch), branch, tt.ou, tt.ttl)
			requireProblem(t, err, tt.wantKind, tt.wantMsg)
		})
	}
	require.Empty(t, e.audited(e.org.ID, "enrollment_token.create"))
}

func TestAgentsOfTheSubtree(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	root := e.user("root@acme.example", e.org, e.org.RootOU, store.Admin)
	branch := e.user("branch@acme.example", e.org, e.branch.ID, store.Viewer)
	for _, ou := range []string{e.org.RootOU, e.branch.ID} {
		tok, err := e.svc.CreateEnrollmentToken(ctx, actor(root), root, ou, "")
		require.NoError(t, err)
		_, _, err = e.svc.Enroll(ctx, account.Enrollment{Token: tok.Token, Name: "agent-" + ou})
		require.NoError(t, err)
	}
	all, err := e.svc.Agents(ctx, root)
	require.NoError(t, err)
	require.Len(t, all, 2)
	mine, err := e.svc.Agents(ctx, branch)
	require.NoError(t, err)
	require.Len(t, mine, 1)
	require.Equal(t, e.branch.ID, mine[0].OUID)

	partner := visibility.Principal{UserID: root.UserID, OrgID: e.org.ID, OrgKind: store.Reseller, OUID: e.org.RootOU, Role: store.Admin}
	_, err = e.svc.Agents(ctx, partner)
	require.ErrorIs(t, err, problem.ErrCustomerOnly)
}
