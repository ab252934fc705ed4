package portal

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// ranges a chart can show, with the aggregation window for each: about
// 240 points per line, never finer than the agent's usual poll interval.
var ranges = []struct {
	Key   string
	Span  time.Duration
	Every time.Duration
}{
	{"1h", time.Hour, time.Minute},
	{"24h", 24 * time.Hour, 6 * time.Minute},
	{"7d", 7 * 24 * time.Hour, 42 * time.Minute},
	{"30d", 30 * 24 * time.Hour, 3 * time.Hour},
}

// maxCharts and maxLines bound what one asset page asks of InfluxDB.
const (
	maxCharts = 8
	maxLines  = 12
)

// invTable is one kind of inventory component as a table.
type invTable struct {
	Kind    string
	Columns []string
	Rows    [][]string
}

// inventoryView turns an inventory document into attribute pairs and a
// table per component kind.
func inventoryView(doc json.RawMessage) (attrs [][2]string, tables []invTable) {
	var inv struct {
		Attributes map[string]any              `json:"attributes"`
		Components map[string][]map[string]any `json:"components"`
	}
	if len(doc) == 0 || json.Unmarshal(doc, &inv) != nil {
		return nil, nil
	}
	for k, v := range inv.Attributes {
		attrs = append(attrs, [2]string{k, scalar(v)})
	}
	slices.SortFunc(attrs, func(a, b [2]string) int { return cmp.Compare(a[0], b[0]) })
	for kind, items := range inv.Components {
		t := invTable{Kind: kind}
		cols := map[string]bool{}
		for _, it := range items {
			for k := range it {
				cols[k] = true
			}
		}
		for k := range cols {
			t.Columns = append(t.Columns, k)
		}
		slices.SortFunc(t.Columns, func(a, b string) int {
			// names and ids first: they say which row is which
			ra, rb := colRank(a), colRank(b)
			if ra != rb {
				return cmp.Compare(ra, rb)
			}
			return cmp.Compare(a, b)
		})
		t.Columns = t.Columns[:min(len(t.Columns), 8)]
		for _, it := range items[:min(len(items), 200)] {
			row := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				row[i] = scalar(it[c])
			}
			t.Rows = append(t.Rows, row)
		}
		tables = append(tables, t)
	}
	slices.SortFunc(tables, func(a, b invTable) int { return cmp.Compare(a.Kind, b.Kind) })
	return attrs, tables
}

func colRank(c string) int {
	switch c {
	case "name":
		return 0
	case "id", "index", "slot":
		return 1
	case "model", "serial":
		return 2
	}
	return 3
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.10g", x)
	case bool:
		return fmt.Sprint(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

type change struct {
	Path   string `json:"path"`
	Op     string `json:"op"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// assetPage: an asset's status, KPI charts over a chosen range, its
// inventory and the history of inventory changes; for its owner's admins,
// the key icon that shows and mails the system key.
func (p *Portal) assetPage(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	base := "/api/v1/assets/" + id
	var res struct {
		Asset       asset           `json:"asset"`
		Inventory   json.RawMessage `json:"inventory"`
		CollectedAt *time.Time      `json:"inventory_collected_at"`
	}
	if err := p.call(r, s.token, "GET", base, nil, &res); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	res.Asset = shown([]asset{res.Asset})[0]
	qv := r.URL.Query()
	rng := ranges[1]
	for _, x := range ranges {
		if x.Key == qv.Get("range") {
			rng = x
		}
	}
	var latest struct {
		Series []series `json:"series"`
	}
	if err := p.call(r, s.token, "GET", base+"/latest"+q("lookback", "720h"), nil, &latest); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	lang, loc := p.i18n.localizerFor(r)
	perSecond := func(name string) string {
		t, err := loc.Localize(&i18n.LocalizeConfig{MessageID: "asset.rate", TemplateData: map[string]any{"Name": name}})
		if err != nil && t == "" {
			return name + " /s"
		}
		return t
	}
	fields := chartable(latest.Series, lang, perSecond)
	var picked []kpiField
	for _, f := range fields {
		if f.Chart && len(picked) < maxCharts {
			picked = append(picked, f)
		}
	}
	pickedKey := ""
	if want := qv.Get("kpi"); want != "" {
		if i := slices.IndexFunc(fields, func(f kpiField) bool { return f.Key == want && f.Chart }); i >= 0 {
			picked, pickedKey = []kpiField{fields[i]}, want
		}
	}
	now := time.Now().UTC()
	start := now.Add(-rng.Span)
	var charts []chart
	for i, f := range picked {
		var sr struct {
			Series []series `json:"series"`
		}
		fn := ""
		if f.Rate {
			fn = "last" // a counter's value at each window's end: its rate is their difference
		}
		path := base + "/series" + q("measurement", f.Measurement, "field", f.Field,
			"start", start.Format(time.RFC3339), "stop", now.Format(time.RFC3339), "every", rng.Every.String(), "fn", fn)
		if err := p.call(r, s.token, "GET", path, nil, &sr); err != nil {
			p.failIn(w, r, s, err)
			return
		}
		charts = append(charts, toChart(fmt.Sprintf("chart-%d", i), f, sr.Series, now.Add(-rng.Every)))
	}
	var hist struct {
		History []struct {
			CollectedAt time.Time `json:"collected_at"`
			First       bool      `json:"first"`
			Changes     []change  `json:"changes"`
		} `json:"history"`
	}
	if err := p.call(r, s.token, "GET", base+"/inventory/history"+q("limit", "20"), nil, &hist); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	attrs, tables := inventoryView(res.Inventory)
	data := map[string]any{"Asset": res.Asset, "Ranges": ranges, "Range": rng.Key, "Charts": charts,
		"Fields": fields, "Picked": pickedKey, "Attrs": attrs, "Tables": tables, "CollectedAt": res.CollectedAt,
		"History": hist.History, "KeyAllowed": s.me.IsAdmin() && res.Asset.Access == "owner"}
	if res.Asset.Access == "owner" {
		var ps struct {
			Partners []struct {
				PartnerID string `json:"partner_id"`
				Name      string `json:"name"`
				Via       string `json:"via"`
				Role      string `json:"role"`
				GrantID   string `json:"grant_id"`
				Effective bool   `json:"effective"`
			} `json:"partners"`
		}
		if err := p.call(r, s.token, "GET", base+"/partners", nil, &ps); err != nil {
			p.failIn(w, r, s, err)
			return
		}
		data["Partners"] = ps.Partners
	}
	if data["KeyAllowed"].(bool) && qv.Get("key") == "show" {
		var key struct {
			Key string `json:"system_key"`
		}
		if err := p.call(r, s.token, "GET", base+"/system-key", nil, &key); err != nil {
			p.failIn(w, r, s, err)
			return
		}
		data["SystemKey"] = key.Key
	}
	p.render(w, r, s, "asset", "", data)
}

func (p *Portal) sendSystemKey(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	err := p.call(r, s.token, "POST", "/api/v1/assets/"+id+"/system-key/send", map[string]string{"email": r.PostFormValue("email")}, nil)
	if err != nil {
		p.failIn(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/assets/"+id+"?done=key_sent", http.StatusSeeOther)
}

// revokeGrant ends a partner's access to an asset that was given by a
// system key or by the partner creating it.
func (p *Portal) revokeGrant(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if err := p.call(r, s.token, "DELETE", "/api/v1/grants/"+pathEscape(r.PathValue("grant")), nil, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/assets/"+pathEscape(id), "revoked")
}
