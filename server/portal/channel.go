package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// --- Channel partners (seed 003: HPE's Channel Partners tab) ---

type channelPartner struct {
	PartnerID       string     `json:"partner_id"`
	Name            string     `json:"name"`
	Kind            string     `json:"kind"`
	DefaultReseller bool       `json:"default_reseller"`
	DefaultService  bool       `json:"default_service"`
	AddedAt         *time.Time `json:"added_at"`
}

type assignment struct {
	ID         string    `json:"id"`
	PartnerID  string    `json:"partner_id"`
	Role       string    `json:"role"`
	AssetID    string    `json:"asset_id"`
	GroupID    string    `json:"group_id"`
	AssignedAt time.Time `json:"assigned_at"`
}

// holder is the partner holding a device in one role and why (the API's
// sharing.Holder): via device, group or default.
type holder struct {
	PartnerID    string `json:"partner_id"`
	Via          string `json:"via"`
	AssignmentID string `json:"assignment_id"`
}

// channelDevice is one device of the channel page (the API's
// sharing.Device).
type channelDevice struct {
	AssetID  string   `json:"asset_id"`
	Name     string   `json:"name"`
	Category string   `json:"category"`
	GroupIDs []string `json:"group_ids"`
	Reseller *holder  `json:"reseller"`
	Service  *holder  `json:"service"`
}

// heldBy reports whether partner pid holds the device in either role.
func (d channelDevice) heldBy(pid string) bool {
	return (d.Reseller != nil && d.Reseller.PartnerID == pid) || (d.Service != nil && d.Service.PartnerID == pid)
}

// Holder is the partner holding the device in role (reseller, service).
func (d channelDevice) Holder(role string) *holder {
	if role == "service" {
		return d.Service
	}
	return d.Reseller
}

// devicesPerPage bounds the device table of the channel page.
const devicesPerPage = 50

// deviceFilter is the channel page's choice of devices: for one partner,
// those assigned to it, not assigned to it, or all; in one device group;
// whose name or category contains a search text.
type deviceFilter struct {
	Partner string
	View    string // assigned, unassigned (the default, as in seed 003) or all
	Group   string
	Query   string
	Page    int // from 1
}

func filterFrom(v url.Values) deviceFilter {
	f := deviceFilter{Partner: v.Get("partner"), View: v.Get("view"), Group: v.Get("group"), Query: strings.TrimSpace(v.Get("q"))}
	if f.View != "assigned" && f.View != "all" {
		f.View = "unassigned"
	}
	f.Page, _ = strconv.Atoi(v.Get("page"))
	f.Page = max(f.Page, 1)
	return f
}

// URL is the channel page with this filter, on page n.
func (f deviceFilter) URL(n int) string {
	return "/channel" + q("partner", f.Partner, "view", f.View, "group", f.Group, "q", f.Query, "page", strconv.Itoa(n))
}

// apply returns the devices of one page that match f, and how many match.
func (f deviceFilter) apply(ds []channelDevice) ([]channelDevice, int) {
	query := strings.ToLower(f.Query)
	var out []channelDevice
	for _, d := range ds {
		switch {
		case f.View == "assigned" && !d.heldBy(f.Partner), f.View == "unassigned" && d.heldBy(f.Partner):
			continue
		case f.Group != "" && !slices.Contains(d.GroupIDs, f.Group):
			continue
		case query != "" && !strings.Contains(strings.ToLower(d.Name), query) && !strings.Contains(strings.ToLower(d.Category), query):
			continue
		}
		out = append(out, d)
	}
	n := len(out)
	from := min((f.Page-1)*devicesPerPage, n)
	return out[from:min(from+devicesPerPage, n)], n
}

type channelData struct {
	Partners     []channelPartner
	Consent      bool
	Assignments  []assignment
	Devices      []channelDevice // the page of devices the filter shows
	Matching     int             // how many devices match the filter
	Total        int             // how many devices there are
	Groups       []deviceGroup
	Filter       deviceFilter
	Pages        []int
	Names        map[string]string // asset and group names by id
	PartnerNames map[string]string
	Owned        []channelDevice // every device, for the group and assignment forms
	Checked      *channelPartner
	PartnerID    string
	Fields       map[string]string // the API's messages by form field
	Views, Roles []string
}

