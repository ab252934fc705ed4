package portal

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/kpilot/kpilot/internal/catalog"
)

// view is what every page template gets.
type view struct {
	Lang  string
	Langs []string
	Me    *me
	CSRF  string
	Page  string // the template's name, for the navigation
	Path  string // the current address, for the language switch
	Done  string // a translated confirmation after a form
	Error string
	Data  any
	loc   *i18n.Localizer
	log   func(msg string, args ...any)
}

// T translates a message id; args are pairs of names and values for the
// message's {{.Name}} placeholders. A message with plural forms (one,
// other) picks its form by Count, else by Total. An id made of a prefix
// and an empty value ("category." of an asset without one) is the
// prefix's "none" message.
func (v *view) T(id string, args ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			data[k] = args[i+1]
		}
	}
	if strings.HasSuffix(id, ".") {
		id += "none"
	}
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if n, ok := data["Count"]; ok {
		cfg.PluralCount = n
	} else if n, ok := data["Total"]; ok {
		cfg.PluralCount = n
	}
	s, err := v.loc.Localize(cfg)
	if err != nil && cfg.PluralCount != nil {
		// a message without plural forms
		cfg.PluralCount = nil
		s, err = v.loc.Localize(cfg)
	}
	if err != nil {
		v.log("missing translation", "id", id, "lang", v.Lang, "err", err)
		if s == "" {
			return id
		}
	}
	return s
}

// Num writes a number in the page's language: grouped thousands, at most
// two decimals, never in exponent notation.
func (v *view) Num(x any) string {
	switch n := x.(type) {
	case int:
		return catalog.Format(float64(n), catalog.None, v.Lang)
	case int64:
		return catalog.Format(float64(n), catalog.None, v.Lang)
	case float64:
		return catalog.Format(n, catalog.None, v.Lang)
	}
	return fmt.Sprint(x)
}

// Duration writes seconds as a person reads a duration ("3 h", "12 min").
func (v *view) Duration(secs float64) string {
	return catalog.Format(secs, catalog.Seconds, v.Lang)
}

// Percent writes a ratio (0 to 1) as a percentage; "–" for nil.
func (v *view) Percent(r *float64) string {
	if r == nil {
		return "–"
	}
	return catalog.Format(*r, catalog.Ratio, v.Lang)
}

// LangURL is the current page in another language.
func (v *view) LangURL(lang string) string {
	u, err := url.Parse(v.Path)
	if err != nil {
		return "/?lang=" + lang
	}
	qs := u.Query()
	qs.Set("lang", lang)
	qs.Del("done")
	u.RawQuery = qs.Encode()
	return u.RequestURI()
}

// Time formats a time for the page (UTC; the page states it).
func (v *view) Time(t any) string {
	var tt time.Time
	switch x := t.(type) {
	case time.Time:
		tt = x
	case *time.Time:
		if x == nil {
			return "–"
		}
		tt = *x
	case string:
		var err error
		if tt, err = time.Parse(time.RFC3339Nano, x); err != nil {
			return x
		}
	default:
		return "–"
	}
	if tt.IsZero() {
		return "–"
	}
	if v.Lang == "de" {
		return tt.UTC().Format("02.01.2006 15:04") + " UTC"
	}
	return tt.UTC().Format("2006-01-02 15:04") + " UTC"
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"mul2": func(a int) int { return 2 * a }, // indentation of an OU in a select
}

// render writes a page. s is nil on pages for signed-out visitors.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, s *session, page, errMsg string, data any) {
	lang, loc := p.i18n.localizer(w, r)
	v := &view{Lang: lang, Langs: p.i18n.langs, Page: page, Path: r.URL.RequestURI(), Error: errMsg, Data: data, loc: loc,
		log: func(msg string, args ...any) { p.log.Warn(msg, args...) }}
	if s != nil {
		v.Me, v.CSRF = &s.me, csrfToken(s.token)
	}
	if d := r.URL.Query().Get("done"); d != "" && validDone[d] {
		v.Done = v.T("done." + d)
	}
	t, ok := p.pages[page]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		p.log.Error("rendering a page", "page", page, "err", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Write(buf.Bytes())
}

