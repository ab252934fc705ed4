package portal

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"
)

type ou struct {
	ID       string `json:"id"`
	ParentID string `json:"parent_id"`
	Name     string `json:"name"`
	Depth    int    `json:"-"`
}

// tree orders OUs depth first, each with its depth, for an indented list.
func tree(ous []ou) []ou {
	children := map[string][]ou{}
	ids := map[string]bool{}
	for _, u := range ous {
		ids[u.ID] = true
	}
	var roots []ou
	for _, u := range ous {
		if u.ParentID == "" || !ids[u.ParentID] {
			roots = append(roots, u)
			continue
		}
		children[u.ParentID] = append(children[u.ParentID], u)
	}
	byName := func(a, b ou) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) }
	var out []ou
	var walk func(u ou, depth int)
	walk = func(u ou, depth int) {
		u.Depth = depth
		out = append(out, u)
		kids := children[u.ID]
		slices.SortFunc(kids, byName)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	slices.SortFunc(roots, byName)
	for _, u := range roots {
		walk(u, 0)
	}
	return out
}

// ous returns the OUs the user sees as a tree, and their names by id.
func (p *Portal) ous(r *http.Request, s *session) ([]ou, map[string]string, error) {
	var res struct {
		OUs []ou `json:"ous"`
	}
	if err := p.call(r, s.token, "GET", "/api/v1/ous", nil, &res); err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(res.OUs))
	for _, u := range res.OUs {
		names[u.ID] = u.Name
	}
	return tree(res.OUs), names, nil
}

// fetch is one API read of a page.
type fetch struct {
	path string
	out  any
}

// load makes a page's API reads in order; on the first failure it shows
// the error page and reports false.
func (p *Portal) load(w http.ResponseWriter, r *http.Request, s *session, reads ...fetch) bool {
	for _, f := range reads {
		if err := p.call(r, s.token, "GET", f.path, nil, f.out); err != nil {
			p.failIn(w, r, s, err)
			return false
		}
	}
	return true
}

// done redirects after a successful form to a page that confirms it.
func done(w http.ResponseWriter, r *http.Request, path, what string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, path+sep+"done="+what, http.StatusSeeOther)
}

// form re-renders a page with the failure of a form; render re-reads
// what it shows.
func (p *Portal) form(w http.ResponseWriter, r *http.Request, s *session, err error, show func(w http.ResponseWriter, errMsg string)) {
	show(withError(w, err), p.message(r, err))
}

// --- Configuration > Assets ---

func (p *Portal) configAssets(w http.ResponseWriter, r *http.Request, s *session) {
	p.showConfigAssets(w, r, s, "", nil, nil)
}

