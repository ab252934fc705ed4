package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/store"
)

type enrollmentTokenRequest struct {
	OUID string `json:"ou_id,omitempty"` // default: the admin's own OU
	TTL  string `json:"ttl,omitempty"`   // Go duration, default 1h, at most 7 days
}

func (a *API) createEnrollmentToken(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := account.MayEnroll(p); err != nil {
		return err // before the body: a viewer learns nothing from its errors
	}
	var req enrollmentTokenRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	t, err := a.accounts.CreateEnrollmentToken(r.Context(), a.actor(r), p, req.OUID, req.TTL)
	return reply(w, http.StatusCreated, map[string]any{"token": t.Token, "ou_id": t.OUID, "expires_at": t.ExpiresAt.UTC()}, err)
}

type enrollRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	Version  string `json:"version"`
}

func (a *API) enroll(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req enrollRequest) error {
		ag, cred, err := a.accounts.Enroll(r.Context(), account.Enrollment(req))
		return reply(w, http.StatusCreated, map[string]string{"agent_id": ag.ID, "credential": cred}, err)
	})
}

// agentSelf tells an agent who the server takes it for; `kpilot-agent
// check` uses it to verify the server address, TLS trust and credential.
func (a *API) agentSelf(w http.ResponseWriter, r *http.Request) error {
	ag, _ := r.Context().Value(agentKey).(store.Agent)
	writeJSON(w, http.StatusOK, map[string]any{
		"agent_id": ag.ID, "name": ag.Name, "organization_id": ag.OrgID, "ou_id": ag.OUID,
	})
	return nil
}

// listAgents answers the agents of the caller's OU and below, with when
// each last delivered data and its latest problem.
func (a *API) listAgents(w http.ResponseWriter, r *http.Request) error {
	agents, err := a.accounts.Agents(r.Context(), principalFrom(r.Context()))
	now := a.now()
	return reply(w, http.StatusOK, map[string]any{"agents": each(agents, func(ag store.Agent) account.AgentView {
		return account.ViewAgent(ag, now)
	})}, err)
}
