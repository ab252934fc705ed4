package account_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/store"
)

// TestViews holds the API's answers for agents, invitations, API tokens
// and members, which encode the views as they are.
func TestViews(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := now.Add(-time.Hour)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"agent seen just now", account.ViewAgent(store.Agent{ID: "ag1", Name: "n", Hostname: "h", OUID: "ou", Version: "1.0",
			CreatedAt: at, LastSeenAt: now.Add(-time.Minute)}, now),
			`{"id":"ag1","name":"n","hostname":"h","ou_id":"ou","version":"1.0","enrolled_at":"2026-12-07T11:00:00Z",
			  "last_seen_at":"2026-12-07T11:59:00Z","status":"ok"}`},
		{"agent silent, with an error", account.ViewAgent(store.Agent{ID: "ag2", CreatedAt: at, LastSeenAt: now.Add(-store.StaleAfter - time.Second),
			LastError: "snmp timeout", LastErrorAt: at}, now),
			`{"id":"ag2","name":"","hostname":"","ou_id":"","version":"","enrolled_at":"2026-12-07T11:00:00Z",
			  "last_seen_at":"2026-12-07T11:44:59Z","status":"stale","last_error":"snmp timeout","last_error_at":"2026-12-07T11:00:00Z"}`},
		{"agent never seen", account.ViewAgent(store.Agent{ID: "ag3", CreatedAt: at}, now),
			`{"id":"ag3","name":"","hostname":"","ou_id":"","version":"","enrolled_at":"2026-12-07T11:00:00Z","last_seen_at":null,"status":"stale"}`},
		{"open invitation", account.ViewInvitation(store.Invitation{ID: "i1", Kind: "user", Email: "a@example.com", Role: store.Viewer, OUID: "ou",
			CreatedAt: at, ExpiresAt: now.Add(time.Hour)}, now),
			`{"id":"i1","kind":"user","email":"a@example.com","role":"viewer","ou_id":"ou","status":"open",
			  "created_at":"2026-12-07T11:00:00Z","expires_at":"2026-12-07T13:00:00Z"}`},
		{"expired invitation", account.ViewInvitation(store.Invitation{ID: "i2", Kind: "customer", Email: "b@example.com", Role: store.Admin,
			Company: "Acme", CreatedAt: at, ExpiresAt: at}, now),
			`{"id":"i2","kind":"customer","email":"b@example.com","role":"admin","company":"Acme","status":"expired",
			  "created_at":"2026-12-07T11:00:00Z","expires_at":"2026-12-07T11:00:00Z"}`},
		{"token, never used, no expiry", account.ViewToken(store.APIToken{ID: "t1", Name: "prom", Hint: "kp_ab", CreatedAt: at}),
			`{"id":"t1","name":"prom","hint":"kp_ab","created_at":"2026-12-07T11:00:00Z"}`},
		{"member", account.ViewMember(store.Member{User: store.User{ID: "u1", Email: "c@example.com"}, Membership: store.Membership{UserID: "u1", OUID: "ou", Role: store.Admin}}),
			`{"user_id":"u1","email":"c@example.com","role":"admin","ou_id":"ou"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(b))
		})
	}
}
