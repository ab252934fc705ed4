package sqlstore

import (
	"context"
	"fmt"

	"github.com/kpilot/kpilot/server/store"
)

// ChannelSetups implements store.ChannelSetups: four queries per 500
// customers, each ordered by customer first and then as the
// single-customer query orders.
func (d *DB) ChannelSetups(ctx context.Context, customerIDs []string) (map[string]store.ChannelSetup, error) {
	out := map[string]store.ChannelSetup{}
	edit := func(id string, f func(*store.ChannelSetup)) {
		s := out[id]
		f(&s)
		out[id] = s
	}
	for _, c := range chunks(customerIDs) {
		in, args := placeholders(1, len(c)), anys(c)
		partners, err := queryAll(ctx, d.db, "listing channel partners", func(r rowScanner) (store.ChannelPartner, error) {
			var cp store.ChannelPartner
			var at int64
			err := r.Scan(&cp.CustomerOrgID, &cp.PartnerOrgID, &cp.DefaultReseller, &cp.DefaultService, &cp.AddedBy, &at)
			cp.AddedAt = fromMS(at)
			return cp, err
		}, `SELECT customer_org_id, partner_org_id, default_reseller, default_service, added_by, added_at
			FROM channel_partners WHERE customer_org_id IN (`+in+`) ORDER BY customer_org_id, added_at, partner_org_id`, args...)
		if err != nil {
			return nil, err
		}
		for _, cp := range partners {
			edit(cp.CustomerOrgID, func(s *store.ChannelSetup) { s.Partners = append(s.Partners, cp) })
		}
		assignments, err := queryAll(ctx, d.db, "listing channel assignments", func(r rowScanner) (store.ChannelAssignment, error) {
			var a store.ChannelAssignment
			var role string
			var at int64
			err := r.Scan(&a.ID, &a.CustomerOrgID, &a.PartnerOrgID, &role, &a.AssetID, &a.GroupID, &a.AssignedBy, &at)
			a.Role, a.AssignedAt = store.ChannelRole(role), fromMS(at)
			return a, err
		}, `SELECT id, customer_org_id, partner_org_id, role, COALESCE(asset_id, ''), COALESCE(group_id, ''), assigned_by, assigned_at
			FROM channel_assignments WHERE customer_org_id IN (`+in+`) ORDER BY customer_org_id, assigned_at, id`, args...)
		if err != nil {
			return nil, err
		}
		for _, a := range assignments {
			edit(a.CustomerOrgID, func(s *store.ChannelSetup) { s.Assignments = append(s.Assignments, a) })
		}
		if err := d.groupsOf(ctx, in, args, edit); err != nil {
			return nil, err
		}
		assets, err := d.queryAssets(ctx, `SELECT `+assetCols+` FROM assets WHERE org_id IN (`+in+`) ORDER BY org_id, name, id`, args...)
		if err != nil {
			return nil, err
		}
		for _, a := range assets {
			edit(a.OrgID, func(s *store.ChannelSetup) { s.Assets = append(s.Assets, a) })
		}
	}
	return out, nil
}

// groupsOf adds the device groups of the organizations in (placeholders
// for args) to their set-ups, members in order.
func (d *DB) groupsOf(ctx context.Context, in string, args []any, edit func(string, func(*store.ChannelSetup))) error {
	rows, err := d.db.QueryContext(ctx,
		`SELECT g.id, g.org_id, g.name, g.created_at, COALESCE(m.asset_id, '')
		 FROM device_groups g LEFT JOIN device_group_members m ON m.group_id = g.id
		 WHERE g.org_id IN (`+in+`) ORDER BY g.org_id, g.name, g.id, m.asset_id`, args...)
	if err != nil {
		return fmt.Errorf("listing device groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g store.DeviceGroup
		var at int64
		var member string
		if err := rows.Scan(&g.ID, &g.OrgID, &g.Name, &at, &member); err != nil {
			return fmt.Errorf("listing device groups: %w", err)
		}
		edit(g.OrgID, func(s *store.ChannelSetup) {
			if n := len(s.Groups); n == 0 || s.Groups[n-1].ID != g.ID {
				g.CreatedAt = fromMS(at)
				s.Groups = append(s.Groups, g)
			}
			if member != "" {
				last := &s.Groups[len(s.Groups)-1]
				last.AssetIDs = append(last.AssetIDs, member)
			}
		})
	}
	return rows.Err()
}
