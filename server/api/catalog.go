package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/kpis"
	"github.com/kpilot/kpilot/server/store"
)

// WithKPIs answers organizations' KPI catalogs from k (default: the
// built-in catalog and the store).
func WithKPIs(k *kpis.Service) Option { return func(a *API) { a.kpis = k } }

// putAgentKPIs answers PUT /api/v1/agents/self/kpis: the definitions of
// the agent's own profiles and templates replace those it sent before.
func (a *API) putAgentKPIs(w http.ResponseWriter, r *http.Request) error {
	ag, _ := r.Context().Value(agentKey).(store.Agent)
	res, err := a.kpis.Put(r.Context(), ag, http.MaxBytesReader(w, r.Body, kpis.MaxBody+1))
	return reply(w, http.StatusOK, res, err)
}

// listKPIs answers GET /api/v1/kpis: the catalog of the caller's own
// organization (a partner's too: never a customer's agents' definitions).
func (a *API) listKPIs(w http.ResponseWriter, r *http.Request) error {
	c, err := a.kpis.For(r.Context(), principalFrom(r.Context()).OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.kpis.List(c))
	return nil
}
