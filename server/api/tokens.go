package api

import (
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

type apiTokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"` // the first characters, to recognise it
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Token      string     `json:"token,omitempty"` // only in the answer that creates it
}

func toTokenJSON(t store.APIToken) apiTokenJSON {
	return apiTokenJSON{ID: t.ID, Name: t.Name, Hint: t.Hint, CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: timePtr(t.ExpiresAt), LastUsedAt: timePtr(t.LastUsedAt)}
}

func (a *API) listAPITokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.accounts.APITokens(r.Context(), a.actor(r))
	return reply(w, http.StatusOK, map[string]any{"api_tokens": each(ts, toTokenJSON)}, err)
}

type createTokenRequest struct {
	Name string `json:"name"`
	TTL  string `json:"ttl,omitempty"` // Go duration; empty: no expiry
}

func (a *API) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	var req createTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	t, tok, err := a.accounts.CreateAPIToken(r.Context(), a.actor(r), req.Name, req.TTL)
	j := toTokenJSON(t)
	j.Token = tok
	return reply(w, http.StatusCreated, j, err)
}

func (a *API) deleteAPIToken(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.accounts.DeleteAPIToken(r.Context(), a.actor(r), r.PathValue("id")))
}
