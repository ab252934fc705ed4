package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

// AppendAudit implements store.Audit.
func (d *DB) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("audit event id: %w", err)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err = d.db.ExecContext(ctx,
		`INSERT INTO audit_events (id, org_id, ou_id, actor_org_id, actor_user_id, actor_ou_id, action, target_type, target_id, detail, remote_addr, at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		id.String(), e.OrgID, e.OUID, e.ActorOrgID, e.ActorUserID, e.ActorOUID, e.Action, e.TargetType, e.TargetID, e.Detail, e.RemoteAddr, ms(e.At))
	if err != nil {
		return fmt.Errorf("writing audit event %s: %w", e.Action, err)
	}
	return nil
}

// AuditEvents implements store.Audit.
func (d *DB) AuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `SELECT id, org_id, ou_id, actor_org_id, actor_user_id, actor_ou_id, action, target_type, target_id, detail, remote_addr, at
	      FROM audit_events WHERE (org_id = $1 OR actor_org_id = $1)`
	args := []any{f.OrgID}
	if f.OUs != nil {
		if len(f.OUs) == 0 {
			return nil, nil
		}
		// OU ids are unique across organizations: an actor OU in the list
		// is one of f.OrgID's. Both IN lists use the same placeholders.
		ph := placeholders(2, len(f.OUs))
		q += ` AND ((org_id = $1 AND ou_id IN (` + ph + `)) OR actor_ou_id IN (` + ph + `))`
		args = append(args, anys(f.OUs)...)
	}
	if f.BeforeID != "" {
		args = append(args, f.BeforeID)
		q += fmt.Sprintf(" AND id < $%d", len(args))
	}
	if f.Action != "" {
		args = append(args, f.Action)
		q += fmt.Sprintf(" AND action = $%d", len(args))
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading audit trail: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.OrgID, &e.OUID, &e.ActorOrgID, &e.ActorUserID, &e.ActorOUID, &e.Action, &e.TargetType, &e.TargetID, &e.Detail, &e.RemoteAddr, &at); err != nil {
			return nil, fmt.Errorf("reading audit trail: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
