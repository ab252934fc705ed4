package webhook

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

// TestSharingEventReachesTheOrganizationsInvolved: the customer, the
// acting partner and the partner concerned (named by organization id or
// partner ID) each get the event, without the actor's API token.
func TestSharingEventReachesTheOrganizationsInvolved(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	hooks := map[string]store.Webhook{}
	for _, o := range []store.Organization{{Name: "Acme", Kind: store.Customer}, {Name: "Actor", Kind: store.Reseller, PartnerID: "P-ACT"},
		{Name: "ByID", Kind: store.Reseller, PartnerID: "P-ID"}, {Name: "ByPID", Kind: store.Reseller, PartnerID: "P-PID"},
		{Name: "Bystander", Kind: store.Reseller, PartnerID: "P-BY"}} {
		require.NoError(t, st.CreateOrganization(ctx, &o))
		h := store.Webhook{OrgID: o.ID, URL: "https://hooks.example/" + o.Name, Secret: "kpwh_s", Events: []string{"sharing.*"}}
		require.NoError(t, st.CreateWebhook(ctx, &h))
		hooks[o.Name] = h
	}
	d := New(st, Options{}, slog.New(slog.DiscardHandler), nil)
	e := store.AuditEvent{OrgID: hooks["Acme"].OrgID, ActorOrgID: hooks["Actor"].OrgID, Action: "grant.revoke",
		TargetType: "grant", TargetID: "g1", At: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	d.SharingEvent(ctx, e, map[string]any{"partner_org_id": hooks["ByID"].OrgID, "partner_id": "P-PID", "api_token_id": "tok"},
		st.OrganizationByPartnerID)
	d.SharingEvent(ctx, store.AuditEvent{OrgID: e.OrgID, Action: "ou_key.read"}, nil, st.OrganizationByPartnerID)

	for name, h := range hooks {
		ds, err := st.Deliveries(ctx, h.ID, 10)
		require.NoError(t, err)
		if name == "Bystander" {
			require.Empty(t, ds, "an organization not involved hears nothing")
			continue
		}
		require.Len(t, ds, 1, "%s gets the revocation and nothing of the key read", name)
		require.Equal(t, "sharing.grant.revoke", ds[0].Event)
		require.NotContains(t, string(ds[0].Payload), "api_token_id")
		require.Contains(t, string(ds[0].Payload), `"partner_id":"P-PID"`)
	}
}
