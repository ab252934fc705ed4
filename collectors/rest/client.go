package rest

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Dell ME4 logs in with an MD5 digest; not used for security here
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/buildinfo"
)

// api is the connection to one target: an HTTP client with its cookie
// jar, the credentials, and the session or OAuth2 token between polls.
type api struct {
	cfg  *Config
	base *url.URL
	hc   *http.Client

	mu       sync.Mutex
	session  string        // session token (auth session)
	loggedIn bool          // a session is open (token or cookie)
	oauth    *oauth2.Token // client credentials token (auth oauth2)

	requests int          // of the current poll
	answers  atomic.Int64 // HTTP answers received: a target that answered is not unreachable
}

// answerCounting counts the requests that got an HTTP answer.
type answerCounting struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t answerCounting) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		t.n.Add(1)
	}
	return resp, err
}

func newAPI(c *Config, base *url.URL) *api {
	jar, _ := cookiejar.New(nil) // never fails without options
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment, // software APIs may sit behind a proxy, unlike BMCs
		DialContext:         (&net.Dialer{Timeout: c.RequestTimeout.D(), KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     c.tls.Clone(),
		TLSHandshakeTimeout: c.RequestTimeout.D(),
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	a := &api{cfg: c, base: base}
	a.hc = &http.Client{Transport: answerCounting{next: tr, n: &a.answers}, Jar: jar, Timeout: c.RequestTimeout.D(),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			if req.URL.Host != via[0].URL.Host {
				return fmt.Errorf("redirect to another host (%s) refused: credentials would follow", req.URL.Host)
			}
			return nil
		}}
	return a
}

// httpError is an answer with a status that is not 2xx.
type httpError struct {
	status     int
	method     string
	url        string
	msg        string // from the body, shortened
	retryAfter string
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d %s", e.method, e.url, e.status, http.StatusText(e.status))
	switch {
	case e.status == http.StatusUnauthorized:
		s += " (check the credentials)"
	case e.status == http.StatusForbidden:
		s += " (the account lacks the right to read this)"
	case e.status == http.StatusTooManyRequests && e.retryAfter != "":
		s += " (rate limited; the API asks to retry after " + e.retryAfter + ")"
	case e.status == http.StatusTooManyRequests:
		s += " (rate limited)"
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

// HTTPStatus returns the status, for collectors.Classify.
func (e *httpError) HTTPStatus() int { return e.status }

// loginError is a failed session login or OAuth2 token request.
type loginError struct{ err error }

func (e *loginError) Error() string { return e.err.Error() }
func (e *loginError) Unwrap() error { return e.err }

// call is one HTTP request of a poll.
type call struct {
	method  string
	path    string // below the base URL; or an absolute URL of the same host (next links)
	query   url.Values
	headers map[string]string
	body    []byte
	ctype   string
	noAuth  bool // the login request itself
	anyBody bool // the answer need not be JSON (logout)
}

// do sends c with authentication and returns the body of a 2xx answer,
// checked to be JSON. A 401 on a session or OAuth2 login renews it once.
func (a *api) do(ctx context.Context, c call) ([]byte, http.Header, error) {
	for attempt := 0; ; attempt++ {
		if !c.noAuth {
			if err := a.ensureAuth(ctx); err != nil {
				return nil, nil, &loginError{err}
			}
		}
		body, hdr, err := a.send(ctx, c)
		var he *httpError
		if attempt == 0 && !c.noAuth && errors.As(err, &he) && he.status == http.StatusUnauthorized && a.renewable() {
			a.dropAuth()
			continue
		}
		return body, hdr, err
	}
}

func (a *api) renewable() bool {
	t := a.cfg.def.Auth.Type
	return t == "session" || t == "oauth2"
}

// send performs one request without renewing anything.
func (a *api) send(ctx context.Context, c call) ([]byte, http.Header, error) {
	u, err := a.resolve(c.path)
	if err != nil {
		return nil, nil, err
	}
	if len(c.query) > 0 {
		q := u.Query()
		for k, vs := range c.query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	var rb io.Reader
	if c.body != nil {
		rb = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u.String(), rb)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", c.method, u.Redacted(), err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "kpilot-agent/"+buildinfo.Version)
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	for k, v := range a.cfg.def.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	if !c.noAuth {
		a.authorize(req)
	}
	shown := displayURL(u)
	a.mu.Lock()
	a.requests++
	a.mu.Unlock()
	resp, err := a.hc.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, nil, fmt.Errorf("%s %s: %w", c.method, shown, ctx.Err())
		case collectors.IsTimeout(err):
			// This request's timeout, within a poll that goes on.
			return nil, nil, fmt.Errorf("%s %s: %w", c.method, shown, collectors.NoAnswer(a.cfg.RequestTimeout.D(), "request_timeout", err))
		}
		return nil, nil, fmt.Errorf("%s %s: %w", c.method, shown, scrubURLError(err))
	}
	defer resp.Body.Close()
	limit := a.cfg.MaxResponseBytes
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the answer: %w", c.method, shown, err)
	}
	if int64(len(data)) > limit {
		return nil, nil, fmt.Errorf("%s %s: the answer is larger than max_response_bytes (%d)", c.method, shown, limit)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, &httpError{status: resp.StatusCode, method: c.method, url: shown,
			msg: errorMessage(data), retryAfter: resp.Header.Get("Retry-After")}
	}
	if c.anyBody {
		return data, resp.Header, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if c.noAuth {
			return data, resp.Header, nil // many logins answer with headers only
		}
		return nil, nil, fmt.Errorf("%s %s: empty answer where JSON was expected", c.method, shown)
	}
	if !gjson.ValidBytes(data) {
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		what := "not valid JSON"
		if ct != "" && !strings.Contains(ct, "json") {
			what = "not JSON (Content-Type " + ct + ")"
		} else if looksTruncated(data) {
			what = "truncated JSON"
		}
		return nil, nil, fmt.Errorf("%s %s: the answer is %s: %s", c.method, shown, what, shorten(string(data)))
	}
	return data, resp.Header, nil
}

// resolve turns a request path or a next link into a URL on the target.
// An absolute link to another host is refused: the credentials would go
// with it.
func (a *api) resolve(p string) (*url.URL, error) {
	if strings.Contains(p, "://") {
		u, err := url.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("link %q: %w", p, err)
		}
		if u.Host != a.base.Host {
			return nil, fmt.Errorf("link %s points to another host than %s; not followed", displayURL(u), a.base.Host)
		}
		u.Scheme = a.base.Scheme
		return u, nil
	}
	ref, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", p, err)
	}
	u := *a.base
	if strings.HasPrefix(ref.Path, a.base.Path+a.cfg.def.BasePath+"/") || (a.base.Path != "" && strings.HasPrefix(ref.Path, a.base.Path+"/")) {
		u.Path = ref.Path // a server-relative link that already carries the prefix
	} else {
		u.Path = a.base.Path + a.cfg.def.BasePath + ref.Path
	}
	u.RawQuery = ref.RawQuery
	return &u, nil
}

