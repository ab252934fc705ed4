package portal

import (
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

// pickFields chooses the charts and timelines a page shows by default:
// the key figures of the asset's category, then other percentages, at
// most maxCharts. Health codes, flags and raw counters outside the key
// figures stay in the table of all KPIs. An asset that reports none of
// its category's key figures (a device only its organization's own
// definitions describe) shows its first charts instead, percentages
// first.
func pickFields(fields []kpiField) []kpiField {
	keyed := slices.ContainsFunc(fields, func(f kpiField) bool { return f.Rank > 0 && (f.Chart || f.Timeline) })
	var out []kpiField
	for _, f := range fields {
		if len(out) == maxCharts {
			break
		}
		switch {
		case !keyed && f.Chart,
			keyed && (f.Chart || f.Timeline) && (f.Rank > 0 || (f.Chart && f.percent)):
			out = append(out, f)
		}
	}
	return out
}

// maxCharts and maxLines bound what one asset page asks of InfluxDB.
const (
	maxCharts = 8
	maxLines  = 12
)

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
	say := func(id string, data map[string]any) string {
		t, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
		if err != nil && t == "" {
			return id
		}
		return t
	}
	perSecond := func(name string) string { return say("asset.rate", map[string]any{"Name": name}) }
	fields := chartable(latest.Series, lang, res.Asset.Category, perSecond)
	picked := pickFields(fields)
	pickedKey := ""
	if want := qv.Get("kpi"); want != "" {
		if i := slices.IndexFunc(fields, func(f kpiField) bool { return f.Key == want && (f.Chart || f.Timeline) }); i >= 0 {
			picked, pickedKey = []kpiField{fields[i]}, want
		}
	}
	book := p.rulesFor(r, s, res.Asset)
	now := time.Now().UTC()
	start := now.Add(-rng.Span)
	var charts []chart
	var timelines []timeline
	for _, f := range picked {
		var sr struct {
			Series []series `json:"series"`
		}
		fn := ""
		if f.Rate || f.Timeline {
			// a counter's value at each window's end: its rate is their
			// difference; a state's last value is the state it was left in
			fn = "last"
		}
		path := base + "/series" + q("measurement", f.Measurement, "field", f.Field,
			"start", start.Format(time.RFC3339), "stop", now.Format(time.RFC3339), "every", rng.Every.String(), "fn", fn)
		if err := p.call(r, s.token, "GET", path, nil, &sr); err != nil {
			p.failIn(w, r, s, err)
			return
		}
		if f.Timeline {
			timelines = append(timelines, toTimeline(f, sr.Series, start, now, lang, say("asset.no_data", nil)))
			continue
		}
		f.Thresholds = book.thresholds(res.Asset, f)
		c := toChart(fmt.Sprintf("chart-%d", len(charts)), f, sr.Series, now.Add(-rng.Every))
		c.From, c.To = start.Unix(), now.Unix()
		for i := range c.Lines {
			c.Lines[i].Label = say("severity."+c.Lines[i].Severity, nil)
		}
		charts = append(charts, c)
	}
	avail, usage := p.availabilityOf(r, s, base, start, now)
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
	attrs, tables := inventoryView(res.Inventory, lang)
	history := make([]historyEntry, 0, len(hist.History))
	for _, h := range hist.History {
		history = append(history, historyEntry{CollectedAt: h.CollectedAt, First: h.First, Changes: readableChanges(h.Changes, lang)})
	}
	data := map[string]any{"Asset": res.Asset, "Ranges": ranges, "Range": rng.Key, "Charts": charts, "Timelines": timelines,
		"Fields": fields, "Picked": pickedKey, "Attrs": attrs, "Tables": tables, "CollectedAt": res.CollectedAt,
		"Availability": avail, "Usage": usage,
		"History": history, "KeyAllowed": s.me.IsAdmin() && res.Asset.Access == "owner"}
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
	data["DependsOn"] = p.dependsOnOf(r, s, res.Asset)
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

// availabilitySummary is an asset's availability over the chosen range
// (availability.Report as the API answers it).
type availabilitySummary struct {
	MonitoredSeconds float64  `json:"monitored_seconds"`
	DownSeconds      float64  `json:"down_seconds"`
	PlannedSeconds   float64  `json:"planned_down_seconds"` // downtime inside maintenance windows
	Availability     *float64 `json:"availability"`
	Reboots          int      `json:"reboots"`
	Outages          []struct {
		Start   time.Time `json:"start"`
		Seconds float64   `json:"seconds"`
		Cause   string    `json:"cause"`
		Planned bool      `json:"planned"`
	} `json:"outages"`
}

// usageSummary is an asset's usage time over the chosen range
// (availability.UsageReport).
type usageSummary struct {
	InUseSeconds    float64 `json:"in_use_seconds"`
	NotInUseSeconds float64 `json:"not_in_use_seconds"`
	UnknownSeconds  float64 `json:"unknown_seconds"`
}

// availabilityOf reads an asset's availability and usage time over
// [start, stop). Either is nil when the API could not answer it: the
// rest of the page is still worth showing, and the failure is logged.
func (p *Portal) availabilityOf(r *http.Request, s *session, base string, start, stop time.Time) (*availabilitySummary, *usageSummary) {
	period := q("start", start.Format(time.RFC3339), "stop", stop.Format(time.RFC3339))
	var av struct {
		Summary availabilitySummary `json:"summary"`
	}
	var us struct {
		Summary usageSummary `json:"summary"`
	}
	avp, usp := &av.Summary, &us.Summary
	if err := p.call(r, s.token, "GET", base+"/availability"+period, nil, &av); err != nil {
		p.log.Warn("asset page: availability", "path", r.URL.Path, "err", err)
		avp = nil
	}
	if err := p.call(r, s.token, "GET", base+"/usage"+period+"&period=day", nil, &us); err != nil {
		p.log.Warn("asset page: usage time", "path", r.URL.Path, "err", err)
		usp = nil
	}
	return avp, usp
}