type deviceGroup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (p *Portal) channelPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showChannel(w, r, s, "", nil, nil)
}

func (p *Portal) showChannel(w http.ResponseWriter, r *http.Request, s *session, errMsg string, fields map[string]string, checked *channelPartner) {
	var cps struct {
		Partners []channelPartner `json:"channel_partners"`
		Consent  bool             `json:"consent"`
	}
	var as struct {
		Assignments []assignment `json:"assignments"`
	}
	var devs struct {
		Devices []channelDevice `json:"devices"`
	}
	var groups struct {
		Groups []deviceGroup `json:"device_groups"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/channel-partners", &cps}, fetch{"/api/v1/channel-assignments", &as},
		fetch{"/api/v1/channel-devices", &devs}, fetch{"/api/v1/device-groups", &groups}) {
		return
	}
	d := channelData{Partners: cps.Partners, Consent: cps.Consent, Assignments: as.Assignments, Groups: groups.Groups,
		Total: len(devs.Devices), Owned: devs.Devices, Names: map[string]string{}, PartnerNames: map[string]string{},
		Checked: checked, PartnerID: strings.TrimSpace(r.PostFormValue("partner_id")), Fields: fields,
		Views: []string{"assigned", "unassigned", "all"}, Roles: []string{"reseller", "service"}}
	for _, x := range devs.Devices {
		d.Names[x.AssetID] = x.Name
	}
	for _, g := range groups.Groups {
		d.Names[g.ID] = g.Name
	}
	for _, cp := range cps.Partners {
		d.PartnerNames[cp.PartnerID] = cp.Name
	}
	d.Filter = filterFrom(r.URL.Query())
	if d.PartnerNames[d.Filter.Partner] == "" && len(cps.Partners) > 0 {
		d.Filter.Partner = cps.Partners[0].PartnerID
	}
	if d.Filter.Partner != "" {
		d.Devices, d.Matching = d.Filter.apply(devs.Devices)
		for i := 1; i <= (d.Matching+devicesPerPage-1)/devicesPerPage; i++ {
			d.Pages = append(d.Pages, i)
		}
	}
	p.render(w, r, s, "channel", errMsg, d)
}

// channelForm re-shows the channel page after a failed form, with the
// API's message at its field.
func (p *Portal) channelForm(w http.ResponseWriter, r *http.Request, s *session, err error) {
	top, fields := p.formErrors(r, err)
	p.showChannel(withError(w, err), r, s, top, fields, nil)
}

// addChannelPartner is "Check ID" (step=check: shows whose ID it is) and
// then "Add" with the default roles.
func (p *Portal) addChannelPartner(w http.ResponseWriter, r *http.Request, s *session) {
	pid := strings.TrimSpace(r.PostFormValue("partner_id"))
	if r.PostFormValue("step") == "check" {
		var cp channelPartner
		if err := p.call(r, s.token, "GET", "/api/v1/partners/"+pathEscape(pid), nil, &cp); err != nil {
			p.channelForm(w, r, s, err)
			return
		}
		p.showChannel(w, r, s, "", nil, &cp)
		return
	}
	in := map[string]any{"partner_id": pid, "default_reseller": r.PostFormValue("default_reseller") == "on",
		"default_service": r.PostFormValue("default_service") == "on"}
	if err := p.call(r, s.token, "POST", "/api/v1/channel-partners", in, nil); err != nil {
		p.channelForm(w, r, s, err)
		return
	}
	done(w, r, "/channel", "partner_added")
}

func (p *Portal) removeChannelPartner(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/channel-partners/"+pathEscape(r.PathValue("pid")), nil, nil); err != nil {
		p.channelForm(w, r, s, err)
		return
	}
	done(w, r, "/channel", "partner_removed")
}

func (p *Portal) assign(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"partner_id": r.PostFormValue("partner_id"), "role": r.PostFormValue("role")}
	target := r.PostFormValue("target") // asset:<id> or group:<id>
	if kind, id, ok := strings.Cut(target, ":"); ok {
		in[kind+"_id"] = id
	}
	if err := p.call(r, s.token, "PUT", "/api/v1/channel-assignments", in, nil); err != nil {
		p.channelForm(w, r, s, err)
		return
	}
	done(w, r, "/channel", "assigned")
}

// unassign deletes one assignment: its device or group goes back to the
// default partner (or its group's).
func (p *Portal) unassign(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/channel-assignments/"+pathEscape(r.PathValue("id")), nil, nil); err != nil {
		p.channelForm(w, r, s, err)
		return
	}
	done(w, r, backTo(r), "unassigned")
}

// backTo is the channel page with the filter the form was sent from.
func backTo(r *http.Request) string {
	if b := r.PostFormValue("back"); strings.HasPrefix(b, "/channel?") || b == "/channel" {
		return b
	}
	return "/channel"
}

// saveDevices is "Save Devices": for the devices the table showed (shown),
// a ticked Reseller or Service Partner box assigns the device to the
// partner in that role, and a cleared box deletes the device's own
// assignment to it (the device goes back to its group's or the default
// partner). A device the partner holds as default or through a group
// cannot be removed from it here, as in seed 003: assign it to another
// partner instead. Each change is one API call, so the API checks each.
func (p *Portal) saveDevices(w http.ResponseWriter, r *http.Request, s *session) {
	if err := r.ParseForm(); err != nil {
		p.failIn(w, r, s, &apiError{Code: http.StatusBadRequest, Msg: err.Error()})
		return
	}
	pid := r.PostFormValue("partner_id")
	var devs struct {
		Devices []channelDevice `json:"devices"`
	}
	if err := p.call(r, s.token, "GET", "/api/v1/channel-devices", nil, &devs); err != nil {
		p.channelForm(w, r, s, err)
		return
	}
	byID := map[string]channelDevice{}
	for _, d := range devs.Devices {
		byID[d.AssetID] = d
	}
	for _, id := range r.PostForm["shown"] {
		d, ok := byID[id]
		if !ok {
			continue // gone since the page was shown
		}
		for _, role := range []string{"reseller", "service"} {
			if err := p.saveDevice(r, s, pid, role, id, d.Holder(role), slices.Contains(r.PostForm[role], id)); err != nil {
				p.channelForm(w, r, s, err)
				return
			}
		}
	}
	done(w, r, backTo(r), "devices_saved")
}

// saveDevice makes one device's box in one role come true: ticked, the
// partner holds the device; cleared, the device's own assignment to the
// partner is gone.
func (p *Portal) saveDevice(r *http.Request, s *session, pid, role, assetID string, h *holder, ticked bool) error {
	held := h != nil && h.PartnerID == pid
	switch {
	case ticked && !held:
		in := map[string]string{"partner_id": pid, "role": role, "asset_id": assetID}
		return p.call(r, s.token, "PUT", "/api/v1/channel-assignments", in, nil)
	case !ticked && held && h.Via == "device":
		return p.call(r, s.token, "DELETE", "/api/v1/channel-assignments/"+pathEscape(h.AssignmentID), nil, nil)
	}
	return nil
}

// createGroup makes a device group, which can then be assigned to a
// partner as one.
func (p *Portal) createGroup(w http.ResponseWriter, r *http.Request, s *session) {
	if err := r.ParseForm(); err != nil {
		p.failIn(w, r, s, &apiError{Code: http.StatusBadRequest, Msg: err.Error()})
		return
	}
	in := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "asset_ids": r.PostForm["asset_ids"]}
	if err := p.call(r, s.token, "POST", "/api/v1/device-groups", in, nil); err != nil {
		p.channelForm(w, r, s, err)
		return
	}
	done(w, r, "/channel", "group_added")
}

func (p *Portal) setConsent(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]bool{"consent": r.PostFormValue("consent") == "on"}
	if err := p.call(r, s.token, "PUT", "/api/v1/channel-consent", in, nil); err != nil {
		p.channelForm(w, r, s, err)
		return
	}
	done(w, r, "/channel", "consent")
}
