package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/auth"
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
	j := apiTokenJSON{ID: t.ID, Name: t.Name, Hint: t.Hint, CreatedAt: t.CreatedAt.UTC()}
	if !t.ExpiresAt.IsZero() {
		e := t.ExpiresAt.UTC()
		j.ExpiresAt = &e
	}
	if !t.LastUsedAt.IsZero() {
		u := t.LastUsedAt.UTC()
		j.LastUsedAt = &u
	}
	return j
}

// listAPITokens answers the caller's own tokens in this organization,
// never the tokens themselves.
func (a *API) listAPITokens(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	ts, err := a.store.APITokens(r.Context(), p.UserID, p.OrgID)
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

// createAPIToken makes a token that acts as the caller, with the caller's
// role, in this organization. It is shown once; only its hash is kept.
func (a *API) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	var req createTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if _, ok := r.Context().Value(apiTokenKey).(store.APIToken); ok {
		return &HTTPError{Code: http.StatusForbidden, Msg: "API tokens cannot create API tokens; log in"}
	}
	now := a.now()
	t := store.APIToken{UserID: p.UserID, OrgID: p.OrgID, Name: name, CreatedAt: now}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < time.Hour || d > 2*366*24*time.Hour {
			return badRequest("ttl %q: a duration from 1h to 17568h (two years)", req.TTL)
		}
		t.ExpiresAt = now.Add(d)
	}
	tok, hash := auth.NewToken(auth.PrefixAPIToken)
	t.TokenHash, t.Hint = hash, tok[:len(auth.PrefixAPIToken)+4]
	if err := a.store.CreateAPIToken(r.Context(), &t); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "api_token.create", "api_token", t.ID, map[string]any{"name": name}); err != nil {
		return err
	}
	j := toTokenJSON(t)
	j.Token = tok
	writeJSON(w, http.StatusCreated, j)
	return nil
}

func (a *API) deleteAPIToken(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	err := a.store.DeleteAPIToken(r.Context(), p.UserID, p.OrgID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "api_token.delete", "api_token", r.PathValue("id"), nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
