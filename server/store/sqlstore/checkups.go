package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

// CheckupRules implements store.Checkups.
func (d *DB) CheckupRules(ctx context.Context, orgID string) (store.CheckupRules, error) {
	r := store.CheckupRules{OrgID: orgID}
	var doc string
	var at int64
	err := d.db.QueryRowContext(ctx, `SELECT doc, updated_by, updated_at FROM checkup_rules WHERE org_id = $1`, orgID).
		Scan(&doc, &r.UpdatedBy, &at)
	if err != nil {
		return r, notFound(err, "check-up rules of "+orgID)
	}
	r.Doc, r.UpdatedAt = []byte(doc), fromMS(at)
	return r, nil
}

// PutCheckupRules implements store.Checkups.
func (d *DB) PutCheckupRules(ctx context.Context, r store.CheckupRules) error {
	var err error
	if r.Doc == nil {
		_, err = d.db.ExecContext(ctx, `DELETE FROM checkup_rules WHERE org_id = $1`, r.OrgID)
	} else {
		_, err = d.db.ExecContext(ctx,
			`INSERT INTO checkup_rules (org_id, doc, updated_by, updated_at) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (org_id) DO UPDATE SET doc = excluded.doc, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			r.OrgID, string(r.Doc), r.UpdatedBy, ms(r.UpdatedAt))
	}
	if err != nil {
		return fmt.Errorf("storing check-up rules of %s: %w", r.OrgID, err)
	}
	return nil
}

const findingCols = `id, org_id, rule_id, kind, asset_id, agent_id, ou_id, subject, severity, text,
	opened_at, last_seen_at, resolved_at, acked_at, acked_by, ack_note, suppressed_by, maintenance_id`

func scanFinding(row rowScanner) (store.Finding, error) {
	var f store.Finding
	var opened, seen, resolved, acked int64
	err := row.Scan(&f.ID, &f.OrgID, &f.RuleID, &f.Kind, &f.AssetID, &f.AgentID, &f.OUID, &f.Subject, &f.Severity, &f.Text,
		&opened, &seen, &resolved, &acked, &f.AckedBy, &f.AckNote, &f.SuppressedBy, &f.MaintenanceID)
	f.OpenedAt, f.LastSeenAt, f.ResolvedAt, f.AckedAt = fromMS(opened), fromMS(seen), fromMS(resolved), fromMS(acked)
	return f, err
}

// ReconcileFindings implements store.Checkups.
func (d *DB) ReconcileFindings(ctx context.Context, orgID string, results []store.FindingResult, now time.Time) (store.Reconciled, error) {
	var out store.Reconciled
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		out = store.Reconciled{}
		open, err := queryAll(ctx, tx, "open findings", scanFinding,
			`SELECT `+findingCols+` FROM findings WHERE org_id = $1 AND resolved_at = 0`, orgID)
		if err != nil {
			return err
		}
		byKey := make(map[string]store.Finding, len(open))
		for _, f := range open {
			byKey[f.Key()] = f
		}
		ids := make(map[string]string, len(open)) // key → id of the open finding
		for k, f := range byKey {
			ids[k] = f.ID
		}
		seen := map[string]bool{}
		// Results a parent's finding suppresses come last, so that the
		// parent's finding exists (opened now or before) when they open.
		ordered := slices.Clone(results)
		slices.SortStableFunc(ordered, func(a, b store.FindingResult) int {
			return cmp.Compare(min(len(a.ParentKey), 1), min(len(b.ParentKey), 1))
		})
		for _, r := range ordered {
			k := r.Key()
			if seen[k] {
				continue // a rule named the same subject twice: the first counts
			}
			seen[k] = true
			if f, ok := byKey[k]; ok {
				handover, err := handedOver(ctx, tx, f, r, now)
				if err != nil {
					return err
				}
				if !handover {
					if _, err := tx.ExecContext(ctx,
						`UPDATE findings SET severity = $1, text = $2, ou_id = $3, last_seen_at = $4 WHERE id = $5`,
						r.Severity, r.Text, r.OUID, ms(now), f.ID); err != nil {
						return fmt.Errorf("refreshing finding %s: %w", f.ID, err)
					}
					continue
				}
				// The parent is back and this asset is still down: its
				// suppressed finding ends, an unsuppressed one opens.
				ok, err := resolveFinding(ctx, tx, f, now, &out)
				if err != nil {
					return err
				}
				if !ok {
					continue // another replica handed it over
				}
			}
			f := store.Finding{ID: uuid.NewString(), OrgID: orgID, FindingResult: r,
				OpenedAt: now.UTC().Truncate(time.Millisecond), LastSeenAt: now.UTC().Truncate(time.Millisecond)}
			if r.ParentKey != "" {
				if f.SuppressedBy = ids[r.ParentKey]; f.SuppressedBy == "" {
					continue // held back until the parent's finding opens
				}
			}
			// DO NOTHING: another replica opened it a moment ago.
			res, err := tx.ExecContext(ctx, `INSERT INTO findings (`+findingCols+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 0, 0, '', '', $12, $13)
				ON CONFLICT DO NOTHING`,
				f.ID, orgID, r.RuleID, r.Kind, r.AssetID, r.AgentID, r.OUID, r.Subject, r.Severity, r.Text, ms(now),
				f.SuppressedBy, r.MaintenanceID)
			if err != nil {
				return fmt.Errorf("opening finding %s of rule %s: %w", r.Subject, r.RuleID, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				ids[k] = f.ID
				out.Opened = append(out.Opened, f)
			}
		}
		// In key order: two replicas resolving at once lock the rows in
		// the same order, so neither waits on the other (PostgreSQL found
		// deadlocks when each went in its own map order).
		for _, k := range slices.Sorted(maps.Keys(byKey)) {
			f := byKey[k]
			if seen[k] {
				continue
			}
			if _, err := resolveFinding(ctx, tx, f, now, &out); err != nil {
				return err
			}
		}
		slices.SortFunc(out.Resolved, func(a, b store.Finding) int { return strings.Compare(a.ID, b.ID) })
		return nil
	})
	return out, err
}

