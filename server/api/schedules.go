package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/schedule"
)

func (a *API) listSchedules(w http.ResponseWriter, r *http.Request) error {
	ss, err := a.schedules.List(r.Context(), principalFrom(r.Context()))
	return reply(w, http.StatusOK, map[string]any{"schedules": ss}, err)
}

// createSchedule sets up a report mailed on a schedule (schedule.Manager);
// who may is asked before the body is read.
func (a *API) createSchedule(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	if err := a.schedules.MayCreate(p); err != nil {
		return err
	}
	var req schedule.Request
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	s, err := a.schedules.Create(ctx, p, who, req)
	return reply(w, http.StatusCreated, s, err)
}

func (a *API) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	return noContent(w, a.schedules.Delete(ctx, p, who, r.PathValue("id")))
}
