package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// me is the signed-in user as GET /api/v1/me answers it.
type me struct {
	UserID       string `json:"user_id"`
	Email        string `json:"email"`
	Role         string `json:"role"`
	OUID         string `json:"ou_id"`
	Organization struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"organization"`
}

// IsAdmin and IsPartner decide which links and forms a page offers; the
// API decides what is allowed.
func (m me) IsAdmin() bool   { return m.Role == "admin" }
func (m me) IsPartner() bool { return m.Organization.Kind != "customer" }

// session is a signed-in request.
type session struct {
	token string
	me    me
}

func (p *Portal) cookieName() string {
	if p.secure {
		return "__Host-kpilot_session" // Secure, Path=/, no Domain: not settable by a sibling host
	}
	return "kpilot_session"
}

func (p *Portal) setSession(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(), Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

func (p *Portal) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

// csrfToken binds a form to the session: a page of another site cannot
// read it, and it changes with every login.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("kpilot portal form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// authed runs h for a signed-in user; anyone else is sent to the login
// page, which sends them back afterwards. Every POST must carry the
// session's form token.
func (p *Portal) authed(h func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		r, cancel := withTimeout(r)
		defer cancel()
		c, err := r.Cookie(p.cookieName())
		if err != nil || c.Value == "" {
			p.toLogin(w, r)
			return
		}
		s := &session{token: c.Value}
		if err := p.call(r, s.token, "GET", "/api/v1/me", nil, &s.me); err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Code == http.StatusUnauthorized {
				p.clearSession(w)
				p.toLogin(w, r)
				return
			}
			p.fail(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(csrfToken(s.token))) {
				p.fail(w, r, &apiError{Code: http.StatusForbidden, Msg: "the form has expired: reload the page and try again"})
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s)
	}
}

func (p *Portal) toLogin(w http.ResponseWriter, r *http.Request) {
	next := ""
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login"+q("next", next), http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return u.RequestURI()
}

func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, nil, "login", "", map[string]any{"Next": r.URL.Query().Get("next"), "Email": ""})
}

func (p *Portal) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	email, next := r.PostFormValue("email"), r.PostFormValue("next")
	var res struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	err := p.call(r, "", "POST", "/api/v1/login", map[string]string{"email": email, "password": r.PostFormValue("password")}, &res)
	if err != nil {
		p.render(withError(w, err), r, nil, "login", p.message(r, err), map[string]any{"Next": next, "Email": email})
		return
	}
	p.setSession(w, res.Token, res.ExpiresAt)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(p.cookieName()); err == nil && c.Value != "" {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(csrfToken(c.Value))) {
			if err := p.call(r, c.Value, "POST", "/api/v1/logout", nil, nil); err != nil {
				p.log.Debug("logout", "err", err)
			}
		}
	}
	p.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// invitePage activates an invitation: the link in the mail carries the
// token after '#', so it reaches no server log; the page's script puts it
// into the form.
func (p *Portal) invitePage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, nil, "invite", "", map[string]any{})
}

func (p *Portal) inviteSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	tok, pw := r.PostFormValue("token"), r.PostFormValue("password")
	again := func(err error) {
		p.render(withError(w, err), r, nil, "invite", p.message(r, err), map[string]any{})
	}
	if pw != r.PostFormValue("password2") {
		again(&apiError{Code: http.StatusBadRequest, Msg: p.tr(r, "invite.mismatch")})
		return
	}
	var inv struct {
		Email string `json:"email"`
	}
	if err := p.call(r, "", "POST", "/api/v1/invitations/lookup", map[string]string{"token": tok}, &inv); err != nil {
		again(err)
		return
	}
	var acc struct {
		OrgID string `json:"organization_id"`
	}
	if err := p.call(r, "", "POST", "/api/v1/invitations/accept", map[string]string{"token": tok, "password": pw}, &acc); err != nil {
		again(err)
		return
	}
	var res struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := p.call(r, "", "POST", "/api/v1/login", map[string]string{"email": inv.Email, "password": pw, "organization_id": acc.OrgID}, &res); err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	p.setSession(w, res.Token, res.ExpiresAt)
	http.Redirect(w, r, "/?done=welcome", http.StatusSeeOther)
}

func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return http.StatusInternalServerError
}

// forgotPage asks for the email address a reset link is sent to.
func (p *Portal) forgotPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, nil, "forgot", "", map[string]any{})
}

func (p *Portal) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	err := p.call(r, "", "POST", "/api/v1/password-reset", map[string]string{"email": r.PostFormValue("email")}, nil)
	if err != nil {
		p.render(withError(w, err), r, nil, "forgot", p.message(r, err), map[string]any{})
		return
	}
	// The same answer whether or not the address has an account.
	p.render(w, r, nil, "forgot", "", map[string]any{"Sent": true})
}

// resetPage sets a new password with the link of a reset mail; like an
// invitation, the token travels after '#'.
func (p *Portal) resetPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, nil, "reset", "", map[string]any{})
}

func (p *Portal) resetSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		p.render(withStatus(w, http.StatusBadRequest), r, nil, "reset", p.tr(r, "invite.mismatch"), map[string]any{})
		return
	}
	err := p.call(r, "", "POST", "/api/v1/password-reset/confirm", map[string]string{"token": r.PostFormValue("token"), "password": pw}, nil)
	if err != nil {
		p.render(withError(w, err), r, nil, "reset", p.message(r, err), map[string]any{})
		return
	}
	http.Redirect(w, r, "/login?done=password_set", http.StatusSeeOther)
}
