// Package storetest is the one test suite every store.Store implementation
// must pass. Call Run from the implementation's tests with a constructor
// that returns an empty store. The cases sit in files named like the
// aggregate interfaces of package store they cover; this file holds Run
// and the helpers that set up what several aggregates need.
package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// Run runs the suite, one subtest per case. newStore returns a fresh,
// empty store; the suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	var tests []test
	for _, part := range [][]test{
		orgTests, accountTests, sessionTests, auditTests, rateLimitTests, keyTests, channelTests,
		agentTests, assetTests, seriesTests, checkupTests, channelSetupTests, webhookTests, notificationTests, scheduleTests, retentionTests, leaseTests, kpiTests, maintenanceTests,
		assetEditTests,
	} {
		tests = append(tests, part...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.f(t, s)
		})
	}
}

// test is one case of the suite; f gets a fresh, empty store.
type test struct {
	name string
	f    func(t *testing.T, s store.Store)
}

func newOrg(t *testing.T, s store.Store, name string) store.Organization {
	t.Helper()
	o := store.Organization{Name: name, Kind: store.Customer}
	require.NoError(t, s.CreateOrganization(t.Context(), &o))
	return o
}

func user(t *testing.T, s store.Store, email string, o store.Organization, role store.Role) store.User {
	t.Helper()
	u := store.User{Email: email, PasswordHash: "h"}
	require.NoError(t, s.CreateUser(t.Context(), &u))
	require.NoError(t, s.AddMembership(t.Context(), store.Membership{UserID: u.ID, OrgID: o.ID, OUID: o.RootOU, Role: role}))
	return u
}

func ou(t *testing.T, s store.Store, org, parent, name string) store.OU {
	t.Helper()
	u := store.OU{OrgID: org, ParentID: parent, Name: name}
	require.NoError(t, s.CreateOU(t.Context(), &u))
	return u
}

func asset(t *testing.T, s store.Store, org, ouID, name string) store.Asset {
	t.Helper()
	a := store.Asset{OrgID: org, OUID: ouID, Name: name, Category: "server"}
	require.NoError(t, s.CreateAsset(t.Context(), &a, nil))
	return a
}

func partner(t *testing.T, s store.Store, name, pid string) store.Organization {
	t.Helper()
	o := store.Organization{Name: name, Kind: store.Reseller, PartnerID: pid}
	require.NoError(t, s.CreateOrganization(t.Context(), &o))
	return o
}

func enrolled(t *testing.T, s store.Store, o store.Organization, ou, cred string) store.Agent {
	t.Helper()
	now := time.Now()
	require.NoError(t, s.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "enroll-" + cred, OrgID: o.ID,
		OUID: ou, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	a := store.Agent{Name: cred, TokenHash: cred}
	require.NoError(t, s.EnrollAgent(t.Context(), "enroll-"+cred, now, &a))
	got, err := s.AgentByTokenHash(t.Context(), cred)
	require.NoError(t, err)
	require.Equal(t, a.ID, got.ID)
	require.Equal(t, ou, got.OUID)
	return got
}
