package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

func insertGrant(ctx context.Context, tx *sql.Tx, g *store.Grant) error {
	// An equal live grant is kept and returned.
	var id string
	var at int64
	err := tx.QueryRowContext(ctx,
		`SELECT id, granted_at FROM grants WHERE asset_id = $1 AND partner_org_id = $2 AND kind = $3 AND revoked_at IS NULL`,
		g.AssetID, g.PartnerOrgID, string(g.Kind)).Scan(&id, &at)
	if err == nil {
		g.ID, g.GrantedAt = id, fromMS(at)
		return nil
	}
	if err != sql.ErrNoRows {
		return fmt.Errorf("looking up grant: %w", err)
	}
	g.ID = uuid.NewString()
	if g.GrantedAt.IsZero() {
		g.GrantedAt = time.Now().UTC().Truncate(time.Millisecond)
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO grants (id, asset_id, customer_org_id, partner_org_id, kind, granted_by, granted_at)
		 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM assets WHERE id = $2 AND org_id = $3)`,
		g.ID, g.AssetID, g.CustomerOrgID, g.PartnerOrgID, string(g.Kind), g.GrantedBy, ms(g.GrantedAt))
	if err != nil {
		return fmt.Errorf("storing grant: %w", err)
	}
	return nil
}

// CreateGrant implements store.Channel.
func (d *DB) CreateGrant(ctx context.Context, g *store.Grant) error {
	return d.inTx(ctx, func(tx *sql.Tx) error { return insertGrant(ctx, tx, g) })
}

const grantCols = `id, asset_id, customer_org_id, partner_org_id, kind, granted_by, granted_at, revoked_at, revoked_by`

func scanGrant(row rowScanner) (store.Grant, error) {
	var g store.Grant
	var kind string
	var at int64
	var revoked sql.NullInt64
	err := row.Scan(&g.ID, &g.AssetID, &g.CustomerOrgID, &g.PartnerOrgID, &kind, &g.GrantedBy, &at, &revoked, &g.RevokedBy)
	g.Kind, g.GrantedAt, g.RevokedAt = store.GrantKind(kind), fromMS(at), fromNullMS(revoked)
	return g, err
}

// Grant implements store.Channel.
func (d *DB) Grant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(d.db.QueryRowContext(ctx, `SELECT `+grantCols+` FROM grants WHERE id = $1`, id))
	if err != nil {
		return g, notFound(err, "grant "+id)
	}
	return g, nil
}

// Grants implements store.Channel.
func (d *DB) Grants(ctx context.Context, f store.GrantFilter) ([]store.Grant, error) {
	if f.PartnerOrgID == "" && f.CustomerOrgID == "" {
		return nil, fmt.Errorf("listing grants: name a partner or a customer: %w", store.ErrInvalid)
	}
	var conds []string
	var args []any
	add := func(col, v string) {
		if v != "" {
			args = append(args, v)
			conds = append(conds, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	add("partner_org_id", f.PartnerOrgID)
	add("customer_org_id", f.CustomerOrgID)
	add("asset_id", f.AssetID)
	if f.LiveOnly {
		conds = append(conds, "revoked_at IS NULL")
	}
	return queryAll(ctx, d.db, "listing grants", scanGrant,
		`SELECT `+grantCols+` FROM grants WHERE `+strings.Join(conds, " AND ")+` ORDER BY granted_at, id`, args...)
}

// RevokeGrant implements store.Channel.
func (d *DB) RevokeGrant(ctx context.Context, id, by string, at time.Time) error {
	return d.exec1(ctx, "live grant "+id,
		`UPDATE grants SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL`, id, ms(at), by)
}

// AddChannelPartner implements store.Channel.
func (d *DB) AddChannelPartner(ctx context.Context, cp store.ChannelPartner) error {
	if cp.AddedAt.IsZero() {
		cp.AddedAt = time.Now()
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO channel_partners (customer_org_id, partner_org_id, default_reseller, default_service, added_by, added_at)
			 VALUES ($1, $2, FALSE, FALSE, $3, $4)`,
			cp.CustomerOrgID, cp.PartnerOrgID, cp.AddedBy, ms(cp.AddedAt))
		if isUnique(err) {
			return fmt.Errorf("channel partner %s: %w", cp.PartnerOrgID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("adding channel partner: %w", err)
		}
		return setDefaults(ctx, tx, cp.CustomerOrgID, cp.PartnerOrgID, cp.DefaultReseller, cp.DefaultService)
	})
}

