// Package portal is the web portal for customers and partners: server-
// rendered pages (html/template, embedded static files) over the JSON API.
//
// The portal holds no business rules of its own. Every page asks the API,
// in process, with the signed-in user's session token, so what a page can
// show or change is exactly what the API allows that user: visibility,
// roles and data classes are enforced in one place (package api), and
// every page is covered by the API's authorization matrix.
package portal

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the portal.
type Options struct {
	// Secure marks cookies Secure (and names the session cookie with the
	// __Host- prefix): set it when users reach the server over HTTPS.
	Secure bool
	Log    *slog.Logger
}

// Portal serves the pages.
type Portal struct {
	api    http.Handler
	log    *slog.Logger
	secure bool
	pages  map[string]*template.Template
	i18n   *texts
	static http.Handler
}

// New returns the portal over api, the server's JSON API handler.
func New(api http.Handler, opt Options) (*Portal, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	txt, err := loadTexts()
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("portal static files: %w", err)
	}
	return &Portal{api: api, log: log, secure: opt.Secure, pages: pages, i18n: txt,
		static: http.StripPrefix("/static/", http.FileServerFS(sub))}, nil
}

func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("portal layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("portal page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// Register adds the portal's routes to mux. Unsafe methods are refused
// when a browser says the request comes from another site
// (http.CrossOriginProtection), and every form also carries a token bound
// to the session.
func (p *Portal) Register(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fail(w, r, &apiError{Code: http.StatusForbidden, Msg: "cross-site request refused"})
	}))
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request)) {
		mux.Handle(pattern, p.headers(cop.Handler(http.HandlerFunc(fn))))
	}
	mux.Handle("GET /static/", p.headers(http.HandlerFunc(p.serveStatic)))
	h("GET /login", p.loginPage)
	h("POST /login", p.loginSubmit)
	h("POST /logout", p.logout)
	h("GET /forgot-password", p.forgotPage)
	h("POST /forgot-password", p.forgotSubmit)
	h("GET /reset-password", p.resetPage)
	h("POST /reset-password", p.resetSubmit)
	h("GET /invite", p.invitePage)
	h("POST /invite", p.inviteSubmit)
	h("GET /{$}", p.authed(p.dashboard))
	h("GET /assets/{id}", p.authed(p.assetPage))
	h("POST /assets/{id}/system-key/send", p.authed(p.sendSystemKey))
	h("POST /assets/{id}/grants/{grant}/revoke", p.authed(p.revokeGrant))
	h("GET /assets/{id}/edit", p.authed(p.assetEditPage))
	h("POST /assets/{id}/edit", p.authed(p.saveAsset))
	h("POST /assets/{id}/move", p.authed(p.moveAsset))
	h("POST /assets/{id}/delete", p.authed(p.deleteAsset))
	h("GET /config/assets", p.authed(p.configAssets))
	h("POST /config/assets", p.authed(p.createAsset))
	h("GET /organization", p.authed(p.orgPage))
	h("POST /organization/ous", p.authed(p.addOU))
	h("POST /organization/ous/{id}/key/send", p.authed(p.sendOUKey))
	h("POST /organization/users", p.authed(p.addUser))
	h("POST /organization/users/{id}", p.authed(p.updateUser))
	h("POST /organization/users/{id}/remove", p.authed(p.removeUser))
	h("POST /organization/switch", p.authed(p.switchOrg))
	h("GET /distributor/invite", p.authed(p.resellerInvitePage))
	h("POST /distributor/invite", p.authed(p.resellerInvite))
	h("GET /channel", p.authed(p.channelPage))
	h("POST /channel/partners", p.authed(p.addChannelPartner))
	h("POST /channel/partners/{pid}/remove", p.authed(p.removeChannelPartner))
	h("POST /channel/assignments", p.authed(p.assign))
	h("POST /channel/assignments/{id}/delete", p.authed(p.unassign))
	h("POST /channel/devices", p.authed(p.saveDevices))
	h("POST /channel/consent", p.authed(p.setConsent))
	h("POST /channel/groups", p.authed(p.createGroup))
	h("GET /tokens", p.authed(p.tokensPage))
	h("POST /tokens", p.authed(p.createToken))
	h("POST /tokens/{id}/delete", p.authed(p.deleteToken))
	h("GET /agents", p.authed(p.agentsPage))
	h("POST /agents/enrollment-tokens", p.authed(p.createEnrollmentToken))
	h("GET /audit", p.authed(p.auditPage))
	h("GET /findings", p.authed(p.findingsPage))
	h("POST /findings/{id}/acknowledge", p.authed(p.ackFinding))
	h("GET /reports", p.authed(p.reportsPage))
	h("GET /reports/{template}/download", p.authed(p.reportDownload))
	h("POST /reports/schedules", p.authed(p.createSchedule))
	h("POST /reports/schedules/{id}/delete", p.authed(p.deleteSchedule))
	h("GET /webhooks", p.authed(p.webhooksPage))
	h("POST /webhooks", p.authed(p.createWebhook))
	h("POST /webhooks/{id}/delete", p.authed(p.deleteWebhook))
	h("POST /webhooks/{id}/ping", p.authed(p.pingWebhook))
	h("GET /notifications", p.authed(p.notificationsPage))
	h("POST /notifications/subscriptions", p.authed(p.subscribe))
	h("POST /notifications/subscriptions/{id}/delete", p.authed(p.unsubscribe))
	h("GET /maintenance", p.authed(p.maintenancePage))
	h("POST /maintenance", p.authed(p.saveWindow))
	h("POST /maintenance/{id}", p.authed(p.saveWindow))
	h("POST /maintenance/{id}/delete", p.authed(p.deleteWindow))
	h("POST /assets/{id}/parent", p.authed(p.setParent))
	h("POST /notifications/subscriptions/{id}", p.authed(p.updateSubscription))
	h("POST /notifications/channels", p.authed(p.createChannel))
	h("POST /notifications/channels/{id}", p.authed(p.updateChannel))
	h("POST /notifications/channels/{id}/delete", p.authed(p.deleteChannel))
	h("POST /notifications/channels/{id}/test", p.authed(p.testChannel))
	h("POST /notifications/settings", p.authed(p.saveRepeat))
	h("GET /checkup-rules", p.authed(p.rulesPage))
	h("POST /checkup-rules", p.authed(p.putRules))
	h("POST /checkup-rules/reset", p.authed(p.resetRules))
	h("GET /partner/invite", p.authed(p.partnerInvitePage))
	h("POST /partner/invite", p.authed(p.partnerInvite))
	h("GET /partner/systems/new", p.authed(p.newSystemPage))
	h("POST /partner/systems/new", p.authed(p.newSystem))
	h("GET /partner/systems/assign", p.authed(p.assignSystemPage))
	h("POST /partner/systems/assign", p.authed(p.assignSystem))
}

