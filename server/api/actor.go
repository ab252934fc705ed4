package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/store"
)

// actor is who makes the request, as the audit trail records it: the
// calling user, its organization and OU, the client's address and, for a
// request with an API token, the token.
func (a *API) actor(r *http.Request) audit.Actor {
	p := principalFrom(r.Context())
	who := audit.Actor{UserID: p.UserID, OrgID: p.OrgID, OUID: p.OUID, RemoteAddr: clientIP(r)}
	if via, ok := r.Context().Value(apiTokenKey).(store.APIToken); ok {
		who.APITokenID = via.ID
	}
	return who
}
