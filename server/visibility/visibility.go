// Package visibility decides which assets a principal may see, and how
// much of each. Every read path asks here before it touches KPI data or
// inventory. The rules (Resolve, Set, EffectivePartners) are pure; a
// Loader reads what they need from the store, for everything a principal
// sees (Loader.Set) or for one asset (Loader.Asset, which loads only what
// that asset's access depends on). Access.SeesIn holds the data rule: which
// measurements and findings each class shows, by the data class of the
// KPI catalog (ServiceOnly).
//
// The rules (DESIGN.md, "Visibility"):
//  1. A user sees the assets of the OU of their membership and of every OU
//     below it, in the organization they act in (Owner access).
//  2. A partner organization also sees an asset while it holds a live
//     grant for it: `created` (it created the asset with the OU key) or
//     `system-key` (it entered the asset's system key). Both give Reseller
//     access.
//  3. Channel assignment: a customer's device belongs, per role, to the
//     partner it is assigned to, else to the partner its device group is
//     assigned to, else to the customer's default partner for that role.
//     Only while the customer consents: the reseller role gives Reseller
//     access, the service role Service access.
//  4. Partner access is read-only, always; only the asset's own
//     organization's admins read and send keys.
//  5. Nothing else: a principal never sees another organization's assets.
package visibility

import (
	"sort"
	"strings"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/store"
)

// Principal is an authenticated user acting in one organization.
type Principal struct {
	UserID  string
	OrgID   string
	OrgKind store.OrgKind
	OUID    string // the OU of the user's membership; sees it and below
	Role    store.Role
}

// IsAdmin reports whether the principal administers its OU.
func (p Principal) IsAdmin() bool { return p.Role == store.Admin }

// AdministersAll reports whether p administers the whole of its
// organization o: an admin at its root OU. What concerns the whole
// organization (check-up rules, webhooks, consent, channel partners,
// others' report schedules) is theirs alone.
func (p Principal) AdministersAll(o store.Organization) bool {
	return p.IsAdmin() && p.OrgID == o.ID && p.OUID == o.RootOU
}

// IsPartner reports whether the principal acts for a reseller or
// distributor.
func (p Principal) IsPartner() bool {
	return p.OrgKind == store.Reseller || p.OrgKind == store.Distributor
}

// Class is how much of an asset a principal may see. Higher includes lower.
type Class int

// Classes, from nothing to everything.
const (
	None     Class = iota
	Reseller       // inventory, KPIs and reports (seed 003, table 1)
	Service        // also health and service events and check-up findings
	Owner          // the asset's own organization: everything (keys for admins)
)

func (c Class) String() string {
	return [...]string{"none", "reseller", "service", "owner"}[c]
}

// Access is what a principal may do with one asset and why.
type Access struct {
	Class Class
	// Via lists why a partner sees the asset (created, system-key,
	// channel); empty for the owner.
	Via []store.GrantKind
}

// Subtree returns the ids of root and every OU below it, using only OUs of
// orgID (a parent link into another organization is ignored).
func Subtree(orgID, root string, ous []store.OU) map[string]bool {
	children := map[string][]string{}
	known := false
	for _, u := range ous {
		if u.OrgID != orgID {
			continue
		}
		if u.ID == root {
			known = true
		}
		if u.ParentID != "" {
			children[u.ParentID] = append(children[u.ParentID], u.ID)
		}
	}
	out := map[string]bool{}
	if !known {
		return out
	}
	stack := []string{root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if out[id] {
			continue // a cycle in bad data must not loop forever
		}
		out[id] = true
		stack = append(stack, children[id]...)
	}
	return out
}

// Channel is one customer's channel set-up, as a partner's visibility
// needs it.
type Channel struct {
	Customer    store.Organization // ChannelConsent is read from here
	Partners    []store.ChannelPartner
	Assignments []store.ChannelAssignment
	Groups      []store.DeviceGroup
	Assets      []store.Asset
}

// Shared is what other organizations share with a partner.
type Shared struct {
	Grants   []store.Grant // live grants to the partner
	Channels []Channel     // customers that list the partner
}

// Set is the resolved visibility of one principal.
type Set struct {
	orgID  string
	ous    map[string]bool
	shared map[string]Access // asset id → access through grants or channel
	// loaded holds the shared assets the channel set-ups brought along,
	// so that List need not read them again.
	loaded map[string]store.Asset
}

