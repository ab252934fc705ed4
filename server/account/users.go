package account

import (
	"context"
	"fmt"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Members returns the members an admin manages: those whose OU lies in
// the admin's subtree.
func (s *Service) Members(ctx context.Context, p visibility.Principal) ([]store.Member, error) {
	_, ms, err := s.members(ctx, p)
	return ms, err
}

// MemberChange is a change of a membership; nil fields stay as they are.
type MemberChange struct {
	Role *store.Role
	OUID *string // an OU the admin administers
}

// UpdateMember changes the role or OU of the member userID.
func (s *Service) UpdateMember(ctx context.Context, who audit.Actor, p visibility.Principal, userID string, c MemberChange) (store.Member, error) {
	sub, m, err := s.member(ctx, p, userID)
	if err != nil {
		return m, err
	}
	if c.Role != nil {
		if err := checkRole(*c.Role); err != nil {
			return m, err
		}
		m.Role = *c.Role
	}
	from := m.Membership.OUID
	if c.OUID != nil {
		if !sub[*c.OUID] {
			return m, problem.Invalidf("ou_id: no such OU")
		}
		m.Membership.OUID = *c.OUID
	}
	if err := s.st.SetMembership(ctx, m.Membership); err != nil {
		return m, fmt.Errorf("changing membership: %w", err)
	}
	ous, err := s.st.OUs(ctx, p.OrgID)
	if err != nil {
		return m, fmt.Errorf("loading OUs: %w", err)
	}
	// A move concerns both OUs: it is read by the admins who could make it.
	err = s.rec.Record(ctx, who, audit.Entry{OrgID: p.OrgID, OUID: audit.CommonOU(ous, from, m.Membership.OUID),
		Action: "user.update", TargetType: "user", TargetID: m.UserID,
		Detail: map[string]any{"role": m.Role, "ou_id": m.Membership.OUID}})
	return m, err
}

// RemoveMember ends the membership of userID in p's organization; the
// store ends its sessions and API tokens there with it.
func (s *Service) RemoveMember(ctx context.Context, who audit.Actor, p visibility.Principal, userID string) error {
	_, m, err := s.member(ctx, p, userID)
	if err != nil {
		return err
	}
	if err := s.st.RemoveMembership(ctx, m.UserID, p.OrgID); err != nil {
		return fmt.Errorf("removing membership: %w", err)
	}
	return s.rec.Record(ctx, who, audit.Entry{OrgID: p.OrgID, OUID: m.Membership.OUID, Action: "user.remove", TargetType: "user", TargetID: m.UserID,
		Detail: map[string]any{"email": m.Email}})
}

// members returns the admin's subtree and the members in it.
func (s *Service) members(ctx context.Context, p visibility.Principal) (map[string]bool, []store.Member, error) {
	if !p.IsAdmin() {
		return nil, nil, problem.ErrAdminOnly
	}
	ous, err := s.st.OUs(ctx, p.OrgID)
	if err != nil {
		return nil, nil, fmt.Errorf("loading OUs: %w", err)
	}
	sub := visibility.Subtree(p.OrgID, p.OUID, ous)
	all, err := s.st.Members(ctx, p.OrgID)
	if err != nil {
		return sub, nil, fmt.Errorf("listing members: %w", err)
	}
	var out []store.Member
	for _, m := range all {
		if sub[m.OUID] {
			out = append(out, m)
		}
	}
	return sub, out, nil
}

// member finds the managed member userID. An admin does not change its
// own membership, so an organization cannot lose its last admin by
// accident: another admin has to do it.
func (s *Service) member(ctx context.Context, p visibility.Principal, userID string) (map[string]bool, store.Member, error) {
	sub, ms, err := s.members(ctx, p)
	if err != nil {
		return sub, store.Member{}, err
	}
	for _, m := range ms {
		if m.UserID == userID {
			if userID == p.UserID {
				return sub, m, problem.New(problem.Forbidden, "ask another admin to change or remove your own membership")
			}
			return sub, m, nil
		}
	}
	return sub, store.Member{}, problem.ErrNotFound
}

// adminOU checks that p administers the OU id (its own OU or one below
// it) and returns the OU. Unknown and foreign OUs are not found.
func (s *Service) adminOU(ctx context.Context, p visibility.Principal, id string) (store.OU, error) {
	ous, err := s.st.OUs(ctx, p.OrgID)
	if err != nil {
		return store.OU{}, fmt.Errorf("loading OUs: %w", err)
	}
	if !visibility.Subtree(p.OrgID, p.OUID, ous)[id] {
		return store.OU{}, problem.ErrNotFound
	}
	if !p.IsAdmin() {
		return store.OU{}, problem.ErrAdminOnly
	}
	for _, u := range ous {
		if u.ID == id {
			return u, nil
		}
	}
	return store.OU{}, problem.ErrNotFound
}

// checkRole accepts the roles a member may have.
func checkRole(r store.Role) error {
	if r != store.Admin && r != store.Viewer {
		return problem.Invalidf("role %q: admin or viewer", r)
	}
	return nil
}
