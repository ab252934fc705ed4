package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
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
// first: ?limit= (≤1000), ?before=<id> for the next page, ?action=. An
// admin of a sub-OU reads only its subtree's part (auditScope).
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
	if f.OUs, err = a.auditScope(r.Context(), p); err != nil {
		return err
	}
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

// auditScope is the part of its organization's trail an admin reads: all
// of it at the root OU (nil); below, the events about its OU and the OUs
// under it and those by users whose membership is there. Events about the
// whole organization (channel partners, webhooks, check-up rules, a
// partner's invitations) and about other OUs name other users and are the
// root admins' alone.
func (a *API) auditScope(ctx context.Context, p visibility.Principal) ([]string, error) {
	o, err := a.store.Organization(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading organization %s: %w", p.OrgID, err)
	}
	if p.AdministersAll(o) {
		return nil, nil
	}
	ous, err := a.store.OUs(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading OUs: %w", err)
	}
	sub := visibility.Subtree(p.OrgID, p.OUID, ous)
	out := make([]string, 0, len(sub))
	for id := range sub {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}
