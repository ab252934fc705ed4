package api

import (
	"errors"
	"net"
	"net/http"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/ratelimit"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// A caller who may not see a thing gets the same 404 as for a thing that
// does not exist, so ids of other tenants cannot be probed; a caller who
// sees it but may not change it gets 403 (problem.ErrAdminOnly,
// problem.ErrReadOnly).

// visibleSet resolves the caller's visibility. Every list starts here.
func (a *API) visibleSet(r *http.Request) (visibility.Principal, visibility.Set, error) {
	p := principalFrom(r.Context())
	set, err := a.vis.Set(r.Context(), p)
	return p, set, err
}

// visibleAsset loads the asset named by the path value "id" if the caller
// may see it. Invisible and missing assets get the same 404. Every
// single-asset read starts here: it loads only what this one asset's
// access depends on.
func (a *API) visibleAsset(r *http.Request) (visibility.Principal, store.Asset, visibility.Access, error) {
	p := principalFrom(r.Context())
	as, acc, err := a.vis.Asset(r.Context(), p, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return p, store.Asset{}, visibility.Access{}, errNotFound
	}
	return p, as, acc, err
}

// ownedAsset is visibleAsset for changes and keys: only admins of the
// asset's own organization (at its OU or above) pass.
func (a *API) ownedAsset(r *http.Request) (visibility.Principal, store.Asset, error) {
	p, as, acc, err := a.visibleAsset(r)
	if err != nil {
		return p, as, err
	}
	if acc.Class != visibility.Owner {
		return p, as, problem.ErrReadOnly
	}
	if !p.IsAdmin() {
		return p, as, problem.ErrAdminOnly
	}
	return p, as, nil
}

// adminOU checks that the caller administers the OU id (sharing.AdminOU).
func (a *API) adminOU(r *http.Request, id string) (visibility.Principal, store.OU, []store.OU, error) {
	p := principalFrom(r.Context())
	u, ous, err := a.sharing.AdminOU(r.Context(), p, id)
	return p, u, ous, err
}

// clientIP is the remote address without port: the peer's, or behind a
// proxy in trusted_proxies the client's it forwarded (server/clientaddr
// sets RemoteAddr before the API sees the request).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// attempt counts an attempt of the request against buckets (package
// ratelimit's Attempts) and answers 429 once any is over its limit.
// done(true) takes the attempt back after a success.
func (a *API) attempt(r *http.Request, limit string, buckets ...ratelimit.Bucket) (func(success bool), error) {
	done, err := ratelimit.Attempts{Store: a.store, Limit: limit}.Attempt(r.Context(), a.now(), buckets...)
	return a.limited(r, done, err)
}

// keyGuess starts one guess of a key or partner ID by the caller's
// organization from its address.
func (a *API) keyGuess(r *http.Request) (func(bool), error) {
	p := principalFrom(r.Context())
	n := a.limits.KeyGuesses
	return a.attempt(r, "key_guess", ratelimit.Bucket{Key: "org:" + p.OrgID, N: n}, ratelimit.Bucket{Key: "ip:" + clientIP(r), N: 3 * n})
}