// validDone are the confirmations a redirect after a form may show.
var validDone = map[string]bool{"welcome": true, "ou_added": true, "key_sent": true, "user_invited": true,
	"partner_added": true, "partner_removed": true, "assigned": true, "consent": true, "token_deleted": true,
	"asset_added": true, "customer_invited": true, "system_created": true, "system_assigned": true, "revoked": true, "group_added": true, "password_set": true,
	// administration pages (locales/admin.*.yaml)
	"unassigned": true, "devices_saved": true, "user_updated": true, "user_removed": true, "org_switched": true,
	"reseller_invited": true, "schedule_added": true, "schedule_deleted": true, "webhook_deleted": true, "webhook_pinged": true,
	"rules_saved": true, "rules_reset": true,
	// notifications (locales/notifications.*.yaml)
	"subscribed": true, "unsubscribed": true, "subscription_saved": true, "channel_added": true, "channel_saved": true,
	"channel_deleted": true, "channel_tested": true, "repeat_saved": true,
	// asset edit (locales/assetedit.*.yaml)
	"asset_saved": true, "asset_moved": true, "asset_deleted": true,
	// maintenance windows and asset parents (locales/maint.*.yaml)
	"window_saved": true, "window_deleted": true, "parent_set": true, "parent_cleared": true}

// message is what a page says about a failed API call: a translated
// sentence for the kind of failure, with the API's detail where it names
// what to correct.
func (p *Portal) message(r *http.Request, err error) string {
	var ae *apiError
	if !errors.As(err, &ae) {
		p.log.Error("portal request failed", "path", r.URL.Path, "err", err)
		return p.tr(r, "error.internal")
	}
	switch ae.Code {
	case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
		return p.tr(r, "error.input") + " " + ae.Msg
	case http.StatusUnauthorized:
		if r.URL.Path == "/login" {
			return p.tr(r, "error.login")
		}
		return p.tr(r, "error.unauthorized") + " " + ae.Msg
	case http.StatusForbidden:
		return p.tr(r, "error.forbidden") + " " + ae.Msg
	case http.StatusNotFound, http.StatusGone:
		return p.tr(r, "error.notfound")
	case http.StatusTooManyRequests:
		if ae.RetryAfter > 0 {
			return tooManyText(p.localizer(r), ae.RetryAfter)
		}
		return p.tr(r, "error.toomany")
	case http.StatusServiceUnavailable:
		return p.tr(r, "error.unavailable")
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		// The API names the read and what went wrong with it (a query
		// InfluxDB refused, or no answer in time): the reader can tell a
		// slow InfluxDB from a fault of the server.
		return p.tr(r, "error.upstream") + " " + ae.Msg
	}
	if ae.Code >= 500 {
		p.log.Error("portal request failed", "path", r.URL.Path, "err", err)
		return p.tr(r, "error.internal")
	}
	return ae.Msg
}

// localizer is the request's language.
func (p *Portal) localizer(r *http.Request) *i18n.Localizer {
	_, loc := p.i18n.localizerFor(r)
	return loc
}

// tooManyText says when to try again after a rate limit: in seconds
// under a minute, else in whole minutes, rounded up so that trying then
// works.
func tooManyText(loc *i18n.Localizer, wait time.Duration) string {
	secs := int(math.Ceil(wait.Seconds()))
	id, n := "error.toomany_seconds", secs
	if secs >= 60 {
		id, n = "error.toomany_minutes", (secs+59)/60
	}
	if n == 1 {
		id = strings.TrimSuffix(id, "s")
	}
	s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: map[string]any{"N": n}})
	if err != nil && s == "" {
		return id
	}
	return s
}

// tr translates one message for the request's language.
func (p *Portal) tr(r *http.Request, id string) string {
	loc := p.localizer(r)
	s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id})
	if err != nil && s == "" {
		return id
	}
	return s
}

// fail shows an error page with the status of err.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	p.render(withError(w, err), r, nil, "error", p.message(r, err), map[string]any{"Code": code})
}

// failIn shows an error page inside the signed-in layout.
func (p *Portal) failIn(w http.ResponseWriter, r *http.Request, s *session, err error) {
	code := statusOf(err)
	p.render(withError(w, err), r, s, "error", p.message(r, err), map[string]any{"Code": code})
}

// withError answers with the status of err, and after a rate limit with
// its Retry-After.
func withError(w http.ResponseWriter, err error) http.ResponseWriter {
	var ae *apiError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ae.RetryAfter.Seconds()))))
	}
	return withStatus(w, statusOf(err))
}

// withStatus answers with code instead of 200 while letting the page set
// its headers first.
func withStatus(w http.ResponseWriter, code int) http.ResponseWriter {
	return &statusFirst{ResponseWriter: w, code: code}
}

type statusFirst struct {
	http.ResponseWriter
	code int
}

func (s *statusFirst) WriteHeader(code int) {
	s.code = 0
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusFirst) Write(b []byte) (int, error) {
	if s.code != 0 {
		s.ResponseWriter.WriteHeader(s.code)
		s.code = 0
	}
	return s.ResponseWriter.Write(b)
}
