package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

type auditJSON struct {
	ID          string          `json:"id"`
	At          time.Time       `json:"at"`
	Action      string          `json:"action"`
	ActorUserID string          `json:"actor_user_id,omitempty"`
	ActorOrgID  string          `json:"actor_organization_id,omitempty"` // another organization acted (a partner using a key)
	OrgID       string          `json:"organization_id"`
	TargetType  string          `json:"target_type,omitempty"`
	TargetID    string          `json:"target_id,omitempty"`
	Detail      json.RawMessage `json:"detail,omitempty"`
	RemoteAddr  string          `json:"remote_addr,omitempty"`
}

// listAudit answers the organization's audit trail to its admins, newest
// first: ?limit= (≤1000), ?before=<id> for the next page, ?action=.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := requireAdmin(p); err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := limitParam(q, 100, 1000)
	if err != nil {
		return err
	}
	f := store.AuditFilter{OrgID: p.OrgID, BeforeID: q.Get("before"), Action: q.Get("action"), Limit: limit}
	evs, err := a.store.AuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	out := []auditJSON{}
	for _, e := range evs {
		j := auditJSON{ID: e.ID, At: e.At.UTC(), Action: e.Action, ActorUserID: e.ActorUserID, ActorOrgID: e.ActorOrgID,
			OrgID: e.OrgID, TargetType: e.TargetType, TargetID: e.TargetID, RemoteAddr: e.RemoteAddr}
		if e.Detail != "" {
			j.Detail = json.RawMessage(e.Detail)
		}
		out = append(out, j)
	}
	resp := map[string]any{"events": out}
	if len(out) == f.Limit {
		resp["next_before"] = out[len(out)-1].ID
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