// displayURL is a URL for messages: no credentials, no query values (an
// API key may ride in the query).
func displayURL(u *url.URL) string {
	v := *u
	v.User = nil
	if v.RawQuery != "" {
		q := v.Query()
		for k := range q {
			q[k] = []string{"…"}
		}
		v.RawQuery = strings.ReplaceAll(q.Encode(), "%E2%80%A6", "…")
	}
	return v.String()
}

// scrubURLError drops the URL from a transport error (displayURL shows a
// safe one already).
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorMessage finds the vendor's message in an error answer.
func errorMessage(data []byte) string {
	if gjson.ValidBytes(data) {
		for _, p := range []string{"error.message", "message", "error_description", "error", "errorMessage", "desc", "Message", "status.0.response"} {
			if v := gjson.GetBytes(data, p); v.Exists() && v.Type == gjson.String && v.Str != "" {
				return shorten(v.Str)
			}
		}
	}
	return shorten(string(data))
}

func looksTruncated(data []byte) bool {
	d := json.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := d.Token(); err != nil {
			return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
		}
	}
}

// ensureAuth logs in or fetches an OAuth2 token when there is none.
func (a *api) ensureAuth(ctx context.Context) error {
	switch a.cfg.def.Auth.Type {
	case "session":
		a.mu.Lock()
		ok := a.loggedIn
		a.mu.Unlock()
		if !ok {
			return a.login(ctx)
		}
	case "oauth2":
		a.mu.Lock()
		ok := a.oauth.Valid()
		a.mu.Unlock()
		if !ok {
			return a.fetchToken(ctx)
		}
	}
	return nil
}

func (a *api) dropAuth() {
	a.mu.Lock()
	a.loggedIn, a.session, a.oauth = false, "", nil
	a.mu.Unlock()
}

// authorize adds the credentials to a request.
func (a *api) authorize(req *http.Request) {
	au := a.cfg.def.Auth
	switch au.Type {
	case "basic":
		req.SetBasicAuth(a.cfg.Username, a.cfg.Password.Reveal())
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+a.cfg.Token.Reveal())
	case "api_key":
		if au.QueryParam != "" {
			q := req.URL.Query()
			q.Set(au.QueryParam, a.cfg.Token.Reveal())
			req.URL.RawQuery = q.Encode()
		} else {
			req.Header.Set(au.Header, a.cfg.Token.Reveal())
		}
	case "oauth2":
		a.mu.Lock()
		if a.oauth != nil {
			a.oauth.SetAuthHeader(req)
		}
		a.mu.Unlock()
	case "session":
		a.mu.Lock()
		if a.session != "" {
			req.Header.Set(au.Login.UseHeader, au.Login.Prefix+a.session)
		}
		a.mu.Unlock()
	}
}

