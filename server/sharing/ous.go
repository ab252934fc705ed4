package sharing

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// OUs returns the OUs p sees: its own and every OU below it, in the
// store's order. The parent of p's own OU is left empty: it is the top of
// what p sees.
func (s *Service) OUs(ctx context.Context, p visibility.Principal) ([]store.OU, error) {
	ous, err := s.st.OUs(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading OUs: %w", err)
	}
	sub := visibility.Subtree(p.OrgID, p.OUID, ous)
	out := []store.OU{}
	for _, u := range ous {
		if sub[u.ID] {
			if u.ID == p.OUID {
				u.ParentID = ""
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// CreateOU adds an OU named name (checked with input.Name) below parent,
// an OU p administers.
func (s *Service) CreateOU(ctx context.Context, p visibility.Principal, who audit.Actor, parent store.OU, name string) (store.OU, error) {
	u := store.OU{OrgID: p.OrgID, ParentID: parent.ID, Name: name}
	if err := s.st.CreateOU(ctx, &u); err != nil {
		return u, fmt.Errorf("creating OU: %w", err)
	}
	return u, s.recordOU(ctx, who, p.OrgID, parent.ID, "ou.create", "ou", u.ID, map[string]any{"name": name, "parent_id": parent.ID})
}

// UpdateOU renames u (when name is set) and moves it below parentID (when
// set and different). u is an OU p administers and ous is p's
// organization's tree: an admin moves OUs only within its subtree and
// never the OU it administers from.
func (s *Service) UpdateOU(ctx context.Context, p visibility.Principal, who audit.Actor, u store.OU, ous []store.OU, name, parentID *string) (store.OU, error) {
	if name != nil {
		n, err := input.Name("name", *name)
		if err != nil {
			return u, err
		}
		if err := s.st.RenameOU(ctx, p.OrgID, u.ID, n); err != nil {
			return u, fmt.Errorf("renaming OU %s: %w", u.ID, err)
		}
		if err := s.recordOU(ctx, who, p.OrgID, u.ID, "ou.rename", "ou", u.ID, map[string]any{"from": u.Name, "to": n}); err != nil {
			return u, err
		}
		u.Name = n
	}
	if parentID == nil || *parentID == u.ParentID {
		return u, nil
	}
	if u.ID == p.OUID {
		return u, problem.New(problem.Forbidden, "an admin cannot move the OU it administers from")
	}
	if !visibility.Subtree(p.OrgID, p.OUID, ous)[*parentID] {
		return u, problem.Invalidf("parent_id: no such OU")
	}
	err := s.st.MoveOU(ctx, p.OrgID, u.ID, *parentID)
	if errors.Is(err, store.ErrInvalid) {
		return u, problem.Invalidf("parent_id: an OU cannot move below itself, and the root cannot move")
	}
	if err != nil {
		return u, fmt.Errorf("moving OU %s: %w", u.ID, err)
	}
	// A move concerns both parents: it is read by the admins who could make it.
	err = s.recordOU(ctx, who, p.OrgID, audit.CommonOU(ous, u.ParentID, *parentID), "ou.move", "ou", u.ID,
		map[string]any{"from": u.ParentID, "to": *parentID})
	if err != nil {
		return u, err
	}
	u.ParentID = *parentID
	return u, nil
}

// DeleteOU removes u, an empty OU p administers below its own.
func (s *Service) DeleteOU(ctx context.Context, p visibility.Principal, who audit.Actor, u store.OU) error {
	if u.ID == p.OUID {
		return problem.New(problem.Forbidden, "an admin cannot delete the OU it administers from")
	}
	err := s.st.DeleteOU(ctx, p.OrgID, u.ID)
	switch {
	case errors.Is(err, store.ErrNotEmpty):
		return problem.New(problem.Conflict, "the OU is not empty: move or delete its OUs, assets, agents, users and open invitations first")
	case errors.Is(err, store.ErrInvalid):
		return problem.New(problem.Conflict, "the root OU cannot be deleted")
	case err != nil:
		return fmt.Errorf("deleting OU %s: %w", u.ID, err)
	}
	return s.recordOU(ctx, who, p.OrgID, u.ParentID, "ou.delete", "ou", u.ID, map[string]any{"name": u.Name})
}

// AdminOU returns the OU id of p's organization if p administers it (p's
// own OU or one below it), with all the organization's OUs. Unknown and
// foreign OUs are not found; an OU p sees but may not change is
// problem.ErrAdminOnly.
func (s *Service) AdminOU(ctx context.Context, p visibility.Principal, id string) (store.OU, []store.OU, error) {
	ous, err := s.st.OUs(ctx, p.OrgID)
	if err != nil {
		return store.OU{}, nil, fmt.Errorf("loading OUs: %w", err)
	}
	if !visibility.Subtree(p.OrgID, p.OUID, ous)[id] {
		return store.OU{}, ous, problem.ErrNotFound
	}
	if !p.IsAdmin() {
		return store.OU{}, ous, problem.ErrAdminOnly
	}
	for _, u := range ous {
		if u.ID == id {
			return u, ous, nil
		}
	}
	return store.OU{}, ous, problem.ErrNotFound
}

// AddOU is CreateOU for a request that names the parent and the name:
// both are required, and the name is checked before the parent, which p
// must administer (AdminOU).
func (s *Service) AddOU(ctx context.Context, p visibility.Principal, who audit.Actor, parentID, name *string) (store.OU, error) {
	if parentID == nil || name == nil {
		return store.OU{}, problem.Invalidf("parent_id and name are required")
	}
	n, err := input.Name("name", *name)
	if err != nil {
		return store.OU{}, err
	}
	parent, _, err := s.AdminOU(ctx, p, *parentID)
	if err != nil {
		return store.OU{}, err
	}
	return s.CreateOU(ctx, p, who, parent, n)
}

// EnterAsset is CreateAsset for a request: in is checked (NewAsset)
// before the OU ouID (default: p's own), which p must administer
// (AdminOU).
func (s *Service) EnterAsset(ctx context.Context, p visibility.Principal, who audit.Actor, ouID string, in AssetInput) (store.Asset, error) {
	as, err := s.NewAsset(in)
	if err != nil {
		return store.Asset{}, err
	}
	u, _, err := s.AdminOU(ctx, p, cmp.Or(ouID, p.OUID))
	if err != nil {
		return store.Asset{}, err
	}
	return s.CreateAsset(ctx, p, who, u, as)
}
