package visibility

import (
	"context"
	"fmt"
	"slices"

	"github.com/kpilot/kpilot/server/store"
)

// Source is what the Loader reads of the metadata store (store.Store
// implements it). Methods return store.ErrNotFound for a missing row.
type Source interface {
	OUs(ctx context.Context, orgID string) ([]store.OU, error)
	Organization(ctx context.Context, id string) (store.Organization, error)
	Asset(ctx context.Context, id string) (store.Asset, error)
	Assets(ctx context.Context, orgID string) ([]store.Asset, error)
	Grants(ctx context.Context, f store.GrantFilter) ([]store.Grant, error)
	ChannelPartners(ctx context.Context, customerOrgID string) ([]store.ChannelPartner, error)
	ChannelCustomers(ctx context.Context, partnerOrgID string) ([]store.ChannelPartner, error)
	ChannelAssignments(ctx context.Context, customerOrgID string) ([]store.ChannelAssignment, error)
	DeviceGroups(ctx context.Context, orgID string) ([]store.DeviceGroup, error)
}

// Loader loads what the rules need for one principal and applies them:
// every read path starts here. It keeps nothing between calls, so a
// revoked grant or withdrawn consent counts from the next call on, and it
// is safe for concurrent use.
type Loader struct {
	src Source
}

// NewLoader returns a Loader reading from src.
func NewLoader(src Source) *Loader { return &Loader{src: src} }

// Set resolves everything p may see: the OU tree of p's organization and,
// for a partner, every live grant it holds and the channel set-up of every
// consenting customer that lists it. Use it for lists; for one asset,
// Asset loads far less.
func (l *Loader) Set(ctx context.Context, p Principal) (Set, error) {
	if p.OrgID == "" || p.OUID == "" {
		return Set{}, nil
	}
	ous, err := l.src.OUs(ctx, p.OrgID)
	if err != nil {
		return Set{}, fmt.Errorf("visibility of %s: %w", p.OrgID, err)
	}
	var sh Shared
	if p.IsPartner() {
		if sh, err = l.shared(ctx, p.OrgID); err != nil {
			return Set{}, fmt.Errorf("visibility of %s: %w", p.OrgID, err)
		}
	}
	return Resolve(p, ous, sh), nil
}

// shared loads the live grants of a partner and the channel set-up of
// every consenting customer that lists it.
func (l *Loader) shared(ctx context.Context, partner string) (Shared, error) {
	var sh Shared
	var err error
	if sh.Grants, err = l.src.Grants(ctx, store.GrantFilter{PartnerOrgID: partner, LiveOnly: true}); err != nil {
		return sh, err
	}
	links, err := l.src.ChannelCustomers(ctx, partner)
	if err != nil {
		return sh, err
	}
	if b, ok := l.src.(bulkSource); ok {
		sh.Channels, err = channels(ctx, b, links)
		return sh, err
	}
	for _, link := range links {
		cust, err := l.src.Organization(ctx, link.CustomerOrgID)
		if err != nil {
			return sh, err
		}
		if !cust.ChannelConsent {
			continue // withdrawn consent: nothing to load, nothing shown
		}
		ch, err := l.channel(ctx, cust)
		if err != nil {
			return sh, err
		}
		sh.Channels = append(sh.Channels, ch)
	}
	return sh, nil
}

// bulkSource is a Source that loads many customers at once (store.Store
// is one): Set then reads a partner's hundreds of customers with a few
// queries instead of five per customer.
type bulkSource interface {
	OrganizationsByIDs(ctx context.Context, ids []string) ([]store.Organization, error)
	store.ChannelSetups
}

// channels loads the channel set-ups of the consenting customers among
// links, as channel does one by one, in the order of links.
func channels(ctx context.Context, src bulkSource, links []store.ChannelPartner) ([]Channel, error) {
	ids := make([]string, len(links))
	for i, link := range links {
		ids[i] = link.CustomerOrgID
	}
	orgs, err := src.OrganizationsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]store.Organization, len(orgs))
	var consenting []string
	for _, o := range orgs {
		byID[o.ID] = o
		if o.ChannelConsent {
			consenting = append(consenting, o.ID)
		}
	}
	setups, err := src.ChannelSetups(ctx, consenting)
	if err != nil {
		return nil, err
	}
	var out []Channel
	for _, id := range ids {
		o, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("customer %s: %w", id, store.ErrNotFound)
		}
		if !o.ChannelConsent {
			continue // withdrawn consent: nothing shown
		}
		su := setups[id]
		out = append(out, Channel{Customer: o, Partners: su.Partners, Assignments: su.Assignments, Groups: su.Groups, Assets: su.Assets})
	}
	return out, nil
}

