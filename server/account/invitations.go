package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

var errInvitationGone = &problem.Error{Kind: problem.NotFound, Msg: "the invitation is unknown, used, revoked or expired: ask for a new one", Err: ErrWrongSecret}

// InviteUser lets an admin invite someone into its organization, as admin
// or viewer, at ouID (empty: the admin's own OU), an OU it administers.
func (s *Service) InviteUser(ctx context.Context, who audit.Actor, p visibility.Principal, email string, role store.Role, ouID string) (store.Invitation, error) {
	to, err := input.Email("email", email)
	if err != nil {
		return store.Invitation{}, err
	}
	if err := checkRole(role); err != nil {
		return store.Invitation{}, err
	}
	if ouID == "" {
		ouID = p.OUID
	}
	ou, err := s.adminOU(ctx, p, ouID)
	if err != nil {
		return store.Invitation{}, err
	}
	org, err := s.st.Organization(ctx, p.OrgID)
	if err != nil {
		return store.Invitation{}, fmt.Errorf("loading organization: %w", err)
	}
	inv := store.Invitation{Kind: store.InviteUser, Email: to, OrgID: p.OrgID, OUID: ou.ID, Role: role,
		InvitedBy: p.UserID, InvitedByOrg: p.OrgID}
	return s.Invite(ctx, who, inv, org.Name, fmt.Sprintf("as %s of %s", role, org.Name))
}

// Invite stores inv (of any kind), audits it and mails the link to
// inv.Email; the mail says that inviter invites the person to kpilot
// <what>. If the mail cannot be sent, the invitation is revoked again: the
// link exists only in the invited person's mailbox.
func (s *Service) Invite(ctx context.Context, who audit.Actor, inv store.Invitation, inviter, what string) (store.Invitation, error) {
	if !s.mail.Enabled() {
		return store.Invitation{}, ErrNoMail
	}
	tok, hash := auth.NewToken(auth.PrefixInvitation)
	now := s.now()
	inv.TokenHash, inv.CreatedAt, inv.ExpiresAt = hash, now, now.Add(s.ttl.Invitation)
	if err := s.st.CreateInvitation(ctx, &inv); err != nil {
		return store.Invitation{}, fmt.Errorf("creating invitation: %w", err)
	}
	if err := s.rec.Record(ctx, who, audit.Entry{OrgID: inv.InvitedByOrg, OUID: inv.OUID, Action: "invitation.create", TargetType: "invitation",
		TargetID: inv.ID, Detail: map[string]any{"email": inv.Email, "kind": inv.Kind, "role": inv.Role, "company": inv.Company}}); err != nil {
		return store.Invitation{}, err
	}
	if err := s.mail.Send(ctx, "invitation", invitationMail(inv.Email, inviter, what, s.mail.Link("/invite#"+tok))); err != nil {
		if rerr := s.st.RevokeInvitation(ctx, inv.InvitedByOrg, inv.ID, s.now()); rerr != nil {
			s.log.Error("revoking unsent invitation", "invitation_id", inv.ID, "err", rerr)
		}
		return store.Invitation{}, err
	}
	return inv, nil
}

// InvitationStatus is open, accepted, revoked or expired (as of now).
func InvitationStatus(inv store.Invitation, now time.Time) string {
	switch {
	case !inv.AcceptedAt.IsZero():
		return "accepted"
	case !inv.RevokedAt.IsZero():
		return "revoked"
	case now.After(inv.ExpiresAt):
		return "expired"
	}
	return "open"
}

// Invitations lists the invitations an admin of p's OU may see: those
// into its OU or below. Invitations not into an OU (a partner's invitation
// of a new customer or reseller) concern the whole organization and are
// listed to admins at its root OU only.
func (s *Service) Invitations(ctx context.Context, p visibility.Principal) ([]store.Invitation, error) {
	if !p.IsAdmin() {
		return nil, problem.ErrAdminOnly
	}
	invs, err := s.st.InvitationsByOrg(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("listing invitations: %w", err)
	}
	mine, err := s.invitationScope(ctx, p)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(invs, func(inv store.Invitation) bool { return !mine(inv) }), nil
}

// invitationScope returns whether an invitation of p's organization lies
// within p's reach (see Invitations).
func (s *Service) invitationScope(ctx context.Context, p visibility.Principal) (func(store.Invitation) bool, error) {
	ous, err := s.st.OUs(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading OUs: %w", err)
	}
	sub := visibility.Subtree(p.OrgID, p.OUID, ous)
	atRoot := slices.ContainsFunc(ous, func(u store.OU) bool { return u.ID == p.OUID && u.ParentID == "" })
	return func(inv store.Invitation) bool {
		if inv.OUID == "" {
			return atRoot
		}
		return sub[inv.OUID]
	}, nil
}

// RevokeInvitation withdraws an open invitation of p's organization within
// p's reach; others are not found.
func (s *Service) RevokeInvitation(ctx context.Context, who audit.Actor, p visibility.Principal, id string) error {
	invs, err := s.Invitations(ctx, p)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(invs, func(inv store.Invitation) bool { return inv.ID == id })
	if i < 0 {
		return problem.ErrNotFound
	}
	err = s.st.RevokeInvitation(ctx, p.OrgID, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return problem.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoking invitation: %w", err)
	}
	return s.rec.Record(ctx, who, audit.Entry{OrgID: p.OrgID, OUID: invs[i].OUID, Action: "invitation.revoke",
		TargetType: "invitation", TargetID: id})
}

