package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// auditTests cover store.Audit.
var auditTests = []test{
	{"AuditTrail", testAudit},
}

func testAudit(t *testing.T, s store.Store) {
	c, p, other := newOrg(t, s, "Acme"), partner(t, s, "Reseller", "P-1"), newOrg(t, s, "Other")
	ctx := t.Context()
	for i, action := range []string{"ou_key.read", "ou_key.send", "ou_key.use", "grant.revoke"} {
		e := store.AuditEvent{OrgID: c.ID, ActorUserID: "u", Action: action, TargetType: "ou", TargetID: c.RootOU, At: time.Now()}
		if i == 2 {
			e.ActorOrgID = p.ID
		}
		require.NoError(t, s.AppendAudit(ctx, e))
	}
	require.NoError(t, s.AppendAudit(ctx, store.AuditEvent{OrgID: other.ID, Action: "ou_key.read"}))
	evs, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: c.ID})
	require.NoError(t, err)
	require.Len(t, evs, 4)
	require.Equal(t, "grant.revoke", evs[0].Action, "newest first")
	page, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: c.ID, BeforeID: evs[1].ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.Equal(t, "ou_key.send", page[0].Action)
	pe, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: p.ID})
	require.NoError(t, err)
	require.Len(t, pe, 1, "the partner sees the event it acted in, nothing else")
	require.Equal(t, "ou_key.use", pe[0].Action)
	filtered, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: c.ID, Action: "ou_key.send"})
	require.NoError(t, err)
	require.Len(t, filtered, 1)
}
