package store

import (
	"context"
	"time"
)

// AuditEvent is one entry of the audit trail. OrgID is the organization
// whose admins read it; ActorOrgID, when another organization acted (a
// partner using a key), lets that organization's admins read it too. OUID
// and ActorOUID narrow it to a part of an organization (AuditFilter.OUs).
type AuditEvent struct {
	ID          string
	OrgID       string
	OUID        string // the OU of OrgID the event concerns; empty: the whole organization
	ActorOrgID  string
	ActorUserID string
	ActorOUID   string // the OU of the acting user's membership in the organization it acted for
	Action      string // ou_key.read, system_key.send, grant.revoke, …
	TargetType  string // ou, asset, grant, user, channel_partner, …
	TargetID    string
	Detail      string // JSON object
	RemoteAddr  string
	At          time.Time
}

// AuditFilter pages through an organization's audit trail, newest first.
type AuditFilter struct {
	OrgID string
	// OUs, when not nil, narrows the trail to a part of the organization
	// (a sub-OU admin's subtree): events about one of these OUs, and
	// events by users whose membership is in one of them. Events about the
	// whole organization by others are left out. Nil: the whole trail.
	OUs      []string
	BeforeID string // page: events older than this id
	Action   string // optional exact action
	Limit    int    // 1 to 1000; otherwise 100
}

// Audit stores the audit trail. Events are only appended (and pruned after
// Retention.AuditEvents); their ids sort by time, so an id pages.
type Audit interface {
	// AppendAudit stores e under a new id; a zero e.At is now.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// AuditEvents returns events of f.OrgID (as the organization or as the
	// acting one), newest first.
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}
