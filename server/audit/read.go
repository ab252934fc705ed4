package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// ReadStore is what reading the trail needs of the metadata store.
type ReadStore interface {
	Organization(ctx context.Context, id string) (store.Organization, error)
	OUs(ctx context.Context, orgID string) ([]store.OU, error)
	AuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// Event is one event of the trail as its reader sees it.
type Event struct {
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

// Page is one page of the trail, newest first; NextBefore, set when the
// page is full, is the BeforeID of the next.
type Page struct {
	Events     []Event `json:"events"`
	NextBefore string  `json:"next_before,omitempty"`
}

// MayRead passes the admins of an organization, who read its trail.
func MayRead(p visibility.Principal) error {
	if !p.IsAdmin() {
		return problem.ErrAdminOnly
	}
	return nil
}

// Read returns the page of p's organization's trail that f (BeforeID,
// Action, Limit; its OrgID and OUs are set here) selects, of the part p
// reads (Scope).
func Read(ctx context.Context, st ReadStore, p visibility.Principal, f store.AuditFilter) (Page, error) {
	if err := MayRead(p); err != nil {
		return Page{}, err
	}
	var err error
	f.OrgID = p.OrgID
	if f.OUs, err = Scope(ctx, st, p); err != nil {
		return Page{}, err
	}
	evs, err := st.AuditEvents(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("loading audit events: %w", err)
	}
	out := Page{Events: []Event{}}
	for _, e := range evs {
		v := Event{ID: e.ID, At: e.At.UTC(), Action: e.Action, ActorUserID: e.ActorUserID, ActorOrgID: e.ActorOrgID,
			OrgID: e.OrgID, TargetType: e.TargetType, TargetID: e.TargetID, RemoteAddr: e.RemoteAddr}
		if e.Detail != "" {
			v.Detail = json.RawMessage(e.Detail)
		}
		out.Events = append(out.Events, v)
	}
	if len(out.Events) == f.Limit {
		out.NextBefore = out.Events[len(out.Events)-1].ID
	}
	return out, nil
}

// Scope is the part of its organization's trail an admin p reads: all
// of it at the root OU (nil); below, the events about its OU and the OUs
// under it and those by users whose membership is there. Events about the
// whole organization (channel partners, webhooks, check-up rules, a
// partner's invitations) and about other OUs name other users and are the
// root admins' alone.
func Scope(ctx context.Context, st ReadStore, p visibility.Principal) ([]string, error) {
	o, err := st.Organization(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading organization %s: %w", p.OrgID, err)
	}
	if p.AdministersAll(o) {
		return nil, nil
	}
	ous, err := st.OUs(ctx, p.OrgID)
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
