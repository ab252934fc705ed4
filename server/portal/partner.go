package portal

import (
	"net/http"
	"net/url"
	"strings"
)

func pathEscape(s string) string { return url.PathEscape(s) }

// --- Partner: invite a customer with its first asset ---

func (p *Portal) partnerInvitePage(w http.ResponseWriter, r *http.Request, s *session) {
	p.render(w, r, s, "partner_invite", "", map[string]any{"Categories": categories, "Input": map[string]string{}})
}

func (p *Portal) partnerInvite(w http.ResponseWriter, r *http.Request, s *session) {
	in := assetForm(r)
	body := map[string]any{"company": strings.TrimSpace(r.PostFormValue("company")), "email": strings.TrimSpace(r.PostFormValue("email"))}
	if in["name"] != "" {
		body["asset"] = map[string]string{"name": in["name"], "category": in["category"], "manufacturer": in["manufacturer"],
			"product": in["product"], "serial": in["serial"]}
	}
	if err := p.call(r, s.token, "POST", "/api/v1/partner/customer-invitations", body, nil); err != nil {
		in["company"], in["email"] = body["company"].(string), body["email"].(string)
		p.form(w, r, s, err, func(w http.ResponseWriter, msg string) {
			p.render(w, r, s, "partner_invite", msg, map[string]any{"Categories": categories, "Input": in})
		})
		return
	}
	done(w, r, "/partner/invite", "customer_invited")
}

// --- Partner: create a customer system with an OU key ("Verify") ---

func (p *Portal) newSystemPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.render(w, r, s, "partner_new_system", "", map[string]any{"Categories": categories, "Input": map[string]string{}})
}

func (p *Portal) newSystem(w http.ResponseWriter, r *http.Request, s *session) {
	in := assetForm(r)
	key := strings.TrimSpace(r.PostFormValue("ou_key"))
	in["ou_key"] = key
	show := func(w http.ResponseWriter, msg string, verified any) {
		p.render(w, r, s, "partner_new_system", msg, map[string]any{"Categories": categories, "Input": in, "Verified": verified})
	}
	var ver struct {
		Customer struct{ ID, Name string } `json:"customer"`
		OU       struct{ ID, Name string } `json:"ou"`
	}
	if err := p.call(r, s.token, "POST", "/api/v1/partner/ou-keys/verify", map[string]string{"ou_key": key}, &ver); err != nil {
		p.form(w, r, s, err, func(w http.ResponseWriter, msg string) { show(w, msg, nil) })
		return
	}
	if r.PostFormValue("step") == "verify" {
		show(w, "", ver)
		return
	}
	body := map[string]any{"ou_key": key, "asset": map[string]string{"name": in["name"], "category": in["category"],
		"manufacturer": in["manufacturer"], "product": in["product"], "type": in["type"], "version": in["version"], "serial": in["serial"]}}
	var res struct {
		Asset asset `json:"asset"`
	}
	if err := p.call(r, s.token, "POST", "/api/v1/partner/assets", body, &res); err != nil {
		p.form(w, r, s, err, func(w http.ResponseWriter, msg string) { show(w, msg, ver) })
		return
	}
	done(w, r, "/assets/"+res.Asset.ID, "system_created")
}

// --- Partner: assign a customer system with a system key ("Check") ---

func (p *Portal) assignSystemPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.render(w, r, s, "partner_assign_system", "", map[string]any{"Key": ""})
}

func (p *Portal) assignSystem(w http.ResponseWriter, r *http.Request, s *session) {
	key := strings.TrimSpace(r.PostFormValue("system_key"))
	show := func(w http.ResponseWriter, msg string, checked any) {
		p.render(w, r, s, "partner_assign_system", msg, map[string]any{"Key": key, "Checked": checked})
	}
	var chk struct {
		Customer struct{ ID, Name string } `json:"customer"`
		Asset    struct{ ID, Name, Category string }
	}
	if err := p.call(r, s.token, "POST", "/api/v1/partner/system-keys/verify", map[string]string{"system_key": key}, &chk); err != nil {
		p.form(w, r, s, err, func(w http.ResponseWriter, msg string) { show(w, msg, nil) })
		return
	}
	if r.PostFormValue("step") == "check" {
		show(w, "", chk)
		return
	}
	var res struct {
		Asset asset `json:"asset"`
	}
	if err := p.call(r, s.token, "POST", "/api/v1/partner/system-keys", map[string]string{"system_key": key}, &res); err != nil {
		p.form(w, r, s, err, func(w http.ResponseWriter, msg string) { show(w, msg, chk) })
		return
	}
	done(w, r, "/assets/"+res.Asset.ID, "system_assigned")
}
