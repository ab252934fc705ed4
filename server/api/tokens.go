package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/account"
)

func (a *API) listAPITokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.accounts.APITokens(r.Context(), a.actor(r))
	return reply(w, http.StatusOK, map[string]any{"api_tokens": each(ts, account.ViewToken)}, err)
}

type createTokenRequest struct {
	Name string `json:"name"`
	TTL  string `json:"ttl,omitempty"` // Go duration; empty: no expiry
}

func (a *API) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req createTokenRequest) error {
		t, tok, err := a.accounts.CreateAPIToken(r.Context(), a.actor(r), req.Name, req.TTL)
		j := account.ViewToken(t)
		j.Token = tok
		return reply(w, http.StatusCreated, j, err)
	})
}

func (a *API) deleteAPIToken(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.accounts.DeleteAPIToken(r.Context(), a.actor(r), r.PathValue("id")))
}
