package portal

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/maintenance"
)

// --- Maintenance windows (when downtime is planned and nothing is
// notified) and asset dependencies (the switch an asset sits behind) ---

// commonZones are the time zones the window form offers; any other IANA
// name may be typed.
var commonZones = []string{"UTC", "Europe/Berlin", "Europe/Vienna", "Europe/Zurich", "Europe/London", "Europe/Paris",
	"Europe/Amsterdam", "Europe/Madrid", "Europe/Rome", "Europe/Warsaw", "Europe/Stockholm", "Europe/Helsinki", "Europe/Istanbul",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
	"Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney"}

// localLayout is the value of an <input type="datetime-local">.
const localLayout = "2006-01-02T15:04"

// windowRow is a maintenance window as the page lists it: its scope by
// name and its times in its own time zone, in the reader's language.
type windowRow struct {
	maintenance.Doc
	ScopeKind string // asset, group or ou
	ScopeName string
	Once      bool
	From, To  string // a one-off window's start and end
	Duration  string // a recurring window's length
	Next      string // a recurring window's next start
	Active    bool   // holds now
}

func (p *Portal) maintenancePage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showMaintenance(w, r, s, "", nil, nil)
}

// showMaintenance lists the windows the user sees; for admins of the
// organization, with the form to add one (or to edit the one ?edit=
// names) and the confirmation of a deletion ?delete= asks for. input is
// the form as it was sent (nil: a new or the edited window).
func (p *Portal) showMaintenance(w http.ResponseWriter, r *http.Request, s *session, errMsg string, fields, input map[string]string) {
	var res struct {
		Windows []maintenance.Doc `json:"maintenance_windows"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/maintenance-windows", &res}) {
		return
	}
	lang, _ := p.i18n.localizerFor(r)
	names := p.scopeNames(r, s)
	now := time.Now()
	rows := make([]windowRow, 0, len(res.Windows))
	for _, d := range res.Windows {
		rows = append(rows, toWindowRow(d, names, lang, now))
	}
	qv := r.URL.Query()
	editing := ""
	if input == nil {
		input = map[string]string{"kind": "once", "scope": "asset_id", "timezone": "Europe/Berlin", "duration_minutes": "120"}
		if i := slices.IndexFunc(res.Windows, func(d maintenance.Doc) bool { return d.ID == qv.Get("edit") }); i >= 0 {
			editing, input = res.Windows[i].ID, windowInput(res.Windows[i])
		}
	} else {
		editing = input["id"]
	}
	var confirm *windowRow
	if i := slices.IndexFunc(rows, func(x windowRow) bool { return x.ID == qv.Get("delete") }); i >= 0 {
		confirm = &rows[i]
	}
	// The API refuses changes by viewers and by partners (read-only
	// access); the page does not offer them the forms.
	canEdit := s.me.IsAdmin() && !s.me.IsPartner()
	p.render(w, r, s, "maintenance", errMsg, map[string]any{"Windows": rows, "CanEdit": canEdit, "Editing": editing,
		"Confirm": confirm, "Input": input, "Fields": fields, "Zones": commonZones, "Assets": names.ownAssets,
		"Groups": names.groups, "OUs": names.ous})
}

// scopes are the names of what a window may concern, and what the user
// may pick as a scope.
type scopes struct {
	assets, groupNames, ouNames map[string]string
	ownAssets                   []asset
	groups                      []deviceGroup
	ous                         []ou
}

// scopeNames reads the assets, device groups and OUs the user sees. A
// read the API refuses (device groups for a partner) leaves its names
// out: the window then shows its kind of scope without a name.
func (p *Portal) scopeNames(r *http.Request, s *session) scopes {
	sc := scopes{assets: map[string]string{}, groupNames: map[string]string{}, ouNames: map[string]string{}}
	var as struct {
		Assets []asset `json:"assets"`
	}
	if err := p.call(r, s.token, "GET", "/api/v1/assets", nil, &as); err != nil {
		p.log.Warn("maintenance page: assets", "err", err)
	}
	for _, a := range as.Assets {
		sc.assets[a.ID] = a.Name
		if a.Access == "owner" {
			sc.ownAssets = append(sc.ownAssets, a)
		}
	}
	slices.SortFunc(sc.ownAssets, func(a, b asset) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	var gs struct {
		Groups []deviceGroup `json:"device_groups"`
	}
	if err := p.call(r, s.token, "GET", "/api/v1/device-groups", nil, &gs); err != nil {
		p.log.Warn("maintenance page: device groups", "err", err)
	}
	sc.groups = gs.Groups
	for _, g := range gs.Groups {
		sc.groupNames[g.ID] = g.Name
	}
	ous, ouNames, err := p.ous(r, s)
	if err != nil {
		p.log.Warn("maintenance page: OUs", "err", err)
	}
	sc.ous = ous
	for id, n := range ouNames {
		sc.ouNames[id] = n
	}
	return sc
}

// toWindowRow describes d for the list.
func toWindowRow(d maintenance.Doc, names scopes, lang string, now time.Time) windowRow {
	row := windowRow{Doc: d, Once: d.Recurrence == ""}
	switch {
	case d.AssetID != "":
		row.ScopeKind, row.ScopeName = "asset", names.assets[d.AssetID]
	case d.GroupID != "":
		row.ScopeKind, row.ScopeName = "group", names.groupNames[d.GroupID]
	default:
		row.ScopeKind, row.ScopeName = "ou", names.ouNames[d.OUID]
	}
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	w := d.Window(d.ID)
	_, _, row.Active = maintenance.Occurrence(w, now)
	if row.Once {
		if d.StartsAt != nil && d.EndsAt != nil {
			row.From, row.To = localTime(*d.StartsAt, loc, lang), localTime(*d.EndsAt, loc, lang)
		}
		return row
	}
	row.Duration = catalog.Format(float64(d.DurationMinutes*60), catalog.Seconds, lang)
	if next := maintenance.Occurrences(w, now, now.AddDate(0, 0, 400)); len(next) > 0 {
		start := next[0][0]
		if row.Active && len(next) > 1 {
			start = next[1][0]
		}
		row.Next = localTime(start, loc, lang)
	}
	return row
}

// localTime writes t in loc as the portal writes times (view.Time), with
// the zone's abbreviation instead of UTC.
func localTime(t time.Time, loc *time.Location, lang string) string {
	t = t.In(loc)
	if lang == "de" {
		return t.Format("02.01.2006 15:04 MST")
	}
	return t.Format("2006-01-02 15:04 MST")
}

// windowInput is the form of an existing window: its times in its own
// time zone.
func windowInput(d maintenance.Doc) map[string]string {
	in := map[string]string{"id": d.ID, "name": d.Name, "asset_id": d.AssetID, "group_id": d.GroupID, "ou_id": d.OUID,
		"timezone": d.TimeZone, "recurrence": d.Recurrence, "kind": "recurring", "duration_minutes": "120"}
	switch {
	case d.AssetID != "":
		in["scope"] = "asset_id"
	case d.GroupID != "":
		in["scope"] = "group_id"
	default:
		in["scope"] = "ou_id"
	}
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	if d.Recurrence == "" {
		in["kind"] = "once"
		if d.StartsAt != nil && d.EndsAt != nil {
			in["starts_at"], in["ends_at"] = d.StartsAt.In(loc).Format(localLayout), d.EndsAt.In(loc).Format(localLayout)
		}
	} else {
		in["duration_minutes"] = strconv.FormatInt(d.DurationMinutes, 10)
	}
	return in
}

// windowForm reads the window form into the API's document: the scope
// chosen, and either the one-off times (entered in the window's time
// zone) or the recurrence and duration. fields holds what cannot be
// read at all.
func windowForm(r *http.Request) (maintenance.Doc, map[string]string, map[string]string) {
	in := map[string]string{"id": r.PathValue("id")}
	for _, k := range []string{"name", "scope", "asset_id", "group_id", "ou_id", "kind", "starts_at", "ends_at", "recurrence",
		"duration_minutes", "timezone"} {
		in[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	d := maintenance.Doc{Name: in["name"], TimeZone: in["timezone"]}
	switch in["scope"] {
	case "group_id":
		d.GroupID = in["group_id"]
	case "ou_id":
		d.OUID = in["ou_id"]
	default:
		d.AssetID = in["asset_id"]
	}
	fields := map[string]string{}
	if in["kind"] == "recurring" {
		d.Recurrence = in["recurrence"]
		if n, err := strconv.ParseInt(in["duration_minutes"], 10, 64); err == nil {
			d.DurationMinutes = n
		} else if in["duration_minutes"] != "" {
			fields["duration"] = err.Error()
		}
		return d, in, fields
	}
	loc, err := time.LoadLocation(in["timezone"])
	if err != nil {
		loc = time.UTC // the API says what is wrong with the zone
	}
	for _, k := range []string{"starts_at", "ends_at"} {
		if in[k] == "" {
			continue
		}
		t, err := time.ParseInLocation(localLayout, in[k], loc)
		if err != nil {
			fields[k] = err.Error()
			continue
		}
		t = t.UTC()
		if k == "starts_at" {
			d.StartsAt = &t
		} else {
			d.EndsAt = &t
		}
	}
	return d, in, fields
}

// windowErrors places the API's validation messages at their fields: the
// API gives them all at once ("invalid maintenance window: name: …;
// timezone: …"). A scope message goes to the scope picker, and a
// one-off window missing its times hears it at its start.
func (p *Portal) windowErrors(r *http.Request, err error, in map[string]string) (string, map[string]string) {
	var ae *apiError
	if !errors.As(err, &ae) {
		return p.formErrors(r, err)
	}
	msg := ae.Msg
	if i := strings.Index(msg, "invalid maintenance window: "); i >= 0 {
		msg = msg[i+len("invalid maintenance window: "):]
	}
	fields := map[string]string{}
	for _, part := range strings.Split(msg, "; ") {
		one := *ae
		one.Msg = part
		_, f := p.formErrors(r, &one)
		for k, v := range f {
			switch {
			case k == "asset_id" || k == "group_id" || k == "ou_id":
				k = "scope"
			case k == "recurrence" && in["kind"] != "recurring":
				k = "starts_at"
			}
			fields[k] = v
		}
	}
	if len(fields) == 0 {
		return p.formErrors(r, err)
	}
	return p.tr(r, "error.input"), fields
}

// saveWindow creates a window (POST /maintenance) or replaces one (POST
// /maintenance/{id}).
func (p *Portal) saveWindow(w http.ResponseWriter, r *http.Request, s *session) {
	d, in, fields := windowForm(r)
	if len(fields) > 0 {
		p.showMaintenance(w, r, s, p.tr(r, "error.input"), fields, in)
		return
	}
	method, path := "POST", "/api/v1/maintenance-windows"
	if id := r.PathValue("id"); id != "" {
		method, path = "PUT", path+"/"+pathEscape(id)
	}
	if err := p.call(r, s.token, method, path, d, nil); err != nil {
		top, fields := p.windowErrors(r, err, in)
		p.showMaintenance(withError(w, err), r, s, top, fields, in)
		return
	}
	done(w, r, "/maintenance", "window_saved")
}

// deleteWindow deletes a window once its deletion was confirmed.
func (p *Portal) deleteWindow(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/maintenance-windows/"+pathEscape(r.PathValue("id")), nil, nil); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/maintenance", "window_deleted")
}

// --- The asset page's "Depends on" part ---

// dependsOn is what the asset page shows of an asset's parent: its
// name, and the assets the user may choose instead.
type dependsOn struct {
	ParentID   string
	ParentName string
	Choices    []asset
	CanEdit    bool
	Err        string // the API's message about the parent just chosen
}

// parentErrKey carries the API's refusal of a parent from setParent to
// the asset page it shows again.
type parentErrKey struct{}

// dependsOnOf reads the parent of an asset and, for the admins of its
// own organization, the assets it may depend on. A failure leaves the
// part out of the page and is logged.
func (p *Portal) dependsOnOf(r *http.Request, s *session, a asset) *dependsOn {
	var res struct {
		ParentID string `json:"parent_id"`
	}
	if err := p.call(r, s.token, "GET", "/api/v1/assets/"+pathEscape(a.ID)+"/parent", nil, &res); err != nil {
		p.log.Warn("asset page: parent", "asset", a.ID, "err", err)
		return nil
	}
	d := &dependsOn{ParentID: res.ParentID, CanEdit: s.me.IsAdmin() && a.Access == "owner"}
	d.Err, _ = r.Context().Value(parentErrKey{}).(string)
	if !d.CanEdit {
		// Only the parent's name: a partner may see thousands of assets.
		var pa struct {
			Asset asset `json:"asset"`
		}
		if d.ParentID != "" && p.call(r, s.token, "GET", "/api/v1/assets/"+pathEscape(d.ParentID), nil, &pa) == nil {
			d.ParentName = pa.Asset.Name
		}
		return d
	}
	var as struct {
		Assets []asset `json:"assets"`
	}
	if err := p.call(r, s.token, "GET", "/api/v1/assets", nil, &as); err != nil {
		p.log.Warn("asset page: assets", "err", err)
	}
	for _, x := range as.Assets {
		if x.ID == res.ParentID {
			d.ParentName = x.Name
		}
		if x.ID != a.ID && x.Access == "owner" {
			d.Choices = append(d.Choices, x)
		}
	}
	slices.SortFunc(d.Choices, func(a, b asset) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return d
}

// setParent sets (or, with an empty choice, clears) the asset an asset
// depends on.
func (p *Portal) setParent(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	parent := strings.TrimSpace(r.PostFormValue("parent_id"))
	method, body, what := "PUT", any(map[string]string{"parent_id": parent}), "parent_set"
	if parent == "" || r.PostFormValue("clear") != "" {
		method, body, what = "DELETE", nil, "parent_cleared"
	}
	if err := p.call(r, s.token, method, "/api/v1/assets/"+pathEscape(id)+"/parent", body, nil); err != nil {
		// A parent the API refuses (a cycle, another organization's
		// asset) is said at the picker, on the asset page.
		if _, fields := p.formErrors(r, err); fields["parent_id"] != "" {
			p.assetPage(withError(w, err), r.WithContext(context.WithValue(r.Context(), parentErrKey{}, fields["parent_id"])), s)
			return
		}
		p.failIn(w, r, s, err)
		return
	}
	done(w, r, "/assets/"+pathEscape(id), what)
}

// findingNotes names, for findings lists, the maintenance windows the
// findings opened in and the assets whose findings suppressed them (by
// the suppressing finding's id, when the list holds it).
func (p *Portal) findingNotes(r *http.Request, s *session, fs []findingView) map[string]string {
	names := map[string]string{}
	need := false
	for _, f := range fs {
		if f.Asset != nil {
			names[f.ID] = f.Asset.Name
		}
		need = need || f.MaintenanceID != ""
	}
	if !need {
		return names
	}
	var res struct {
		Windows []maintenance.Doc `json:"maintenance_windows"`
	}
	if err := p.call(r, s.token, "GET", "/api/v1/maintenance-windows", nil, &res); err != nil {
		p.log.Warn("findings: maintenance windows", "err", err)
	}
	for _, d := range res.Windows {
		names[d.ID] = cmp.Or(d.Name, p.tr(r, "maint.unnamed"))
	}
	return names
}
