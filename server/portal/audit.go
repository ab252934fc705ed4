package portal

import (
	"encoding/json"
	"net/http"
	"time"
)

// auditEvent is an audit entry as the API answers it.
type auditEvent struct {
	ID          string          `json:"id"`
	At          time.Time       `json:"at"`
	Action      string          `json:"action"`
	ActorUserID string          `json:"actor_user_id"`
	ActorOrgID  string          `json:"actor_organization_id"`
	TargetType  string          `json:"target_type"`
	TargetID    string          `json:"target_id"`
	Detail      json.RawMessage `json:"detail"`
	RemoteAddr  string          `json:"remote_addr"`
}

// auditRow is an audit entry as the page shows it: who and what by
// name (an email, an asset's name), not by id.
type auditRow struct {
	At         time.Time
	Action     string
	Actor      string
	OtherOrg   bool
	TargetType string
	Target     string
	RemoteAddr string
}

// auditPage lists the organization's audit trail, newest first, with
// the names of the users, assets, OUs, groups and partners it is about.
func (p *Portal) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	var res struct {
		Events     []auditEvent `json:"events"`
		NextBefore string       `json:"next_before"`
	}
	path := "/api/v1/audit" + q("before", r.URL.Query().Get("before"), "limit", "100")
	if !p.load(w, r, s, fetch{path, &res}) {
		return
	}
	names := p.auditNames(r, s, res.Events)
	rows := make([]auditRow, 0, len(res.Events))
	for _, e := range res.Events {
		row := auditRow{At: e.At, Action: e.Action, OtherOrg: e.ActorOrgID != "", RemoteAddr: e.RemoteAddr,
			TargetType: p.trOr(r, "audit.type_"+e.TargetType, e.TargetType)}
		switch {
		case e.ActorUserID == "":
			row.Actor = "–"
		case names[e.ActorUserID] != "":
			row.Actor = names[e.ActorUserID]
		case e.ActorOrgID != "" && names[e.ActorOrgID] != "":
			// a partner's user: the customer knows the partner, not its staff
			row.Actor, row.OtherOrg = names[e.ActorOrgID], false
		case e.ActorOrgID != "":
			row.Actor, row.OtherOrg = p.tr(r, "audit.other_org_user"), false
		default:
			row.Actor = p.tr(r, "audit.unknown_user")
		}
		row.Target = names[e.TargetID]
		if row.Target == "" {
			row.Target = detailName(e.Detail)
		}
		if row.Target == "" && e.TargetID != "" {
			row.Target = p.tr(r, "audit.deleted")
		}
		rows = append(rows, row)
	}
	p.render(w, r, s, "audit", "", map[string]any{"Events": rows, "Next": res.NextBefore})
}

// auditNames maps the ids in events to names the admin may read: users
// to their email, OUs, device groups and assets to their names. An id
// the admin cannot read any more (a removed user, a deleted asset) is
// left out; the page then says so. Partner organizations are named by
// the grants they hold, for the actions of their users.
func (p *Portal) auditNames(r *http.Request, s *session, events []auditEvent) map[string]string {
	names := map[string]string{}
	var users struct {
		Users []struct {
			UserID string `json:"user_id"`
			Email  string `json:"email"`
		} `json:"users"`
	}
	if p.call(r, s.token, "GET", "/api/v1/users", nil, &users) == nil {
		for _, u := range users.Users {
			names[u.UserID] = u.Email
		}
	}
	var ous struct {
		OUs []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"ous"`
	}
	if p.call(r, s.token, "GET", "/api/v1/ous", nil, &ous) == nil {
		for _, o := range ous.OUs {
			names[o.ID] = o.Name
		}
	}
	var groups struct {
		Groups []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"device_groups"`
	}
	if p.call(r, s.token, "GET", "/api/v1/device-groups", nil, &groups) == nil {
		for _, g := range groups.Groups {
			names[g.ID] = g.Name
		}
	}
	var grants struct {
		Grants []struct {
			ID        string `json:"id"`
			AssetName string `json:"asset_name"`
			Partner   struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"partner"`
		} `json:"grants"`
	}
	if p.call(r, s.token, "GET", "/api/v1/grants?all=true", nil, &grants) == nil {
		for _, g := range grants.Grants {
			names[g.ID] = g.AssetName + " → " + g.Partner.Name
			names[g.Partner.ID] = g.Partner.Name
		}
	}
	for _, e := range events {
		if e.TargetType != "asset" || e.TargetID == "" || names[e.TargetID] != "" {
			continue
		}
		var a struct {
			Asset asset `json:"asset"`
		}
		if p.call(r, s.token, "GET", "/api/v1/assets/"+pathEscape(e.TargetID), nil, &a) == nil {
			names[e.TargetID] = a.Asset.Name
		}
	}
	return names
}

// detailName is the name an audit entry's detail gives its target (a
// partner's name, an invited email), if any.
func detailName(detail json.RawMessage) string {
	var d map[string]any
	if len(detail) == 0 || json.Unmarshal(detail, &d) != nil {
		return ""
	}
	for _, k := range []string{"name", "email", "partner_name", "partner_id"} {
		if v, ok := d[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// trOr translates id, or answers fallback where no language has it.
func (p *Portal) trOr(r *http.Request, id, fallback string) string {
	if t := p.tr(r, id); t != id {
		return t
	}
	return fallback
}
