package findings_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/findings"
)

// TestViewJSON holds the API's finding answer, which encodes a View as it
// is: null while open and unacknowledged, no asset for an agent's
// finding, the resolution time in UTC.
func TestViewJSON(t *testing.T) {
	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	resolved := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    findings.View
		want string
	}{
		{"open agent finding", findings.View{ID: "f1", RuleID: "agent_silent", Kind: "agent", Severity: "warning", Subject: "s", Text: "t",
			State: "open", Agent: &findings.Ref{ID: "ag1", Name: "Agent"}, OUID: "ou1", OpenedAt: at, LastSeenAt: at},
			`{"id":"f1","rule_id":"agent_silent","kind":"agent","severity":"warning","subject":"s","text":"t","state":"open",
			  "agent":{"id":"ag1","name":"Agent"},"ou_id":"ou1","opened_at":"2026-12-07T08:00:00Z","last_seen_at":"2026-12-07T08:00:00Z",
			  "resolved_at":null,"acknowledged":null}`},
		{"resolved, acknowledged, a customer's", findings.View{ID: "f2", RuleID: "disk", Kind: "asset", Severity: "critical", State: "resolved",
			Asset: &findings.Ref{ID: "a1", Name: "ESX"}, Customer: &findings.Ref{ID: "o1", Name: "Acme"}, OpenedAt: at, LastSeenAt: at,
			ResolvedAt: &resolved, Acknowledged: &findings.Ack{At: at, Note: "ordered"}},
			`{"id":"f2","rule_id":"disk","kind":"asset","severity":"critical","subject":"","text":"","state":"resolved",
			  "asset":{"id":"a1","name":"ESX"},"customer":{"id":"o1","name":"Acme"},"opened_at":"2026-12-07T08:00:00Z",
			  "last_seen_at":"2026-12-07T08:00:00Z","resolved_at":"2026-12-07T10:00:00Z","acknowledged":{"at":"2026-12-07T08:00:00Z","note":"ordered"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			require.NoError(t, err)
			require.JSONEq(t, tt.want, string(b))
		})
	}
}