// fetchToken gets an OAuth2 token by the client credentials grant.
func (a *api) fetchToken(ctx context.Context) error {
	au := a.cfg.def.Auth
	tokenURL, err := a.resolve(au.TokenURL)
	if err != nil {
		return fmt.Errorf("oauth2: token_url: %w", err)
	}
	cc := clientcredentials.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret.Reveal(),
		TokenURL: tokenURL.String(), Scopes: au.Scopes}
	a.mu.Lock()
	a.requests++
	a.mu.Unlock()
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, a.hc))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			msg := re.ErrorCode
			if re.ErrorDescription != "" {
				msg += ": " + re.ErrorDescription
			}
			err := fmt.Errorf("oauth2: token request to %s refused: HTTP %d %s", displayURL(tokenURL), re.Response.StatusCode, msg)
			if st := re.Response.StatusCode; st == http.StatusBadRequest || st == http.StatusUnauthorized || st == http.StatusForbidden {
				// RFC 6749 answers invalid_client with 401 and an
				// invalid grant with 400: the client id or secret.
				return &collectors.OutcomeError{Class: collectors.OutcomeCredentialsRejected, Err: err}
			}
			return err
		}
		return fmt.Errorf("oauth2: token request to %s: %w", displayURL(tokenURL), scrubURLError(err))
	}
	a.mu.Lock()
	a.oauth = tok
	a.mu.Unlock()
	return nil
}

// credentials are what login templates see.
type credentials struct {
	Username, Password, Token, ClientID, ClientSecret, Session string
}

func (a *api) creds() credentials {
	return credentials{Username: a.cfg.Username, Password: a.cfg.Password.Reveal(), Token: a.cfg.Token.Reveal(),
		ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret.Reveal(), Session: a.session}
}

// login opens a session.
func (a *api) login(ctx context.Context) error {
	l := a.cfg.def.Auth.Login
	t := a.cfg.tmpl
	cr := a.creds()
	path, err := render(t.path, cr)
	if err != nil {
		return fmt.Errorf("login: path: %w", err)
	}
	c := call{method: l.Method, path: path, headers: map[string]string{}, noAuth: true, ctype: l.ContentType}
	for k, ht := range t.headers {
		if c.headers[k], err = render(ht, cr); err != nil {
			return fmt.Errorf("login: header %s: %w", k, err)
		}
	}
	if l.BasicAuth {
		c.headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(cr.Username+":"+cr.Password))
	}
	if t.body != nil {
		b, err := render(t.body, cr)
		if err != nil {
			return fmt.Errorf("login: body: %w", err)
		}
		c.body = []byte(b)
		if c.ctype == "" {
			c.ctype = "application/json"
		}
	}
	body, hdr, err := a.send(ctx, c)
	if err != nil {
		var he *httpError
		if errors.As(err, &he) && (he.status == http.StatusUnauthorized || he.status == http.StatusForbidden) {
			return fmt.Errorf("login as %q refused: %w", a.cfg.Username, err)
		}
		return fmt.Errorf("login: %w", err)
	}
	var token string
	switch {
	case l.TokenHeader != "":
		token = hdr.Get(l.TokenHeader)
		if token == "" {
			return fmt.Errorf("login: the answer has no %s header", l.TokenHeader)
		}
	case l.TokenPath != "":
		v := gjson.GetBytes(body, l.TokenPath)
		if v.Type != gjson.String || v.Str == "" {
			return fmt.Errorf("login: no token at %s in the answer: %s", l.TokenPath, shorten(redactJSON(body)))
		}
		token = v.Str
	}
	a.mu.Lock()
	a.session, a.loggedIn = token, true
	a.mu.Unlock()
	return nil
}

// redactJSON hides string values in an answer quoted in an error: a login
// answer that lacks the expected token may still hold another secret.
func redactJSON(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return "(not JSON)"
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			for k, e := range t {
				t[k] = walk(e)
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e)
			}
		case string:
			return "…"
		}
		return x
	}
	out, _ := json.Marshal(walk(v))
	return string(out)
}

// logout ends the session, if the definition says how.
func (a *api) logout(ctx context.Context) error {
	lo := a.cfg.def.Auth.Logout
	a.mu.Lock()
	open := a.loggedIn
	a.mu.Unlock()
	if a.cfg.def.Auth.Type != "session" || lo == nil || !open {
		return nil
	}
	path, err := render(a.cfg.tmpl.logout, a.creds())
	if err != nil {
		return err
	}
	_, _, err = a.send(ctx, call{method: lo.Method, path: path, anyBody: true})
	a.dropAuth()
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

var templateFuncs = template.FuncMap{
	"json": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b), err
	},
	"b64":      func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"md5":      func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }, //nolint:gosec // see import
	"sha256":   func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) },
	"urlquery": url.QueryEscape,
}

func parseLogin(a *Auth) (*loginTemplates, error) {
	var errs []error
	parse := func(name, text string) *template.Template {
		if text == "" {
			return nil
		}
		t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("auth: login %s: %w", name, err))
		}
		return t
	}
	t := &loginTemplates{path: parse("path", a.Login.Path), body: parse("body", a.Login.Body), headers: map[string]*template.Template{}}
	for k, v := range a.Login.Headers {
		t.headers[k] = parse("headers."+k, v)
	}
	if a.Logout != nil {
		t.logout = parse("logout path", a.Logout.Path)
	}
	return t, errors.Join(errs...)
}

func render(t *template.Template, cr credentials) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.Execute(&b, cr); err != nil {
		return "", err
	}
	return b.String(), nil
}
