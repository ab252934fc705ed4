package sharing

import (
	"context"
	"fmt"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Device is one of a customer's devices as its channel page shows it:
// the device groups it is in and the partner holding it in each role.
type Device struct {
	AssetID  string   `json:"asset_id"`
	Name     string   `json:"name"`
	Category string   `json:"category"`
	GroupIDs []string `json:"group_ids"`
	Reseller *Holder  `json:"reseller"` // nil: no reseller
	Service  *Holder  `json:"service"`  // nil: no service partner
}

// Holder is the channel partner holding a device in one role, and why.
type Holder struct {
	PartnerID string `json:"partner_id"` // the partner's public ID
	// Via is "device" (the device's own assignment, AssignmentID),
	// "group" (a device group's, AssignmentID) or "default".
	Via          string `json:"via"`
	AssignmentID string `json:"assignment_id,omitempty"`
}

// ChannelDevices returns, for the devices of p's customer organization
// among assets (those the caller sees), who holds each in each role and
// why, by the rule partners' visibility follows (visibility.
// EffectiveHoldings). Partners listed by the customer only; viewers may
// read it.
func (s *Service) ChannelDevices(ctx context.Context, p visibility.Principal, assets []store.Asset) ([]Device, error) {
	if err := customerReader(p); err != nil {
		return nil, err
	}
	cust, err := s.st.Organization(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading organization %s: %w", p.OrgID, err)
	}
	ch := visibility.Channel{Customer: cust, Assets: assets}
	if ch.Partners, err = s.st.ChannelPartners(ctx, cust.ID); err != nil {
		return nil, fmt.Errorf("loading channel partners: %w", err)
	}
	if ch.Assignments, err = s.st.ChannelAssignments(ctx, cust.ID); err != nil {
		return nil, fmt.Errorf("loading channel assignments: %w", err)
	}
	if ch.Groups, err = s.st.DeviceGroups(ctx, cust.ID); err != nil {
		return nil, fmt.Errorf("loading device groups: %w", err)
	}
	ids := make([]string, 0, len(ch.Partners))
	for _, cp := range ch.Partners {
		ids = append(ids, cp.PartnerOrgID)
	}
	byID, err := s.orgsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	groupsOf := map[string][]string{}
	for _, g := range ch.Groups {
		for _, a := range g.AssetIDs {
			groupsOf[a] = append(groupsOf[a], g.ID)
		}
	}
	holdings := visibility.EffectiveHoldings(ch)
	holder := func(h visibility.Holding, ok bool) *Holder {
		if !ok {
			return nil
		}
		out := &Holder{PartnerID: byID[h.PartnerOrgID].PartnerID, Via: "default"}
		if a := h.Assignment; a != nil {
			out.Via, out.AssignmentID = "device", a.ID
			if a.GroupID != "" {
				out.Via = "group"
			}
		}
		return out
	}
	out := []Device{}
	for _, a := range assets {
		if a.OrgID != cust.ID {
			continue
		}
		roles := holdings[a.ID]
		d := Device{AssetID: a.ID, Name: a.Name, Category: a.Category, GroupIDs: groupsOf[a.ID]}
		if d.GroupIDs == nil {
			d.GroupIDs = []string{}
		}
		rh, ok := roles[store.RoleReseller]
		d.Reseller = holder(rh, ok)
		sh, ok := roles[store.RoleService]
		d.Service = holder(sh, ok)
		out = append(out, d)
	}
	return out, nil
}