// Invitation is an open invitation as the activation page shows it.
type Invitation struct {
	store.Invitation
	Organization    string // the organization joined, or the company to be made
	ExistingAccount bool   // the invited email has an account: accepting takes its password
}

// LookupInvitation tells what the open invitation named by token is for.
func (s *Service) LookupInvitation(ctx context.Context, token string) (Invitation, error) {
	inv, err := s.openInvitation(ctx, token)
	if err != nil {
		return Invitation{}, err
	}
	out := Invitation{Invitation: inv, Organization: inv.Company}
	if inv.Kind == store.InviteUser {
		o, err := s.st.Organization(ctx, inv.OrgID)
		if err != nil {
			return Invitation{}, fmt.Errorf("loading organization: %w", err)
		}
		out.Organization = o.Name
	}
	_, err = s.st.UserByEmail(ctx, inv.Email)
	out.ExistingAccount = err == nil
	return out, nil
}

// AcceptInvitation activates the invitation named by token, once. A new
// person chooses password; someone who already has an account with the
// invited email proves it with its current password and gains the
// membership. who is the anonymous caller (its address); the events are
// recorded as done by the accepting user.
func (s *Service) AcceptInvitation(ctx context.Context, who audit.Actor, token, password string) (store.Accepted, error) {
	inv, err := s.openInvitation(ctx, token)
	if err != nil {
		return store.Accepted{}, err
	}
	acc := store.Acceptance{Now: s.now()}
	u, err := s.st.UserByEmail(ctx, inv.Email)
	switch {
	case err == nil:
		if !auth.CheckPassword(u.PasswordHash, password) {
			return store.Accepted{}, &problem.Error{Kind: problem.Unauthorized, Msg: "an account with this email exists: enter its current password to accept", Err: ErrWrongSecret}
		}
	case errors.Is(err, store.ErrNotFound):
		if acc.NewPasswordHash, err = auth.HashPassword(password); err != nil {
			return store.Accepted{}, problem.Invalidf("password: %v", err)
		}
	default:
		return store.Accepted{}, fmt.Errorf("looking up user: %w", err)
	}
	res, err := s.accept(ctx, inv, token, acc)
	if err != nil {
		return res, err
	}
	// The joined organization's admins see who arrived; a partner that
	// invited a new customer or reseller sees that its invitation was used.
	// A user joins at inv.OUID; invitations of new organizations have none
	// and concern the whole of both.
	newcomer := audit.Actor{UserID: res.UserID, OrgID: res.OrgID, OUID: inv.OUID, RemoteAddr: who.RemoteAddr}
	orgs := []string{res.OrgID}
	if inv.InvitedByOrg != res.OrgID {
		orgs = append(orgs, inv.InvitedByOrg)
	}
	for _, org := range orgs {
		if err := s.rec.Record(ctx, newcomer, audit.Entry{OrgID: org, OUID: inv.OUID, Action: "invitation.accept", TargetType: "invitation",
			TargetID: inv.ID, Detail: map[string]any{"email": inv.Email, "kind": inv.Kind, "role": inv.Role}}); err != nil {
			return res, err
		}
	}
	if s.mail.Enabled() {
		if err := s.mail.Send(ctx, "welcome", welcomeMail(inv.Email, s.mail.Link("/login"))); err != nil {
			s.log.Warn("welcome mail not sent", "user_id", res.UserID, "err", err)
		}
	}
	return res, nil
}

// accept stores the acceptance; a new reseller gets a fresh partner ID on
// the rare collision.
func (s *Service) accept(ctx context.Context, inv store.Invitation, token string, acc store.Acceptance) (store.Accepted, error) {
	var res store.Accepted
	var err error
	for range 3 {
		if inv.Kind == store.InviteReseller {
			acc.PartnerID = auth.NewPartnerID()
		}
		res, err = s.st.AcceptInvitation(ctx, auth.Hash(token), acc)
		if !errors.Is(err, store.ErrConflict) || inv.Kind != store.InviteReseller {
			break
		}
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		return res, problem.New(problem.Conflict, "this account is already a member of the organization")
	case errors.Is(err, store.ErrNotFound):
		return res, errInvitationGone
	case err != nil:
		return res, fmt.Errorf("accepting invitation: %w", err)
	}
	return res, nil
}

// openInvitation finds the open invitation named by token.
func (s *Service) openInvitation(ctx context.Context, token string) (store.Invitation, error) {
	if !strings.HasPrefix(token, auth.PrefixInvitation) || len(token) > 256 {
		return store.Invitation{}, errInvitationGone
	}
	inv, err := s.st.Invitation(ctx, auth.Hash(token), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return inv, errInvitationGone
	}
	if err != nil {
		return inv, fmt.Errorf("looking up invitation: %w", err)
	}
	return inv, nil
}