func (p *Portal) showConfigAssets(w http.ResponseWriter, r *http.Request, s *session, errMsg string, input, fields map[string]string) {
	var res struct {
		Assets []asset `json:"assets"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/assets", &res}) {
		return
	}
	ous, names, err := p.ous(r, s)
	if err != nil {
		p.failIn(w, r, s, err)
		return
	}
	p.render(w, r, s, "config_assets", errMsg, map[string]any{"Assets": shown(res.Assets), "OUs": ous, "OUNames": names,
		"Categories": categories, "Input": input, "Fields": fields})
}

func assetForm(r *http.Request) map[string]string {
	in := map[string]string{}
	for _, k := range []string{"name", "category", "manufacturer", "product", "type", "version", "serial", "ou_id"} {
		in[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	return in
}

func (p *Portal) createAsset(w http.ResponseWriter, r *http.Request, s *session) {
	in := assetForm(r)
	if err := p.call(r, s.token, "POST", "/api/v1/assets", in, nil); err != nil {
		top, fields := p.formErrors(r, err)
		p.showConfigAssets(withError(w, err), r, s, top, in, fields)
		return
	}
	done(w, r, "/config/assets", "asset_added")
}

// --- Organization: OU tree, keys, users ---

type member struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	OUID   string `json:"ou_id"`
}

type invitation struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	OUID      string    `json:"ou_id"`
	Company   string    `json:"company"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (p *Portal) orgPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showOrg(w, r, s, "", nil)
}

// orgMembership is one organization the signed-in user belongs to.
type orgMembership struct {
	OrgID string `json:"organization_id"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Role  string `json:"role"`
}

func (p *Portal) showOrg(w http.ResponseWriter, r *http.Request, s *session, errMsg string, fields map[string]string) {
	var org struct {
		Name      string `json:"name"`
		Kind      string `json:"kind"`
		PartnerID string `json:"partner_id"`
	}
	var users struct {
		Users []member `json:"users"`
	}
	var invs struct {
		Invitations []invitation `json:"invitations"`
	}
	var mine struct {
		Memberships []orgMembership `json:"memberships"`
	}
	reads := []fetch{{"/api/v1/organization", &org}, {"/api/v1/me", &mine}}
	if s.me.IsAdmin() { // the members and invitations are the admins'
		reads = append(reads, fetch{"/api/v1/users", &users}, fetch{"/api/v1/invitations", &invs})
	}
	if !p.load(w, r, s, reads...) {
		return
	}
	ous, names, err := p.ous(r, s)
	if err != nil {
		p.failIn(w, r, s, err)
		return
	}
	p.render(w, r, s, "organization", errMsg, map[string]any{"Org": org, "OUs": ous, "OUNames": names,
		"Users": users.Users, "Invitations": invs.Invitations, "Memberships": mine.Memberships,
		"Roles": []string{"viewer", "admin"}, "Fields": fields})
}

// orgForm re-shows the organization page after a failed form, with the
// API's message at its field.
func (p *Portal) orgForm(w http.ResponseWriter, r *http.Request, s *session, err error) {
	top, fields := p.formErrors(r, err)
	p.showOrg(withError(w, err), r, s, top, fields)
}

// updateUser changes a member's role and OU; the API refuses an admin's
// own membership, members outside the admin's OUs, and viewers.
func (p *Portal) updateUser(w http.ResponseWriter, r *http.Request, s *session) {
	role, ou := r.PostFormValue("role"), r.PostFormValue("ou_id")
	in := map[string]*string{"role": &role, "ou_id": &ou}
	if ou == "" {
		in["ou_id"] = nil
	}
	if err := p.call(r, s.token, "PATCH", "/api/v1/users/"+pathEscape(r.PathValue("id")), in, nil); err != nil {
		p.orgForm(w, r, s, err)
		return
	}
	done(w, r, "/organization", "user_updated")
}

// removeUser ends a member's membership (and its sessions there).
func (p *Portal) removeUser(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/users/"+pathEscape(r.PathValue("id")), nil, nil); err != nil {
		p.orgForm(w, r, s, err)
		return
	}
	done(w, r, "/organization", "user_removed")
}

// switchOrg makes the session act in another organization of the user.
func (p *Portal) switchOrg(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"organization_id": r.PostFormValue("organization_id")}
	if err := p.call(r, s.token, "POST", "/api/v1/session/organization", in, nil); err != nil {
		p.orgForm(w, r, s, err)
		return
	}
	done(w, r, "/", "org_switched")
}

func (p *Portal) addOU(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"parent_id": r.PostFormValue("parent_id"), "name": strings.TrimSpace(r.PostFormValue("name"))}
	if err := p.call(r, s.token, "POST", "/api/v1/ous", in, nil); err != nil {
		p.orgForm(w, r, s, err)
		return
	}
	done(w, r, "/organization", "ou_added")
}

func (p *Portal) sendOUKey(w http.ResponseWriter, r *http.Request, s *session) {
	path := "/api/v1/ous/" + r.PathValue("id") + "/key/send"
	if err := p.call(r, s.token, "POST", path, map[string]string{"email": r.PostFormValue("email")}, nil); err != nil {
		p.orgForm(w, r, s, err)
		return
	}
	done(w, r, "/organization", "key_sent")
}

func (p *Portal) addUser(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"email": r.PostFormValue("email"), "role": r.PostFormValue("role"), "ou_id": r.PostFormValue("ou_id")}
	if err := p.call(r, s.token, "POST", "/api/v1/invitations", in, nil); err != nil {
		p.orgForm(w, r, s, err)
		return
	}
	done(w, r, "/organization", "user_invited")
}

// --- API tokens ---

type apiToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Token      string     `json:"token"`
}

func (p *Portal) tokensPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showTokens(w, r, s, "", "")
}

func (p *Portal) showTokens(w http.ResponseWriter, r *http.Request, s *session, errMsg, created string) {
	var res struct {
		Tokens []apiToken `json:"api_tokens"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/api-tokens", &res}) {
		return
	}
	p.render(w, r, s, "tokens", errMsg, map[string]any{"Tokens": res.Tokens, "Created": created})
}

func (p *Portal) createToken(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")), "ttl": r.PostFormValue("ttl")}
	var t apiToken
	if err := p.call(r, s.token, "POST", "/api/v1/api-tokens", in, &t); err != nil {
		p.form(w, r, s, err, func(w http.ResponseWriter, msg string) { p.showTokens(w, r, s, msg, "") })
		return
	}
	// Shown once, on this answer; it is not kept.
	p.showTokens(w, r, s, "", t.Token)
}

func (p *Portal) deleteToken(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.call(r, s.token, "DELETE", "/api/v1/api-tokens/"+pathEscape(r.PathValue("id")), nil, nil); err != nil {
		p.form(w, r, s, err, func(w http.ResponseWriter, msg string) { p.showTokens(w, r, s, msg, "") })
		return
	}
	done(w, r, "/tokens", "token_deleted")
}

// --- Agents ---

type agentRow struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Hostname    string     `json:"hostname"`
	OUID        string     `json:"ou_id"`
	Version     string     `json:"version"`
	EnrolledAt  time.Time  `json:"enrolled_at"`
	LastSeenAt  *time.Time `json:"last_seen_at"`
	Status      string     `json:"status"`
	LastError   string     `json:"last_error"`
	LastErrorAt *time.Time `json:"last_error_at"`
}

func (p *Portal) agentsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showAgents(w, r, s, "", nil)
}

func (p *Portal) showAgents(w http.ResponseWriter, r *http.Request, s *session, errMsg string, created map[string]any) {
	var res struct {
		Agents []agentRow `json:"agents"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/agents", &res}) {
		return
	}
	ous, names, err := p.ous(r, s)
	if err != nil {
		p.failIn(w, r, s, err)
		return
	}
	p.render(w, r, s, "agents", errMsg, map[string]any{"Agents": res.Agents, "OUs": ous, "OUNames": names, "Created": created})
}

func (p *Portal) createEnrollmentToken(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"ou_id": r.PostFormValue("ou_id"), "ttl": r.PostFormValue("ttl")}
	var res map[string]any
	if err := p.call(r, s.token, "POST", "/api/v1/enrollment-tokens", in, &res); err != nil {
		p.form(w, r, s, err, func(w http.ResponseWriter, msg string) { p.showAgents(w, r, s, msg, nil) })
		return
	}
	p.showAgents(w, r, s, "", res)
}
