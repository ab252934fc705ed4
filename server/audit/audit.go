// Package audit writes the audit trail: who did what to which thing, from
// where and through which credential. Domain packages record through a
// Recorder; the HTTP layer says who the actor is.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

// Actor is who acts: a user of an organization, from an address, perhaps
// through an API token.
type Actor struct {
	UserID     string
	OrgID      string // the organization the user acts in
	OUID       string // the OU of the user's membership in OrgID: its admins read what the user did
	RemoteAddr string // the client's address, without port
	APITokenID string // set when the request came with an API token
}

// Entry is one audited action on a thing of the organization OrgID.
type Entry struct {
	OrgID string // whose audit trail records it: where it happened
	// OUID is the OU of OrgID the action concerns: the lowest OU whose
	// admins could have done it, so they and the admins above read it.
	// Empty: the whole organization, read by the admins at its root only.
	OUID       string
	Action     string // e.g. "ou_key.read", "grant.revoke"
	TargetType string
	TargetID   string
	Detail     map[string]any // JSON-encoded into the event
}

// Recorder writes audit entries. Record fails when the entry cannot be
// stored: a caller about to reveal a secret records first and stops on
// failure, so no key leaves the server unrecorded.
type Recorder interface {
	Record(ctx context.Context, who Actor, e Entry) error
}

// Store is what the trail needs of the metadata store.
type Store interface {
	AppendAudit(ctx context.Context, e store.AuditEvent) error
}

// Publish is told of every stored event (with its target type and detail
// as given), for example to pass sharing changes on to webhooks. It must
// not block for long; its failures are its own to log.
type Publish func(ctx context.Context, e store.AuditEvent, detail map[string]any)

// Log is the Recorder on the metadata store.
type Log struct {
	st      Store
	publish Publish
	now     func() time.Time
}

// New returns a Log writing to st; publish may be nil.
func New(st Store, publish Publish, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{st: st, publish: publish, now: now}
}

// Record stores e as done by who. An actor of another organization than
// e.OrgID (a partner) is recorded as the acting organization; the API
// token, if any, is added to the detail.
func (l *Log) Record(ctx context.Context, who Actor, e Entry) error {
	ev := store.AuditEvent{OrgID: e.OrgID, OUID: e.OUID, ActorUserID: who.UserID, ActorOUID: who.OUID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, RemoteAddr: who.RemoteAddr, At: l.now()}
	if who.OrgID != e.OrgID {
		ev.ActorOrgID = who.OrgID
	}
	detail := e.Detail
	if who.APITokenID != "" {
		detail = make(map[string]any, len(e.Detail)+1)
		for k, v := range e.Detail {
			detail[k] = v
		}
		detail["api_token_id"] = who.APITokenID
	}
	if len(detail) > 0 {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		ev.Detail = string(b)
	}
	if err := l.st.AppendAudit(ctx, ev); err != nil {
		return fmt.Errorf("writing audit event %s: %w", e.Action, err)
	}
	if l.publish != nil {
		l.publish(ctx, ev, detail)
	}
	return nil
}

// CommonOU returns the lowest OU of ous that is a or above a, and b or
// above b: the OU of an action that concerns both (a member or an OU moved
// from a to b), whose admins could have done it. An empty or unknown id
// gives "": the whole organization.
func CommonOU(ous []store.OU, a, b string) string {
	parent := make(map[string]string, len(ous))
	for _, u := range ous {
		parent[u.ID] = u.ParentID
	}
	above := map[string]bool{}
	for id, n := a, 0; id != "" && n <= len(ous); id, n = parent[id], n+1 {
		if _, ok := parent[id]; !ok {
			return ""
		}
		above[id] = true
	}
	for id, n := b, 0; id != "" && n <= len(ous); id, n = parent[id], n+1 {
		if _, ok := parent[id]; !ok {
			return ""
		}
		if above[id] {
			return id
		}
	}
	return ""
}

var _ Recorder = (*Log)(nil)
