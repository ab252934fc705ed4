package portal

import (
	"cmp"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// severities counts open findings by severity, as the API gives them
// (overview.Severities).
type severities struct {
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
}

// Worst is the most urgent severity counted, "" when none.
func (s severities) Worst() string {
	switch {
	case s.Critical > 0:
		return "critical"
	case s.Warning > 0:
		return "warning"
	case s.Info > 0:
		return "info"
	}
	return ""
}

// customerRow is one line of the partner overview (overview.Customer).
type customerRow struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Assets       int        `json:"assets"`
	Down         int        `json:"down"`
	Unmonitored  int        `json:"unmonitored"`
	Findings     severities `json:"findings"`
	SeesFindings bool       `json:"sees_findings"`
}

// overviewData is the partner overview page's data.
type overviewData struct {
	Customers []customerRow `json:"customers"`
	Total     int           `json:"total"`
	Page      int           `json:"page"`
	PerPage   int           `json:"per_page"`
	Sum       customerRow   `json:"sum"`
	Search    string        `json:"-"`
	lang      string
}

// N writes a count with the language's thousands separator.
func (d overviewData) N(n int) string { return groupDigits(n, d.lang) }

// Pages is the number of pages of the search's customers.
func (d overviewData) Pages() int { return max(1, (d.Total+d.PerPage-1)/d.PerPage) }

// PrevURL and NextURL are the addresses of the pages before and after
// this one, of the same search.
func (d overviewData) PrevURL() string { return "/" + q("q", d.Search, "page", strconv.Itoa(d.Page-1)) }

// NextURL: see PrevURL.
func (d overviewData) NextURL() string { return "/" + q("q", d.Search, "page", strconv.Itoa(d.Page+1)) }

// groupDigits writes n with thousands separated: 10,000 in English,
// 10.000 in German.
func groupDigits(n int, lang string) string {
	s := strconv.Itoa(max(n, -n))
	sep := ","
	if strings.HasPrefix(lang, "de") {
		sep = "."
	}
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// partnerOverview: every customer the partner sees, with assets down,
// unmonitored and open findings by severity, the most urgent first,
// searched by name and paged (GET /api/v1/overview).
func (p *Portal) partnerOverview(w http.ResponseWriter, r *http.Request, s *session) {
	in := r.URL.Query()
	d := overviewData{Search: strings.TrimSpace(in.Get("q"))}
	d.lang, _ = p.i18n.localizerFor(r)
	path := "/api/v1/overview?" + url.Values{"q": {d.Search}, "page": {cmp.Or(in.Get("page"), "1")}, "per_page": {"50"}}.Encode()
	if err := p.call(r, s.token, "GET", path, nil, &d); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	p.render(w, r, s, "dashboard", "", map[string]any{"Overview": d})
}
