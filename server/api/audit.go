package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/store"
)

// listAudit answers the organization's audit trail to its admins, newest
// first: ?limit= (≤1000), ?before=<id> for the next page, ?action=. An
// admin of a sub-OU reads only its subtree's part (audit.Scope).
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := audit.MayRead(p); err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := limitParam(q, 100, 1000)
	if err != nil {
		return err
	}
	page, err := audit.Read(r.Context(), a.store, p, store.AuditFilter{BeforeID: q.Get("before"), Action: q.Get("action"), Limit: limit})
	return reply(w, http.StatusOK, page, err)
}
