package portal

import (
	"net/http"
	"strings"
)

// --- Distributor: invite a reseller (DESIGN.md: distributors sit above
// resellers) ---

func (p *Portal) resellerInvitePage(w http.ResponseWriter, r *http.Request, s *session) {
	p.render(w, r, s, "distributor_invite", "", map[string]any{"Input": map[string]string{}, "Fields": map[string]string{}})
}

// resellerInvite sends a new reseller's admin an invitation; the API
// refuses anyone but a distributor's admin.
func (p *Portal) resellerInvite(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"company": strings.TrimSpace(r.PostFormValue("company")), "email": strings.TrimSpace(r.PostFormValue("email"))}
	if err := p.call(r, s.token, "POST", "/api/v1/distributor/reseller-invitations", in, nil); err != nil {
		top, fields := p.formErrors(r, err)
		p.render(withError(w, err), r, s, "distributor_invite", top, map[string]any{"Input": in, "Fields": fields})
		return
	}
	done(w, r, "/distributor/invite", "reseller_invited")
}