// Resolve computes p's visible set from the OU tree of p's organization
// and, for a partner, what is shared with it.
func Resolve(p Principal, ous []store.OU, sh Shared) Set {
	if p.OrgID == "" || p.OUID == "" {
		return Set{}
	}
	s := Set{orgID: p.OrgID, ous: Subtree(p.OrgID, p.OUID, ous), shared: map[string]Access{}}
	if !p.IsPartner() {
		return s
	}
	add := func(asset string, c Class, via store.GrantKind) {
		a := s.shared[asset]
		a.Class = max(a.Class, c)
		for _, v := range a.Via {
			if v == via {
				s.shared[asset] = a
				return
			}
		}
		a.Via = append(a.Via, via)
		s.shared[asset] = a
	}
	for _, g := range sh.Grants {
		if g.PartnerOrgID == p.OrgID && g.Live() && g.CustomerOrgID != p.OrgID {
			add(g.AssetID, Reseller, g.Kind)
		}
	}
	for _, ch := range sh.Channels {
		if !ch.Customer.ChannelConsent || ch.Customer.ID == p.OrgID {
			continue
		}
		for asset, roles := range EffectivePartners(ch) {
			if roles[store.RoleReseller] == p.OrgID {
				add(asset, Reseller, store.GrantChannel)
			}
			if roles[store.RoleService] == p.OrgID {
				add(asset, Service, store.GrantChannel)
			}
		}
	}
	s.loaded = map[string]store.Asset{}
	for _, ch := range sh.Channels {
		for _, a := range ch.Assets {
			if _, ok := s.shared[a.ID]; ok && a.OrgID == ch.Customer.ID {
				s.loaded[a.ID] = a
			}
		}
	}
	return s
}

// loadedAsset returns a shared asset the set's channel set-ups loaded.
func (s Set) loadedAsset(id string) (store.Asset, bool) {
	a, ok := s.loaded[id]
	return a, ok
}

// EffectivePartners returns, for every asset of the customer, the partner
// organization that holds it in each role: its own assignment, else its
// device group's (the latest assigned when several groups are), else the
// default partner. Assets with no partner in a role have no entry for it.
// For one asset, pass a Channel whose Assets hold only that asset (and
// whose Groups may be only the groups containing it): the rule is the same.
func EffectivePartners(ch Channel) map[string]map[store.ChannelRole]string {
	rules := newChannelRules(ch)
	out := map[string]map[store.ChannelRole]string{}
	for _, a := range ch.Assets {
		if a.OrgID == ch.Customer.ID {
			out[a.ID] = rules.partners(a.ID)
		}
	}
	return out
}

// channelRules is one customer's channel set-up, indexed to answer which
// partner holds an asset in each role.
type channelRules struct {
	defaults map[store.ChannelRole]string
	direct   map[assignTarget]store.ChannelAssignment // the assignment in force per device or group and role
	groupsOf map[string][]string                      // asset id → ids of the groups containing it
}

// assignTarget is what an assignment gives to a partner: a device
// ("asset id") or a group ("group:" + id), in one role.
type assignTarget struct {
	target string
	role   store.ChannelRole
}

func newChannelRules(ch Channel) channelRules {
	cust := ch.Customer.ID
	r := channelRules{defaults: map[store.ChannelRole]string{}, direct: map[assignTarget]store.ChannelAssignment{},
		groupsOf: map[string][]string{}}
	listed := map[string]bool{}
	for _, cp := range ch.Partners {
		if cp.CustomerOrgID != cust {
			continue
		}
		listed[cp.PartnerOrgID] = true
		if cp.DefaultReseller {
			r.defaults[store.RoleReseller] = cp.PartnerOrgID
		}
		if cp.DefaultService {
			r.defaults[store.RoleService] = cp.PartnerOrgID
		}
	}
	for _, g := range ch.Groups {
		if g.OrgID != cust {
			continue
		}
		for _, a := range g.AssetIDs {
			r.groupsOf[a] = append(r.groupsOf[a], g.ID)
		}
	}
	assigns := append([]store.ChannelAssignment(nil), ch.Assignments...)
	sort.SliceStable(assigns, func(i, j int) bool { return assigns[i].AssignedAt.Before(assigns[j].AssignedAt) })
	for _, as := range assigns {
		if as.CustomerOrgID != cust || !listed[as.PartnerOrgID] {
			continue // an assignment to a partner no longer listed is void
		}
		t := as.AssetID
		if t == "" {
			t = "group:" + as.GroupID
		}
		r.direct[assignTarget{t, as.Role}] = as // later assignments win
	}
	return r
}

// partners returns the partner holding the asset in each role.
func (r channelRules) partners(assetID string) map[store.ChannelRole]string {
	roles := map[store.ChannelRole]string{}
	for role, h := range r.holdings(assetID) {
		roles[role] = h.PartnerOrgID
	}
	return roles
}