// setDefaults sets the partner's flags; a set flag is cleared on every
// other partner of the customer first, so there is one default per role.
func setDefaults(ctx context.Context, tx *sql.Tx, customer, partner string, reseller, service bool) error {
	for col, on := range map[string]bool{"default_reseller": reseller, "default_service": service} {
		if on {
			if _, err := tx.ExecContext(ctx, `UPDATE channel_partners SET `+col+` = FALSE WHERE customer_org_id = $1 AND partner_org_id <> $2`, customer, partner); err != nil {
				return fmt.Errorf("setting default partner: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE channel_partners SET `+col+` = $3 WHERE customer_org_id = $1 AND partner_org_id = $2`, customer, partner, on)
		if err != nil {
			return fmt.Errorf("setting default partner: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("channel partner %s: %w", partner, store.ErrNotFound)
		}
	}
	return nil
}

// SetChannelDefaults implements store.Channel.
func (d *DB) SetChannelDefaults(ctx context.Context, customer, partner string, reseller, service bool) error {
	return d.inTx(ctx, func(tx *sql.Tx) error { return setDefaults(ctx, tx, customer, partner, reseller, service) })
}

// RemoveChannelPartner implements store.Channel.
func (d *DB) RemoveChannelPartner(ctx context.Context, customer, partner string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		var r, s bool
		err := tx.QueryRowContext(ctx, `SELECT default_reseller, default_service FROM channel_partners WHERE customer_org_id = $1 AND partner_org_id = $2`,
			customer, partner).Scan(&r, &s)
		if err != nil {
			return notFound(err, "channel partner "+partner)
		}
		if r || s {
			return fmt.Errorf("channel partner %s is a default partner; make another partner the default first: %w", partner, store.ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM channel_assignments WHERE customer_org_id = $1 AND partner_org_id = $2`, customer, partner); err != nil {
			return fmt.Errorf("removing channel partner: %w", err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM channel_partners WHERE customer_org_id = $1 AND partner_org_id = $2`, customer, partner)
		return err
	})
}

func (d *DB) channelPartners(ctx context.Context, col, id string) ([]store.ChannelPartner, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT customer_org_id, partner_org_id, default_reseller, default_service, added_by, added_at
		 FROM channel_partners WHERE `+col+` = $1 ORDER BY added_at, partner_org_id`, id)
	if err != nil {
		return nil, fmt.Errorf("listing channel partners: %w", err)
	}
	defer rows.Close()
	var out []store.ChannelPartner
	for rows.Next() {
		var cp store.ChannelPartner
		var at int64
		if err := rows.Scan(&cp.CustomerOrgID, &cp.PartnerOrgID, &cp.DefaultReseller, &cp.DefaultService, &cp.AddedBy, &at); err != nil {
			return nil, fmt.Errorf("listing channel partners: %w", err)
		}
		cp.AddedAt = fromMS(at)
		out = append(out, cp)
	}
	return out, rows.Err()
}

// ChannelPartners implements store.Channel.
func (d *DB) ChannelPartners(ctx context.Context, customer string) ([]store.ChannelPartner, error) {
	return d.channelPartners(ctx, "customer_org_id", customer)
}

// ChannelCustomers implements store.Channel.
func (d *DB) ChannelCustomers(ctx context.Context, partner string) ([]store.ChannelPartner, error) {
	return d.channelPartners(ctx, "partner_org_id", partner)
}

// SetChannelAssignment implements store.Channel.
func (d *DB) SetChannelAssignment(ctx context.Context, a *store.ChannelAssignment) error {
	if (a.AssetID == "") == (a.GroupID == "") {
		return fmt.Errorf("channel assignment: name a device or a device group: %w", store.ErrInvalid)
	}
	if a.Role != store.RoleReseller && a.Role != store.RoleService {
		return fmt.Errorf("channel assignment: role %q: %w", a.Role, store.ErrInvalid)
	}
	a.ID = uuid.NewString()
	if a.AssignedAt.IsZero() {
		a.AssignedAt = time.Now().UTC().Truncate(time.Millisecond)
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM channel_partners WHERE customer_org_id = $1 AND partner_org_id = $2`,
			a.CustomerOrgID, a.PartnerOrgID).Scan(&n)
		if err != nil {
			return fmt.Errorf("assigning device: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("partner %s is not a channel partner of the customer: %w", a.PartnerOrgID, store.ErrNotFound)
		}
		col, table, target := "asset_id", "assets", a.AssetID
		if a.GroupID != "" {
			col, table, target = "group_id", "device_groups", a.GroupID
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = $1 AND org_id = $2`, target, a.CustomerOrgID).Scan(&n); err != nil {
			return fmt.Errorf("assigning device: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%s %s: %w", strings.TrimSuffix(table, "s"), target, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM channel_assignments WHERE `+col+` = $1 AND role = $2`, target, string(a.Role)); err != nil {
			return fmt.Errorf("assigning device: %w", err)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO channel_assignments (id, customer_org_id, partner_org_id, role, asset_id, group_id, assigned_by, assigned_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			a.ID, a.CustomerOrgID, a.PartnerOrgID, string(a.Role), nullStr(a.AssetID), nullStr(a.GroupID), a.AssignedBy, ms(a.AssignedAt))
		if err != nil {
			return fmt.Errorf("assigning device: %w", err)
		}
		return nil
	})
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// DeleteChannelAssignment implements store.Channel.
func (d *DB) DeleteChannelAssignment(ctx context.Context, customer, id string) error {
	return d.exec1(ctx, "channel assignment "+id, `DELETE FROM channel_assignments WHERE id = $1 AND customer_org_id = $2`, id, customer)
}

// ChannelAssignments implements store.Channel.
func (d *DB) ChannelAssignments(ctx context.Context, customer string) ([]store.ChannelAssignment, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT id, customer_org_id, partner_org_id, role, COALESCE(asset_id, ''), COALESCE(group_id, ''), assigned_by, assigned_at
		 FROM channel_assignments WHERE customer_org_id = $1 ORDER BY assigned_at, id`, customer)
	if err != nil {
		return nil, fmt.Errorf("listing channel assignments: %w", err)
	}
	defer rows.Close()
	var out []store.ChannelAssignment
	for rows.Next() {
		var a store.ChannelAssignment
		var role string
		var at int64
		if err := rows.Scan(&a.ID, &a.CustomerOrgID, &a.PartnerOrgID, &role, &a.AssetID, &a.GroupID, &a.AssignedBy, &at); err != nil {
			return nil, fmt.Errorf("listing channel assignments: %w", err)
		}
		a.Role, a.AssignedAt = store.ChannelRole(role), fromMS(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateDeviceGroup implements store.Channel.
func (d *DB) CreateDeviceGroup(ctx context.Context, g *store.DeviceGroup) error {
	g.ID, g.CreatedAt = uuid.NewString(), time.Now().UTC().Truncate(time.Millisecond)
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO device_groups (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)`,
			g.ID, g.OrgID, g.Name, ms(g.CreatedAt)); err != nil {
			return fmt.Errorf("creating device group: %w", err)
		}
		return setMembers(ctx, tx, g.OrgID, g.ID, g.AssetIDs)
	})
}

