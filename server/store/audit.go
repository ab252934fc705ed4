package store

import (
	"context"
	"time"
)

// AuditEvent is one entry of the audit trail. OrgID is the organization
// whose admins read it; ActorOrgID, when another organization acted (a
// partner using a key), lets that organization's admins read it too.
type AuditEvent struct {
	ID          string
	OrgID       string
	ActorOrgID  string
	ActorUserID string
	Action      string // ou_key.read, system_key.send, grant.revoke, …
	TargetType  string // ou, asset, grant, user, channel_partner, …
	TargetID    string
	Detail      string // JSON object
	RemoteAddr  string
	At          time.Time
}

// AuditFilter pages through an organization's audit trail, newest first.
type AuditFilter struct {
	OrgID    string
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