// channel loads a customer's whole channel set-up.
func (l *Loader) channel(ctx context.Context, cust store.Organization) (Channel, error) {
	ch := Channel{Customer: cust}
	var err error
	if ch.Partners, err = l.src.ChannelPartners(ctx, cust.ID); err != nil {
		return ch, err
	}
	if ch.Assignments, err = l.src.ChannelAssignments(ctx, cust.ID); err != nil {
		return ch, err
	}
	if ch.Groups, err = l.src.DeviceGroups(ctx, cust.ID); err != nil {
		return ch, err
	}
	if ch.Assets, err = l.src.Assets(ctx, cust.ID); err != nil {
		return ch, err
	}
	return ch, nil
}

// Asset loads one asset and what p may see of it. A missing asset and one
// p may not see both give store.ErrNotFound, so ids of other tenants
// cannot be probed. It loads only what this asset's access depends on: the
// asset; for p's own organization its OU tree; for a partner its live
// grants on the asset and, only if the asset's customer lists the partner
// and consents, that customer's channel set-up. The rules applied are
// Resolve's, so Asset agrees with Set(ctx, p).Access.
func (l *Loader) Asset(ctx context.Context, p Principal, assetID string) (store.Asset, Access, error) {
	notFound := fmt.Errorf("asset %s: %w", assetID, store.ErrNotFound)
	if p.OrgID == "" || p.OUID == "" {
		return store.Asset{}, Access{}, notFound
	}
	as, err := l.src.Asset(ctx, assetID)
	if err != nil {
		return store.Asset{}, Access{}, fmt.Errorf("asset %s: %w", assetID, err)
	}
	var acc Access
	switch {
	case as.OrgID == p.OrgID:
		ous, err := l.src.OUs(ctx, p.OrgID)
		if err != nil {
			return store.Asset{}, Access{}, fmt.Errorf("visibility of %s: %w", p.OrgID, err)
		}
		acc = Resolve(p, ous, Shared{}).Access(as)
	case p.IsPartner():
		sh, err := l.sharedAsset(ctx, p.OrgID, as)
		if err != nil {
			return store.Asset{}, Access{}, fmt.Errorf("visibility of asset %s for %s: %w", as.ID, p.OrgID, err)
		}
		// The partner's own OUs do not matter for another organization's
		// asset: Access reads only what is shared.
		acc = Resolve(p, nil, sh).Access(as)
	}
	if acc.Class == None {
		return store.Asset{}, Access{}, notFound
	}
	return as, acc, nil
}

// sharedAsset is shared narrowed to one asset of another organization.
func (l *Loader) sharedAsset(ctx context.Context, partner string, as store.Asset) (Shared, error) {
	var sh Shared
	var err error
	if sh.Grants, err = l.src.Grants(ctx, store.GrantFilter{PartnerOrgID: partner, AssetID: as.ID, LiveOnly: true}); err != nil {
		return sh, err
	}
	partners, err := l.src.ChannelPartners(ctx, as.OrgID)
	if err != nil {
		return sh, err
	}
	if !slices.ContainsFunc(partners, func(cp store.ChannelPartner) bool { return cp.PartnerOrgID == partner }) {
		return sh, nil // not the customer's channel partner: grants only
	}
	cust, err := l.src.Organization(ctx, as.OrgID)
	if err != nil {
		return sh, err
	}
	if !cust.ChannelConsent {
		return sh, nil
	}
	ch := Channel{Customer: cust, Partners: partners}
	if ch.Assignments, err = l.src.ChannelAssignments(ctx, cust.ID); err != nil {
		return sh, err
	}
	if slices.ContainsFunc(ch.Assignments, func(a store.ChannelAssignment) bool { return a.GroupID != "" }) {
		// Only group assignments make groups matter, and only the groups
		// holding this asset.
		groups, err := l.src.DeviceGroups(ctx, cust.ID)
		if err != nil {
			return sh, err
		}
		for _, g := range groups {
			if slices.Contains(g.AssetIDs, as.ID) {
				ch.Groups = append(ch.Groups, g)
			}
		}
	}
	ch.Assets = []store.Asset{as}
	sh.Channels = []Channel{ch}
	return sh, nil
}