// resolveFinding resolves f and adds it to out.Resolved; ok is false when
// another replica resolved it a moment ago (resolved_at <> 0): then this
// one did not.
func resolveFinding(ctx context.Context, tx *sql.Tx, f store.Finding, now time.Time, out *store.Reconciled) (ok bool, err error) {
	res, err := tx.ExecContext(ctx, `UPDATE findings SET resolved_at = $1 WHERE id = $2 AND resolved_at = 0`, ms(now), f.ID)
	if err != nil {
		return false, fmt.Errorf("resolving finding %s: %w", f.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	f.ResolvedAt = now.UTC().Truncate(time.Millisecond)
	out.Resolved = append(out.Resolved, f)
	return true, nil
}

// handedOver reports whether open finding f, suppressed by its parent's
// finding, is to end in favour of an unsuppressed one: r no longer names
// a parent, and the parent's finding was resolved SuppressionHandover ago
// or longer (a device behind a switch that came back may take a poll or
// two to answer; only one still down after that is down on its own).
func handedOver(ctx context.Context, tx *sql.Tx, f store.Finding, r store.FindingResult, now time.Time) (bool, error) {
	if f.SuppressedBy == "" || r.ParentKey != "" {
		return false, nil
	}
	var resolved int64
	err := tx.QueryRowContext(ctx, `SELECT resolved_at FROM findings WHERE id = $1`, f.SuppressedBy).Scan(&resolved)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading suppressing finding %s: %w", f.SuppressedBy, err)
	}
	return resolved != 0 && now.Sub(fromMS(resolved)) >= store.SuppressionHandover, nil
}

// Findings implements store.Checkups: newest first.
func (d *DB) Findings(ctx context.Context, f store.FindingFilter) ([]store.Finding, error) {
	where := []string{"org_id = $1"}
	args := []any{f.OrgID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.AssetIDs != nil {
		var who []string
		if len(f.AssetIDs) > 0 {
			ph := make([]string, len(f.AssetIDs))
			for i, id := range f.AssetIDs {
				ph[i] = arg(id)
			}
			who = append(who, "asset_id IN ("+strings.Join(ph, ", ")+")")
		}
		if f.Agents {
			who = append(who, "agent_id <> ''")
		}
		if len(who) == 0 {
			return nil, nil
		}
		where = append(where, "("+strings.Join(who, " OR ")+")")
	} else if !f.Agents {
		where = append(where, "agent_id = ''")
	}
	if f.Open != nil {
		if *f.Open {
			where = append(where, "resolved_at = 0")
		} else {
			where = append(where, "resolved_at <> 0")
		}
	}
	if !f.Since.IsZero() {
		where = append(where, "(opened_at >= "+arg(ms(f.Since))+" OR resolved_at = 0 OR resolved_at >= "+arg(ms(f.Since))+")")
	}
	q := `SELECT ` + findingCols + ` FROM findings WHERE ` + strings.Join(where, " AND ") + ` ORDER BY opened_at DESC, id`
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	return queryAll(ctx, d.db, "findings", scanFinding, q, args...)
}

// OpenFindingCounts implements store.Checkups. The partial unique index
// findings_open (org_id, … WHERE resolved_at = 0) serves it.
func (d *DB) OpenFindingCounts(ctx context.Context, orgIDs []string) ([]store.FindingCount, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	ph := make([]string, len(orgIDs))
	args := make([]any, len(orgIDs))
	for i, id := range orgIDs {
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), id
	}
	q := `SELECT org_id, asset_id, severity, COUNT(*) FROM findings
		WHERE org_id IN (` + strings.Join(ph, ", ") + `) AND resolved_at = 0 AND asset_id <> ''
		GROUP BY org_id, asset_id, severity`
	return queryAll(ctx, d.db, "counting open findings", func(r rowScanner) (store.FindingCount, error) {
		var c store.FindingCount
		err := r.Scan(&c.OrgID, &c.AssetID, &c.Severity, &c.Count)
		return c, err
	}, q, args...)
}

// Finding implements store.Checkups.
func (d *DB) Finding(ctx context.Context, id string) (store.Finding, error) {
	f, err := scanFinding(d.db.QueryRowContext(ctx, `SELECT `+findingCols+` FROM findings WHERE id = $1`, id))
	if err != nil {
		return f, notFound(err, "finding")
	}
	return f, nil
}

// AckFinding implements store.Checkups.
func (d *DB) AckFinding(ctx context.Context, id, userID, note string, at time.Time) error {
	return d.exec1(ctx, "finding "+id, `UPDATE findings SET acked_at = $1, acked_by = $2, ack_note = $3 WHERE id = $4`,
		ms(at), userID, note, id)
}
