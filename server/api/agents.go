package api

import (
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// StaleAfter is how long after its last poll an asset, and after its last
// delivery an agent, counts as stale: three default poll intervals with
// room for a batch's flush delay.
const StaleAfter = 15 * time.Minute

type agentJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Hostname    string     `json:"hostname"`
	OUID        string     `json:"ou_id"`
	Version     string     `json:"version"`
	EnrolledAt  time.Time  `json:"enrolled_at"`
	LastSeenAt  *time.Time `json:"last_seen_at"`
	Status      string     `json:"status"` // ok, stale
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// listAgents answers the agents enrolled into the caller's OU or below
// it, with when each last delivered data and its latest problem. Agents
// are the customer's own: partners see the assets shared with them, not
// the customer's agents.
func (a *API) listAgents(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if p.IsPartner() {
		return errCustomerOnly
	}
	ous, err := a.store.OUs(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	sub := visibility.Subtree(p.OrgID, p.OUID, ous)
	agents, err := a.store.Agents(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	now := a.now()
	out := []agentJSON{}
	for _, ag := range agents {
		if !sub[ag.OUID] {
			continue
		}
		out = append(out, toAgentJSON(ag, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
	return nil
}

func toAgentJSON(ag store.Agent, now time.Time) agentJSON {
	j := agentJSON{ID: ag.ID, Name: ag.Name, Hostname: ag.Hostname, OUID: ag.OUID, Version: ag.Version,
		EnrolledAt: ag.CreatedAt.UTC(), LastSeenAt: timePtr(ag.LastSeenAt), Status: "ok",
		LastError: ag.LastError, LastErrorAt: timePtr(ag.LastErrorAt)}
	if now.Sub(ag.LastSeenAt) > StaleAfter {
		j.Status = "stale"
	}
	return j
}

// assetStatus says whether an asset's device answered its latest poll:
// up, down, stale (no poll for StaleAfter) or unknown (never polled, such
// as an asset entered by hand before its agent reports).
func assetStatus(as store.Asset, now time.Time) string {
	switch {
	case as.LastPollAt.IsZero():
		return "unknown"
	case now.Sub(as.LastPollAt) > StaleAfter:
		return "stale"
	case as.LastPollUp:
		return "up"
	default:
		return "down"
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
