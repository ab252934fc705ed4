package portal

import (
	"net/http"
	"net/url"
	"slices"
	"time"
)

type findingView struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Text     string `json:"text"`
	State    string `json:"state"`
	Asset    *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"asset"`
	Agent *struct {
		Name string `json:"name"`
	} `json:"agent"`
	Customer *struct {
		Name string `json:"name"`
	} `json:"customer"`
	OpenedAt     time.Time  `json:"opened_at"`
	ResolvedAt   *time.Time `json:"resolved_at"`
	Acknowledged *struct {
		At   time.Time `json:"at"`
		By   string    `json:"by"`
		Note string    `json:"note"`
	} `json:"acknowledged"`
	SuppressedBy  string `json:"suppressed_by"`         // the parent's finding that muted this one
	MaintenanceID string `json:"maintenance_window_id"` // the window it opened in
}

// findingsPage lists check-up findings: open ones by default, or all.
func (p *Portal) findingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	state := r.URL.Query().Get("state")
	if state != "all" {
		state = "open"
	}
	var res struct {
		Findings []findingView `json:"findings"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/findings" + q("state", state, "limit", "1000"), &res}) {
		return
	}
	p.render(w, r, s, "findings", "", map[string]any{"Findings": res.Findings, "State": state, "Notes": p.findingNotes(r, s, res.Findings),
		// Acknowledging is for the asset's own admins; partners only read.
		"CanAck": s.me.IsAdmin() && !s.me.IsPartner()})
}

func (p *Portal) ackFinding(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "POST", "/api/v1/findings/"+pathEscape(r.PathValue("id"))+"/acknowledge",
		map[string]string{"note": r.PostFormValue("note")}, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/findings", "acknowledged")
}

var reportNames = []string{"inventory", "availability", "capacity", "backup"}

// reportDownload hands a report from the API to the browser: the API
// takes a bearer token, the browser has the session cookie.
func (p *Portal) reportDownload(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("template")
	if !slices.Contains(reportNames, name) {
		p.fail(w, r, &apiError{Code: http.StatusNotFound, Msg: "not found"})
		return
	}
	in := r.URL.Query()
	out := url.Values{}
	for _, k := range []string{"format", "start", "stop", "asset_id", "ou_id", "customer_id", "category"} {
		if v := in.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), "GET", "/api/v1/reports/"+name+"?"+out.Encode(), http.NoBody)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("Authorization", "Bearer "+s.token)
	p.api.ServeHTTP(w, req)
}
