package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// --- Check-up rules: the organization's rule document (YAML) ---

type checkupRule struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	Disabled    bool      `json:"disabled"`
	Warning     *float64  `json:"warning"`
	Critical    *float64  `json:"critical"`
	Severity    string    `json:"severity"`
	KPI         string    `json:"kpi"`
	Thresholds  [2]string `json:"-"` // warning and critical as the page writes them
}

type checkupRules struct {
	Source    string        `json:"source"` // organization or default
	UpdatedAt *time.Time    `json:"updated_at"`
	UpdatedBy string        `json:"updated_by"`
	Rules     []checkupRule `json:"rules"`
}

func (p *Portal) rulesPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showRules(w, r, s, "", "", nil)
}

// showRules shows the rules in force and, for editing, their YAML
// document: doc is what the admin sent when the API refused it (nil:
// the document in force), docErr the API's message about it.
func (p *Portal) showRules(w http.ResponseWriter, r *http.Request, s *session, errMsg, docErr string, doc []byte) {
	var rs checkupRules
	if !p.load(w, r, s, fetch{"/api/v1/checkup-rules", &rs}) {
		return
	}
	if doc == nil {
		rec, err := p.do(r, s.token, "GET", "/api/v1/checkup-rules?format=yaml", "", nil)
		if err != nil {
			p.failIn(w, r, s, err)
			return
		}
		doc = rec.body.Bytes()
	}
	lang, _ := p.i18n.localizerFor(r)
	for i, x := range rs.Rules {
		rs.Rules[i].Thresholds = [2]string{decimal(lang, x.Warning), decimal(lang, x.Critical)}
	}
	p.render(w, r, s, "checkup_rules", errMsg, map[string]any{"Rules": rs, "Doc": string(doc), "DocErr": docErr})
}

// decimal writes a threshold in the page's language (German: a decimal
// comma), never in exponent notation; "–" when there is none.
func decimal(lang string, x *float64) string {
	if x == nil {
		return "–"
	}
	s := strconv.FormatFloat(*x, 'f', -1, 64)
	if lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// putRules replaces the organization's rules with the document from the
// form; the API checks it and names the line and rule of each problem,
// which the page shows at the document.
func (p *Portal) putRules(w http.ResponseWriter, r *http.Request, s *session) {
	doc := []byte(r.PostFormValue("rules"))
	if _, err := p.do(r, s.token, "PUT", "/api/v1/checkup-rules", "application/yaml", doc); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == http.StatusBadRequest {
			p.showRules(withError(w, err), r, s, p.tr(r, "error.input"), ae.Msg, doc)
			return
		}
		p.showRules(withError(w, err), r, s, p.message(r, err), "", doc)
		return
	}
	done(w, r, "/checkup-rules", "rules_saved")
}

// resetRules goes back to the server's default rules.
func (p *Portal) resetRules(w http.ResponseWriter, r *http.Request, s *session) {
	if _, err := p.do(r, s.token, "DELETE", "/api/v1/checkup-rules", "", nil); err != nil {
		p.showRules(withError(w, err), r, s, p.message(r, err), "", nil)
		return
	}
	done(w, r, "/checkup-rules", "rules_reset")
}
