package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

type switchOrgRequest struct {
	OrganizationID string `json:"organization_id"`
}

// switchOrg moves the caller's session to another organization it belongs
// to (an MSP engineer who is also admin of a customer).
func (a *API) switchOrg(w http.ResponseWriter, r *http.Request) error {
	var req switchOrgRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	s, ok := r.Context().Value(sessionKey).(store.Session)
	if !ok {
		return badRequest("API tokens belong to one organization; log in to switch")
	}
	err := a.store.SetSessionOrg(r.Context(), s.TokenHash, req.OrganizationID)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	p, err := a.principal(r.Context(), s.UserID, req.OrganizationID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"organization_id": p.OrgID, "role": p.Role, "ou_id": p.OUID})
	return nil
}

type resetRequest struct {
	Email string `json:"email"`
}

// passwordReset mails a single-use reset link if the address has an
// account. The answer is the same either way.
func (a *API) passwordReset(w http.ResponseWriter, r *http.Request) error {
	var req resetRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	email, err := parseEmail("email", req.Email)
	if err != nil {
		return err
	}
	if _, err := a.attempt(r, "password_reset", bucket{"email:" + email, 3}, bucket{"ip:" + clientIP(r), 20}); err != nil {
		return err
	}
	u, err := a.store.UserByEmail(r.Context(), email)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		tok, hash := auth.NewToken(auth.PrefixReset)
		now := a.now()
		if err := a.store.CreatePasswordReset(r.Context(), hash, u.ID, now, now.Add(a.limits.PasswordResetTTL)); err != nil {
			return err
		}
		if err := a.send(r, "password_reset", resetMail(u.Email, a.link("/reset-password#"+tok))); err != nil {
			a.log.Error("password reset mail not sent", "user_id", u.ID, "err", err)
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "if the address has an account, a reset link is on its way"})
	return nil
}

type resetConfirmRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (a *API) passwordResetConfirm(w http.ResponseWriter, r *http.Request) error {
	var req resetConfirmRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		return badRequest("password: %v", err)
	}
	if !strings.HasPrefix(req.Token, auth.PrefixReset) || len(req.Token) > 256 {
		return &HTTPError{Code: http.StatusNotFound, Msg: "the reset link is unknown, used or expired: ask for a new one"}
	}
	userID, err := a.store.UsePasswordReset(r.Context(), auth.Hash(req.Token), a.now())
	if errors.Is(err, store.ErrNotFound) {
		return &HTTPError{Code: http.StatusNotFound, Msg: "the reset link is unknown, used or expired: ask for a new one"}
	}
	if err != nil {
		return err
	}
	if err := a.store.SetPassword(r.Context(), userID, hash); err != nil {
		return err
	}
	if err := a.store.DeleteUserSessions(r.Context(), userID); err != nil {
		return err
	}
	a.log.Info("password reset", "user_id", userID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type acceptRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// invitationByToken finds an open invitation, counting guesses per address.
func (a *API) invitationByToken(r *http.Request, tok string) (store.Invitation, error) {
	errGone := &HTTPError{Code: http.StatusNotFound, Msg: "the invitation is unknown, used, revoked or expired: ask for a new one"}
	if !strings.HasPrefix(tok, auth.PrefixInvitation) || len(tok) > 256 {
		return store.Invitation{}, errGone
	}
	inv, err := a.store.Invitation(r.Context(), auth.Hash(tok), a.now())
	if errors.Is(err, store.ErrNotFound) {
		return inv, errGone
	}
	return inv, err
}

// lookupInvitation tells the activation page what an invitation is for.
func (a *API) lookupInvitation(w http.ResponseWriter, r *http.Request) error {
	var req acceptRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	inv, err := a.invitationByToken(r, req.Token)
	if err != nil {
		return err
	}
	out := map[string]any{"email": inv.Email, "kind": inv.Kind, "role": inv.Role, "expires_at": inv.ExpiresAt.UTC()}
	switch inv.Kind {
	case store.InviteUser:
		o, err := a.store.Organization(r.Context(), inv.OrgID)
		if err != nil {
			return err
		}
		out["organization"] = o.Name
	default:
		out["organization"] = inv.Company
	}
	_, err = a.store.UserByEmail(r.Context(), inv.Email)
	out["existing_account"] = err == nil
	writeJSON(w, http.StatusOK, out)
	return nil
}

// acceptInvitation activates an invitation. A new person chooses a
// password; someone who already has an account (with the invited email)
// proves it with their current password and gains the membership.
func (a *API) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var req acceptRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	inv, err := a.invitationByToken(r, req.Token)
	if err != nil {
		return err
	}
	acc := store.Acceptance{Now: a.now()}
	u, err := a.store.UserByEmail(r.Context(), inv.Email)
	switch {
	case err == nil:
		if !auth.CheckPassword(u.PasswordHash, req.Password) {
			return &HTTPError{Code: http.StatusUnauthorized, Msg: "an account with this email exists: enter its current password to accept"}
		}
	case errors.Is(err, store.ErrNotFound):
		if acc.NewPasswordHash, err = auth.HashPassword(req.Password); err != nil {
			return badRequest("password: %v", err)
		}
	default:
		return err
	}
	var res store.Accepted
	for range 3 { // a fresh partner ID on the rare collision
		if inv.Kind == store.InviteReseller {
			acc.PartnerID = auth.NewPartnerID()
		}
		res, err = a.store.AcceptInvitation(r.Context(), auth.Hash(req.Token), acc)
		if !errors.Is(err, store.ErrConflict) || inv.Kind != store.InviteReseller {
			break
		}
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		return &HTTPError{Code: http.StatusConflict, Msg: "this account is already a member of the organization"}
	case errors.Is(err, store.ErrNotFound):
		return &HTTPError{Code: http.StatusNotFound, Msg: "the invitation is unknown, used, revoked or expired: ask for a new one"}
	case err != nil:
		return err
	}
	// The joined organization's admins see who arrived; a partner that
	// invited a new customer or reseller sees that its invitation was used.
	detail, _ := json.Marshal(map[string]any{"email": inv.Email, "kind": inv.Kind, "role": inv.Role})
	events := []store.AuditEvent{{OrgID: res.OrgID}}
	if inv.InvitedByOrg != res.OrgID {
		events = append(events, store.AuditEvent{OrgID: inv.InvitedByOrg, ActorOrgID: res.OrgID})
	}
	for _, e := range events {
		e.ActorUserID, e.Action, e.TargetType, e.TargetID = res.UserID, "invitation.accept", "invitation", inv.ID
		e.RemoteAddr, e.At, e.Detail = clientIP(r), a.now(), string(detail)
		if err := a.store.AppendAudit(r.Context(), e); err != nil {
			return err
		}
	}
	if a.mail != nil {
		if err := a.send(r, "welcome", welcomeMail(inv.Email, a.link("/login"))); err != nil {
			a.log.Warn("welcome mail not sent", "user_id", res.UserID, "err", err)
		}
	}
	out := map[string]any{"user_id": res.UserID, "organization_id": res.OrgID, "created_user": res.CreatedUser}
	if res.AssetID != "" {
		out["asset_id"] = res.AssetID
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

type memberJSON struct {
	UserID string     `json:"user_id"`
	Email  string     `json:"email"`
	Role   store.Role `json:"role"`
	OUID   string     `json:"ou_id"`
}

// members returns the members an admin manages: those whose OU lies in
// the admin's subtree.
func (a *API) members(r *http.Request) (visibility.Principal, map[string]bool, []store.Member, error) {
	p := principalFrom(r.Context())
	if err := requireAdmin(p); err != nil {
		return p, nil, nil, err
	}
	ous, err := a.store.OUs(r.Context(), p.OrgID)
	if err != nil {
		return p, nil, nil, err
	}
	sub := visibility.Subtree(p.OrgID, p.OUID, ous)
	all, err := a.store.Members(r.Context(), p.OrgID)
	if err != nil {
		return p, sub, nil, err
	}
	var out []store.Member
	for _, m := range all {
		if sub[m.OUID] {
			out = append(out, m)
		}
	}
	return p, sub, out, nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	_, _, ms, err := a.members(r)
	if err != nil {
		return err
	}
	out := []memberJSON{}
	for _, m := range ms {
		out = append(out, memberJSON{UserID: m.UserID, Email: m.Email, Role: m.Role, OUID: m.OUID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

// member finds the managed member named in the path; an admin does not
// change its own membership (so an organization cannot lose its last
// admin by accident).
func (a *API) member(r *http.Request) (visibility.Principal, map[string]bool, store.Member, error) {
	p, sub, ms, err := a.members(r)
	if err != nil {
		return p, sub, store.Member{}, err
	}
	id := r.PathValue("id")
	for _, m := range ms {
		if m.UserID == id {
			if id == p.UserID {
				return p, sub, m, &HTTPError{Code: http.StatusForbidden, Msg: "ask another admin to change or remove your own membership"}
			}
			return p, sub, m, nil
		}
	}
	return p, sub, store.Member{}, errNotFound
}

type updateUserRequest struct {
	Role *store.Role `json:"role"`
	OUID *string     `json:"ou_id"`
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) error {
	var req updateUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, sub, m, err := a.member(r)
	if err != nil {
		return err
	}
	if req.Role != nil {
		if *req.Role != store.Admin && *req.Role != store.Viewer {
			return badRequest("role %q: admin or viewer", *req.Role)
		}
		m.Role = *req.Role
	}
	if req.OUID != nil {
		if !sub[*req.OUID] {
			return badRequest("ou_id: no such OU")
		}
		m.Membership.OUID = *req.OUID
	}
	if err := a.store.SetMembership(r.Context(), m.Membership); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "user.update", "user", m.UserID, map[string]any{"role": m.Role, "ou_id": m.Membership.OUID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, memberJSON{UserID: m.UserID, Email: m.Email, Role: m.Role, OUID: m.Membership.OUID})
	return nil
}

func (a *API) removeUser(w http.ResponseWriter, r *http.Request) error {
	p, _, m, err := a.member(r)
	if err != nil {
		return err
	}
	if err := a.store.RemoveMembership(r.Context(), m.UserID, p.OrgID); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "user.remove", "user", m.UserID, map[string]any{"email": m.Email}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type inviteUserRequest struct {
	Email string     `json:"email"`
	Role  store.Role `json:"role"`
	OUID  string     `json:"ou_id"`
}

// inviteUser: an admin adds a user to its organization, at an OU it
// administers, as admin or viewer.
func (a *API) inviteUser(w http.ResponseWriter, r *http.Request) error {
	var req inviteUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	to, err := parseEmail("email", req.Email)
	if err != nil {
		return err
	}
	if req.Role != store.Admin && req.Role != store.Viewer {
		return badRequest("role %q: admin or viewer", req.Role)
	}
	p := principalFrom(r.Context())
	if req.OUID == "" {
		req.OUID = p.OUID
	}
	p, u, _, err := a.adminOU(r, req.OUID)
	if err != nil {
		return err
	}
	org, err := a.store.Organization(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	inv := store.Invitation{Kind: store.InviteUser, Email: to, OrgID: p.OrgID, OUID: u.ID, Role: req.Role,
		InvitedBy: p.UserID, InvitedByOrg: p.OrgID}
	return a.createInvitation(w, r, inv, org.Name, fmt.Sprintf("as %s of %s", req.Role, org.Name))
}

// createInvitation stores an invitation, audits it and mails the link. If
// the mail cannot be sent, the invitation is revoked again: the link
// exists only in the invited person's mailbox.
func (a *API) createInvitation(w http.ResponseWriter, r *http.Request, inv store.Invitation, inviter, what string) error {
	if a.mail == nil {
		return errNoMail
	}
	tok, hash := auth.NewToken(auth.PrefixInvitation)
	now := a.now()
	inv.TokenHash, inv.CreatedAt, inv.ExpiresAt = hash, now, now.Add(a.limits.InvitationTTL)
	if err := a.store.CreateInvitation(r.Context(), &inv); err != nil {
		return err
	}
	if err := a.audit(r, inv.InvitedByOrg, "invitation.create", "invitation", inv.ID,
		map[string]any{"email": inv.Email, "kind": inv.Kind, "role": inv.Role, "company": inv.Company}); err != nil {
		return err
	}
	if err := a.send(r, "invitation", invitationMail(inv.Email, inviter, what, a.link("/invite#"+tok))); err != nil {
		if rerr := a.store.RevokeInvitation(r.Context(), inv.InvitedByOrg, inv.ID, a.now()); rerr != nil {
			a.log.Error("revoking unsent invitation", "invitation_id", inv.ID, "err", rerr)
		}
		return err
	}
	writeJSON(w, http.StatusCreated, invitationJSON(inv))
	return nil
}

type invitationOut struct {
	ID          string               `json:"id"`
	Kind        store.InvitationKind `json:"kind"`
	Email       string               `json:"email"`
	Role        store.Role           `json:"role"`
	OUID        string               `json:"ou_id,omitempty"`
	Company     string               `json:"company,omitempty"`
	Status      string               `json:"status"` // open, accepted, revoked, expired
	CreatedAt   time.Time            `json:"created_at"`
	ExpiresAt   time.Time            `json:"expires_at"`
	ResultOrgID string               `json:"organization_id,omitempty"`
}

func invitationJSON(inv store.Invitation) invitationOut {
	st := "open"
	switch {
	case !inv.AcceptedAt.IsZero():
		st = "accepted"
	case !inv.RevokedAt.IsZero():
		st = "revoked"
	case time.Now().After(inv.ExpiresAt):
		st = "expired"
	}
	return invitationOut{ID: inv.ID, Kind: inv.Kind, Email: inv.Email, Role: inv.Role, OUID: inv.OUID, Company: inv.Company,
		Status: st, CreatedAt: inv.CreatedAt.UTC(), ExpiresAt: inv.ExpiresAt.UTC(), ResultOrgID: inv.ResultOrgID}
}

func (a *API) listInvitations(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := requireAdmin(p); err != nil {
		return err
	}
	invs, err := a.store.InvitationsByOrg(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	out := []invitationOut{}
	for _, inv := range invs {
		out = append(out, invitationJSON(inv))
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": out})
	return nil
}

func (a *API) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := requireAdmin(p); err != nil {
		return err
	}
	err := a.store.RevokeInvitation(r.Context(), p.OrgID, r.PathValue("id"), a.now())
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "invitation.revoke", "invitation", r.PathValue("id"), nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
