package portal

import (
	"net/http"
	"strings"
	"time"
)

// --- Reports: schedules (a report mailed every day, week or month) ---

type reportSchedule struct {
	ID         string            `json:"id"`
	Template   string            `json:"template"`
	Format     string            `json:"format"`
	Every      string            `json:"every"`
	Scope      map[string]string `json:"scope"`
	Recipients []string          `json:"recipients"`
	CreatedBy  string            `json:"created_by"`
	NextRunAt  time.Time         `json:"next_run_at"`
	LastRunAt  *time.Time        `json:"last_run_at"`
	LastError  string            `json:"last_error"`
}

// scheduleScopes are the scopes a schedule may have, as the API names
// them, in the order the form offers them.
var scheduleScopes = []string{"all", "category", "ou_id", "asset_id", "customer_id"}

func (p *Portal) reportsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showReports(w, r, s, "", nil, map[string]string{"every": "weekly", "format": "pdf", "scope": "all"})
}

func (p *Portal) showReports(w http.ResponseWriter, r *http.Request, s *session, errMsg string, fields, input map[string]string) {
	var scheds struct {
		Schedules []reportSchedule `json:"schedules"`
	}
	var assets struct {
		Assets []asset `json:"assets"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/report-schedules", &scheds}, fetch{"/api/v1/assets", &assets}) {
		return
	}
	ous, ouNames, err := p.ous(r, s)
	if err != nil {
		p.failIn(w, r, s, err)
		return
	}
	names := map[string]string{}
	customers := map[string]string{}
	for _, a := range assets.Assets {
		names[a.ID] = a.Name
		if a.Customer != nil {
			customers[a.Customer.ID] = a.Customer.Name
		}
	}
	for id, n := range ouNames {
		names[id] = n
	}
	for id, n := range customers {
		names[id] = n
	}
	p.render(w, r, s, "reports", errMsg, map[string]any{"Templates": reportNames, "Schedules": scheds.Schedules,
		"Assets": assets.Assets, "OUs": ous, "Customers": customers, "Names": names, "Scopes": scheduleScopes,
		"Everies": []string{"daily", "weekly", "monthly"}, "Formats": []string{"pdf", "csv"}, "Fields": fields, "Input": input,
		"CategoryList": categories})
}

// createSchedule sets up a mailed report. The scope is one of: all, a
// category, an OU, an asset or (for partners) a customer; the API checks
// that the creator sees it.
func (p *Portal) createSchedule(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{}
	for _, k := range []string{"template", "format", "every", "scope", "category", "ou_id", "asset_id", "customer_id", "recipients"} {
		in[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	scope := map[string]string{}
	if k := in["scope"]; k != "all" && k != "" {
		scope[k] = in[k]
	}
	body := map[string]any{"template": in["template"], "format": in["format"], "every": in["every"], "scope": scope,
		"recipients": strings.FieldsFunc(in["recipients"], func(c rune) bool { return c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r' })}
	if err := p.call(r, s.token, "POST", "/api/v1/report-schedules", body, nil); err != nil {
		top, fields := p.formErrors(r, err)
		p.showReports(withError(w, err), r, s, top, fields, in)
		return
	}
	done(w, r, "/reports", "schedule_added")
}

// deleteSchedule removes a schedule: its creator or an admin of the whole
// organization (the API decides).
func (p *Portal) deleteSchedule(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/report-schedules/"+pathEscape(r.PathValue("id")), nil, nil); err != nil {
		top, fields := p.formErrors(r, err)
		p.showReports(withError(w, err), r, s, top, fields, map[string]string{})
		return
	}
	done(w, r, "/reports", "schedule_deleted")
}
