package account

import (
	"time"

	"github.com/kpilot/kpilot/server/store"
)

// The views below are how the API answers an organization's agents,
// members, invitations and API tokens: the JSON it writes as they are.

// AgentView is an agent with when it last delivered data and its latest
// problem.
type AgentView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Hostname    string     `json:"hostname"`
	OUID        string     `json:"ou_id"`
	Version     string     `json:"version"`
	EnrolledAt  time.Time  `json:"enrolled_at"`
	LastSeenAt  *time.Time `json:"last_seen_at"`
	Status      string     `json:"status"` // ok, or stale: nothing delivered for store.StaleAfter
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// ViewAgent is ag as of now.
func ViewAgent(ag store.Agent, now time.Time) AgentView {
	v := AgentView{ID: ag.ID, Name: ag.Name, Hostname: ag.Hostname, OUID: ag.OUID, Version: ag.Version,
		EnrolledAt: ag.CreatedAt.UTC(), LastSeenAt: timePtr(ag.LastSeenAt), Status: "ok",
		LastError: ag.LastError, LastErrorAt: timePtr(ag.LastErrorAt)}
	if now.Sub(ag.LastSeenAt) > store.StaleAfter {
		v.Status = "stale"
	}
	return v
}

// InvitationView is an invitation with its status.
type InvitationView struct {
	ID          string               `json:"id"`
	Kind        store.InvitationKind `json:"kind"`
	Email       string               `json:"email"`
	Role        store.Role           `json:"role"`
	OUID        string               `json:"ou_id,omitempty"`
	Company     string               `json:"company,omitempty"`
	Status      string               `json:"status"` // open, accepted, revoked, expired
	CreatedAt   time.Time            `json:"created_at"`
	ExpiresAt   time.Time            `json:"expires_at"`
	ResultOrgID string               `json:"organization_id,omitempty"`
}

// ViewInvitation is inv as of now (InvitationStatus).
func ViewInvitation(inv store.Invitation, now time.Time) InvitationView {
	return InvitationView{ID: inv.ID, Kind: inv.Kind, Email: inv.Email, Role: inv.Role, OUID: inv.OUID, Company: inv.Company,
		Status: InvitationStatus(inv, now), CreatedAt: inv.CreatedAt.UTC(), ExpiresAt: inv.ExpiresAt.UTC(),
		ResultOrgID: inv.ResultOrgID}
}

// TokenView is an API token without its secret, which only the answer
// that creates it carries (Token).
type TokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"` // the first characters, to recognise it
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Token      string     `json:"token,omitempty"`
}

// ViewToken is t without its secret.
func ViewToken(t store.APIToken) TokenView {
	return TokenView{ID: t.ID, Name: t.Name, Hint: t.Hint, CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: timePtr(t.ExpiresAt), LastUsedAt: timePtr(t.LastUsedAt)}
}

// MemberView is a user of an organization.
type MemberView struct {
	UserID string     `json:"user_id"`
	Email  string     `json:"email"`
	Role   store.Role `json:"role"`
	OUID   string     `json:"ou_id"`
}

// ViewMember is m.
func ViewMember(m store.Member) MemberView {
	return MemberView{UserID: m.UserID, Email: m.Email, Role: m.Role, OUID: m.Membership.OUID}
}

// timePtr is t in UTC, nil when zero (never).
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
