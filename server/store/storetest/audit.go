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
	{"AuditTrailOfSubtree", testAuditSubtree},
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

// testAuditSubtree: a trail narrowed to OUs holds the events about them
// and those by users whose membership is in them, whichever organization
// recorded them; nothing about the whole organization or other OUs.
func testAuditSubtree(t *testing.T, s store.Store) {
	c, p := newOrg(t, s, "Acme"), partner(t, s, "Reseller", "P-1")
	sub := ou(t, s, c.ID, c.RootOU, "Branch")
	below := ou(t, s, c.ID, sub.ID, "Office")
	side := ou(t, s, c.ID, c.RootOU, "Elsewhere")
	psub := ou(t, s, p.ID, p.RootOU, "Sales")
	ctx := t.Context()
	for _, e := range []store.AuditEvent{
		{OrgID: c.ID, Action: "whole.by_root", ActorOUID: c.RootOU},
		{OrgID: c.ID, Action: "sub.by_root", OUID: sub.ID, ActorOUID: c.RootOU},
		{OrgID: c.ID, Action: "below.by_root", OUID: below.ID, ActorOUID: c.RootOU},
		{OrgID: c.ID, Action: "side.by_root", OUID: side.ID, ActorOUID: c.RootOU},
		{OrgID: c.ID, Action: "whole.by_below", ActorOUID: below.ID},
		{OrgID: c.ID, Action: "side.by_side", OUID: side.ID, ActorOUID: side.ID},
		{OrgID: c.ID, Action: "sub.by_partner", OUID: sub.ID, ActorOrgID: p.ID, ActorOUID: psub.ID},
		{OrgID: c.ID, Action: "side.by_partner_root", OUID: side.ID, ActorOrgID: p.ID, ActorOUID: p.RootOU},
	} {
		require.NoError(t, s.AppendAudit(ctx, e))
	}
	actions := func(f store.AuditFilter) []string {
		evs, err := s.AuditEvents(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, e := range evs {
			out = append(out, e.Action)
		}
		return out
	}
	require.Equal(t, []string{"sub.by_partner", "whole.by_below", "below.by_root", "sub.by_root"},
		actions(store.AuditFilter{OrgID: c.ID, OUs: []string{sub.ID, below.ID}}))
	require.Len(t, actions(store.AuditFilter{OrgID: c.ID}), 8, "nil OUs: the whole trail")
	require.Empty(t, actions(store.AuditFilter{OrgID: c.ID, OUs: []string{}}))
	require.Equal(t, []string{"sub.by_partner"}, actions(store.AuditFilter{OrgID: p.ID, OUs: []string{psub.ID}}),
		"a partner's sub-OU reads what its users did, not the customer's OUs it names")
	require.Empty(t, actions(store.AuditFilter{OrgID: p.ID, OUs: []string{sub.ID}}), "another organization's OU ids do not reach its trail")
	evs, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: c.ID, Action: "sub.by_partner"})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, sub.ID, evs[0].OUID)
	require.Equal(t, psub.ID, evs[0].ActorOUID)
}
