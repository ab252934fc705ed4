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

// noContent answers 204 if the call it is given succeeded.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func toTokenJSON(t store.APIToken) apiTokenJSON {
	return apiTokenJSON{ID: t.ID, Name: t.Name, Hint: t.Hint, CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: timePtr(t.ExpiresAt), LastUsedAt: timePtr(t.LastUsedAt)}
}

func (a *API) listAPITokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.accounts.APITokens(r.Context(), a.actor(r))
	if err != nil {
		return err
	}
	out := []apiTokenJSON{}
	for _, t := range ts {
		out = append(out, toTokenJSON(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_tokens": out})
	return nil
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
	if err != nil {
		return err
	}
	j := toTokenJSON(t)
	j.Token = tok
	writeJSON(w, http.StatusCreated, j)
	return nil
}

func (a *API) deleteAPIToken(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.accounts.DeleteAPIToken(r.Context(), a.actor(r), r.PathValue("id")))
}