func setMembers(ctx context.Context, tx *sql.Tx, org, group string, assets []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM device_group_members WHERE group_id = $1`, group); err != nil {
		return fmt.Errorf("setting group members: %w", err)
	}
	for _, id := range assets {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO device_group_members (group_id, asset_id) SELECT $1, $2
			 WHERE EXISTS (SELECT 1 FROM assets WHERE id = $2 AND org_id = $3) ON CONFLICT DO NOTHING`, group, id, org)
		if err != nil {
			return fmt.Errorf("setting group members: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var dup int
			_ = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM device_group_members WHERE group_id = $1 AND asset_id = $2`, group, id).Scan(&dup)
			if dup == 0 {
				return fmt.Errorf("asset %s: %w", id, store.ErrNotFound)
			}
		}
	}
	return nil
}

// SetDeviceGroupMembers implements store.Channel.
func (d *DB) SetDeviceGroupMembers(ctx context.Context, org, group string, assets []string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM device_groups WHERE id = $1 AND org_id = $2`, group, org).Scan(&n); err != nil {
			return fmt.Errorf("setting group members: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("device group %s: %w", group, store.ErrNotFound)
		}
		return setMembers(ctx, tx, org, group, assets)
	})
}

// DeleteDeviceGroup implements store.Channel. Its assignments go with it,
// so its devices return to their defaults.
func (d *DB) DeleteDeviceGroup(ctx context.Context, org, group string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM device_groups WHERE id = $1 AND org_id = $2`, group, org)
		if err != nil {
			return fmt.Errorf("deleting device group: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("device group %s: %w", group, store.ErrNotFound)
		}
		return nil
	})
}

// DeviceGroups implements store.Channel.
func (d *DB) DeviceGroups(ctx context.Context, org string) ([]store.DeviceGroup, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT g.id, g.org_id, g.name, g.created_at, COALESCE(m.asset_id, '')
		 FROM device_groups g LEFT JOIN device_group_members m ON m.group_id = g.id
		 WHERE g.org_id = $1 ORDER BY g.name, g.id, m.asset_id`, org)
	if err != nil {
		return nil, fmt.Errorf("listing device groups: %w", err)
	}
	defer rows.Close()
	var out []store.DeviceGroup
	for rows.Next() {
		var g store.DeviceGroup
		var at int64
		var member string
		if err := rows.Scan(&g.ID, &g.OrgID, &g.Name, &at, &member); err != nil {
			return nil, fmt.Errorf("listing device groups: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != g.ID {
			g.CreatedAt = fromMS(at)
			out = append(out, g)
		}
		if member != "" {
			last := &out[len(out)-1]
			last.AssetIDs = append(last.AssetIDs, member)
		}
	}
	return out, rows.Err()
}
