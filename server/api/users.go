package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/store"
)

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	ms, err := a.accounts.Members(r.Context(), principalFrom(r.Context()))
	return reply(w, http.StatusOK, map[string]any{"users": each(ms, account.ViewMember)}, err)
}

type updateUserRequest struct {
	Role *store.Role `json:"role"`
	OUID *string     `json:"ou_id"`
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req updateUserRequest) error {
		m, err := a.accounts.UpdateMember(r.Context(), a.actor(r), principalFrom(r.Context()), r.PathValue("id"),
			account.MemberChange(req))
		return reply(w, http.StatusOK, account.ViewMember(m), err)
	})
}

func (a *API) removeUser(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.accounts.RemoveMember(r.Context(), a.actor(r), principalFrom(r.Context()), r.PathValue("id")))
}

type inviteUserRequest struct {
	Email string     `json:"email"`
	Role  store.Role `json:"role"`
	OUID  string     `json:"ou_id"`
}

func (a *API) inviteUser(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req inviteUserRequest) error {
		inv, err := a.accounts.InviteUser(r.Context(), a.actor(r), principalFrom(r.Context()), req.Email, req.Role, req.OUID)
		return reply(w, http.StatusCreated, a.invitationJSON(inv), err)
	})
}

// createInvitation sends inv (see account.Service.Invite) and answers it.
func (a *API) createInvitation(w http.ResponseWriter, r *http.Request, inv store.Invitation, inviter, what string) error {
	inv, err := a.accounts.Invite(r.Context(), a.actor(r), inv, inviter, what)
	return reply(w, http.StatusCreated, a.invitationJSON(inv), err)
}

func (a *API) invitationJSON(inv store.Invitation) account.InvitationView {
	return account.ViewInvitation(inv, a.now())
}

func (a *API) listInvitations(w http.ResponseWriter, r *http.Request) error {
	invs, err := a.accounts.Invitations(r.Context(), principalFrom(r.Context()))
	return reply(w, http.StatusOK, map[string]any{"invitations": each(invs, a.invitationJSON)}, err)
}

func (a *API) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.accounts.RevokeInvitation(r.Context(), a.actor(r), principalFrom(r.Context()), r.PathValue("id")))
}

// tokenPassword is a request that proves a link's token, with a password.
type tokenPassword struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// lookupInvitation tells the activation page what an invitation is for.
func (a *API) lookupInvitation(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req tokenPassword) error {
		inv, err := a.accounts.LookupInvitation(r.Context(), req.Token)
		return reply(w, http.StatusOK, map[string]any{"email": inv.Email, "kind": inv.Kind, "role": inv.Role,
			"expires_at": inv.ExpiresAt.UTC(), "organization": inv.Organization, "existing_account": inv.ExistingAccount}, err)
	})
}

func (a *API) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req tokenPassword) error {
		res, err := a.accounts.AcceptInvitation(r.Context(), a.actor(r), req.Token, req.Password)
		out := map[string]any{"user_id": res.UserID, "organization_id": res.OrgID, "created_user": res.CreatedUser}
		if res.AssetID != "" {
			out["asset_id"] = res.AssetID
		}
		return reply(w, http.StatusCreated, out, err)
	})
}