// Holding is the partner organization that holds a device in one role,
// and why: the device's own assignment, its group's, or (Assignment nil)
// the customer's default partner of that role.
type Holding struct {
	PartnerOrgID string
	Assignment   *store.ChannelAssignment
}

// EffectiveHoldings is EffectivePartners with the reason for each
// partner, for the customer's channel page (the same rule: it is what
// partners see).
func EffectiveHoldings(ch Channel) map[string]map[store.ChannelRole]Holding {
	rules := newChannelRules(ch)
	out := map[string]map[store.ChannelRole]Holding{}
	for _, a := range ch.Assets {
		if a.OrgID == ch.Customer.ID {
			out[a.ID] = rules.holdings(a.ID)
		}
	}
	return out
}

// holdings returns the partner holding the asset in each role and why.
func (r channelRules) holdings(assetID string) map[store.ChannelRole]Holding {
	roles := map[store.ChannelRole]Holding{}
	for _, role := range []store.ChannelRole{store.RoleReseller, store.RoleService} {
		if as, ok := r.direct[assignTarget{assetID, role}]; ok {
			roles[role] = Holding{PartnerOrgID: as.PartnerOrgID, Assignment: &as}
			continue
		}
		var best *store.ChannelAssignment
		for _, g := range r.groupsOf[assetID] {
			if as, ok := r.direct[assignTarget{"group:" + g, role}]; ok && (best == nil || as.AssignedAt.After(best.AssignedAt)) {
				best = &as
			}
		}
		if best != nil {
			roles[role] = Holding{PartnerOrgID: best.PartnerOrgID, Assignment: best}
		} else if d := r.defaults[role]; d != "" {
			roles[role] = Holding{PartnerOrgID: d}
		}
	}
	return roles
}

// Access returns what the principal may see of an asset.
func (s Set) Access(a store.Asset) Access {
	if s.orgID == "" {
		return Access{}
	}
	if a.OrgID == s.orgID {
		if s.ous[a.OUID] {
			return Access{Class: Owner}
		}
		return Access{}
	}
	return s.shared[a.ID]
}

// ServiceOnly reports whether a value is service data, which belongs to
// service partners and the owner (seed 003): what c, the catalog of the
// asset's organization, defines with data class service (health readings
// and events). field "" stands for the measurement as a whole: service
// data when every field c defines of it is.
//
// Names that say health are service data whatever c says or lacks (safe
// by default): the measurements health_event and server_health, and a
// health_code field of any measurement (system.health_code, a
// fan_health_code); a definition cannot open them to resellers, and a
// field no catalog defines yet is held back by its name.
func ServiceOnly(c *catalog.Catalog, measurement, field string) bool {
	switch {
	case measurement == "health_event", measurement == "server_health":
		return true
	case field == "health_code", strings.HasSuffix(field, "_health_code"):
		return true
	case field == "":
		return wholeMeasurementService(c, measurement)
	}
	d, ok := c.Lookup(measurement, field)
	return ok && d.ServiceOnly()
}

func wholeMeasurementService(c *catalog.Catalog, measurement string) bool {
	n := 0
	for _, d := range c.Definitions() {
		if d.Measurement != measurement {
			continue
		}
		if !d.ServiceOnly() {
			return false
		}
		n++
	}
	return n > 0
}

// SeesIn reports whether the access includes a field of a measurement (or,
// with field "", the measurement as a whole), c being the catalog of the
// asset's organization: a reseller sees KPIs, inventory and reports but
// not service data (ServiceOnly).
func (a Access) SeesIn(c *catalog.Catalog, measurement, field string) bool {
	if ServiceOnly(c, measurement, field) {
		return a.Class >= Service
	}
	return a.Class > None
}

// Sees is SeesIn without a catalog: only the names that say health are
// service data. Read paths that have the organization's catalog use
// SeesIn.
func (a Access) Sees(measurement, field string) bool { return a.SeesIn(nil, measurement, field) }

// SeesFindings reports whether the access includes check-up findings,
// which are service data: the owner and service partners only.
func (a Access) SeesFindings() bool { return a.Class >= Service }

// CanSee reports whether the asset is visible at all.
func (s Set) CanSee(a store.Asset) bool { return s.Access(a).Class > None }

// SharedAssetIDs returns the ids of assets other organizations share with
// the principal, sorted.
func (s Set) SharedAssetIDs() []string {
	out := make([]string, 0, len(s.shared))
	for id := range s.shared {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Filter returns the visible assets, in their order.
func (s Set) Filter(assets []store.Asset) []store.Asset {
	out := make([]store.Asset, 0, len(assets))
	for _, a := range assets {
		if s.CanSee(a) {
			out = append(out, a)
		}
	}
	return out
}
