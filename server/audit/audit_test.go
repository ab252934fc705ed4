package audit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

func TestRecord(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	cust := &store.Organization{Name: "Customer", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, cust))

	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	var published []store.AuditEvent
	log := audit.New(st, func(_ context.Context, e store.AuditEvent, _ map[string]any) { published = append(published, e) },
		func() time.Time { return at })

	tests := []struct {
		name          string
		who           audit.Actor
		entry         audit.Entry
		wantActorOrg  string
		wantDetailKey map[string]any
	}{
		{"own organization", audit.Actor{UserID: "u1", OrgID: cust.ID, OUID: cust.RootOU, RemoteAddr: "192.0.2.1"},
			audit.Entry{OrgID: cust.ID, OUID: cust.RootOU, Action: "ou_key.read", TargetType: "ou", TargetID: cust.RootOU}, "", nil},
		{"partner through an API token", audit.Actor{UserID: "u2", OrgID: "partner-org", RemoteAddr: "192.0.2.2", APITokenID: "tok"},
			audit.Entry{OrgID: cust.ID, Action: "grant.create", TargetType: "asset", TargetID: "a1", Detail: map[string]any{"via": "system-key"}},
			"partner-org", map[string]any{"via": "system-key", "api_token_id": "tok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, log.Record(ctx, tt.who, tt.entry))
			evs, err := st.AuditEvents(ctx, store.AuditFilter{OrgID: cust.ID, Action: tt.entry.Action, Limit: 10})
			require.NoError(t, err)
			require.Len(t, evs, 1)
			e := evs[0]
			require.Equal(t, tt.who.UserID, e.ActorUserID)
			require.Equal(t, tt.wantActorOrg, e.ActorOrgID)
			require.Equal(t, tt.who.RemoteAddr, e.RemoteAddr)
			require.Equal(t, tt.entry.TargetID, e.TargetID)
			require.Equal(t, tt.entry.OUID, e.OUID)
			require.Equal(t, tt.who.OUID, e.ActorOUID)
			require.True(t, e.At.Equal(at), "got time %v, want %v", e.At, at)
			if tt.wantDetailKey == nil {
				require.Empty(t, e.Detail)
			} else {
				var d map[string]any
				require.NoError(t, json.Unmarshal([]byte(e.Detail), &d))
				require.Equal(t, tt.wantDetailKey, d)
			}
			require.Equal(t, tt.entry.Action, published[len(published)-1].Action)
		})
	}
	// The caller's detail map is not changed by the token id.
	d := map[string]any{"k": "v"}
	require.NoError(t, log.Record(ctx, audit.Actor{UserID: "u", OrgID: cust.ID, APITokenID: "t"},
		audit.Entry{OrgID: cust.ID, Action: "x", Detail: d}))
	require.Equal(t, map[string]any{"k": "v"}, d)
}

func TestRecordFailsWhenNotStored(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, st.Close()) // a closed database refuses the write
	published := false
	log := audit.New(st, func(context.Context, store.AuditEvent, map[string]any) { published = true }, nil)
	err = log.Record(ctx, audit.Actor{UserID: "u"}, audit.Entry{OrgID: "o", Action: "ou_key.read"})
	require.ErrorContains(t, err, "writing audit event ou_key.read")
	require.False(t, published, "an event that was not stored must not be published")
}

func TestCommonOU(t *testing.T) {
	// root ─ a ─ a1
	//      └ b
	ous := []store.OU{{ID: "root"}, {ID: "a", ParentID: "root"}, {ID: "a1", ParentID: "a"}, {ID: "b", ParentID: "root"}}
	tests := []struct {
		name, a, b, want string
	}{
		{"same OU", "a1", "a1", "a1"},
		{"one above the other", "a1", "a", "a"},
		{"other way round", "a", "a1", "a"},
		{"siblings meet at the root", "a1", "b", "root"},
		{"unknown OU is the whole organization", "gone", "a", ""},
		{"empty is the whole organization", "", "a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, audit.CommonOU(ous, tt.a, tt.b))
		})
	}
}
