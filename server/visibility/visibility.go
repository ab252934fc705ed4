// Package visibility decides which assets a principal may see. It is pure:
// callers load the OU tree and the candidate assets, and every read path
// filters through here before it touches KPI data or inventory.
//
// The rules implemented so far (DESIGN.md, "Visibility"):
//  1. A customer user sees the assets of the OU they belong to and of every
//     OU below it, in the organization they are acting in.
//  2. Nothing else: no principal sees another organization's assets. Partner
//     grants (created, system-key, channel) extend this set.
package visibility

import "github.com/kpilot/kpilot/server/store"

// Principal is an authenticated user acting in one organization.
type Principal struct {
	UserID string
	OrgID  string
	OUID   string // the OU of the user's membership; sees it and below
	Role   store.Role
}

// IsAdmin reports whether the principal administers its OU.
func (p Principal) IsAdmin() bool { return p.Role == store.Admin }

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

// Set is the resolved visibility of one principal.
type Set struct {
	orgID string
	ous   map[string]bool
}

// Resolve computes p's visible set from the OU tree of p's organization.
func Resolve(p Principal, ous []store.OU) Set {
	if p.OrgID == "" || p.OUID == "" {
		return Set{}
	}
	return Set{orgID: p.OrgID, ous: Subtree(p.OrgID, p.OUID, ous)}
}

// CanSee reports whether the asset is visible.
func (s Set) CanSee(a store.Asset) bool {
	return s.orgID != "" && a.OrgID == s.orgID && s.ous[a.OUID]
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