// contentSecurityPolicy allows the portal's own scripts, styles and
// images only: no inline script, no framing, forms post to the portal.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (p *Portal) headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if p.secure {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

func (p *Portal) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	p.static.ServeHTTP(w, r)
}

// apiError is the API's answer when it is not a success.
type apiError struct {
	Code       int
	Msg        string
	RetryAfter time.Duration // from the API's Retry-After (a rate limit)
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Msg) }

// maxAPIAnswer bounds what one in-process API call may return to a page.
const maxAPIAnswer = 32 << 20

// call makes an API request in process as the holder of token (empty:
// anonymous) and decodes the JSON answer into out (when not nil). An
// answer of 400 or above comes back as *apiError with the API's message.
func (p *Portal) call(r *http.Request, token, method, path string, in, out any) error {
	var body []byte
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		body, ctype = b, "application/json"
	}
	rec, err := p.do(r, token, method, path, ctype, body)
	if err != nil {
		return err
	}
	if out == nil || rec.code == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// do makes an API request in process with a body of content type ctype
// (none when empty) and returns the answer; an answer of 400 or above
// comes back as *apiError with the API's message.
func (p *Portal) do(r *http.Request, token, method, path, ctype string, in []byte) (*recorder, error) {
	var body io.Reader = http.NoBody
	if in != nil {
		body = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, body)
	if err != nil {
		return nil, fmt.Errorf("request %s %s: %w", method, path, err)
	}
	// Rate limits and the audit log see the browser's address.
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("User-Agent", r.UserAgent())
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	p.api.ServeHTTP(rec, req)
	if rec.code >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Error == "" {
			e.Error = http.StatusText(rec.code)
		}
		ae := &apiError{Code: rec.code, Msg: e.Error}
		if s, err := strconv.Atoi(rec.header.Get("Retry-After")); err == nil && s > 0 {
			ae.RetryAfter = time.Duration(s) * time.Second
		}
		return rec, ae
	}
	return rec, nil
}

// recorder is the ResponseWriter of an in-process API call.
type recorder struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	if r.body.Len()+len(b) > maxAPIAnswer {
		return 0, errors.New("answer too large for a page")
	}
	return r.body.Write(b)
}

// q builds a query string from pairs of names and values.
func q(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			v.Set(pairs[i], pairs[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// withTimeout bounds the API calls of one page.
func withTimeout(r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	return r.WithContext(ctx), cancel
}
