package rest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// config decodes a collector entry with {{addr}} replaced by addr.
func config(t *testing.T, yml, addr string) *Config {
	t.Helper()
	c := newConfig().(*Config)
	require.NoError(t, yamlconf.Decode([]byte(strings.ReplaceAll(yml, "{{addr}}", addr)), c))
	require.NoError(t, c.Validate())
	return c
}

func newCollector(t *testing.T, c *Config, log *slog.Logger) *collector {
	t.Helper()
	col, err := c.New(c.Targets[0], collectors.Options{Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = col.(*collector).Close() })
	return col.(*collector)
}

// valueEntry is a minimal definition: one request of /data whose "v" is
// a sample field, with the auth lines given.
func valueEntry(auth string) string {
	return `
type: rest
username: monitor
password: s3cret-pass
token: tok-123
client_id: kpilot
client_secret: cl-secret
targets: [{address: "{{addr}}", asset: a1}]
` + auth + `
requests:
  - name: data
    path: /data
    samples:
      - measurement: thing
        fields: {v: v}
`
}

func TestAuthMethods(t *testing.T) {
	tests := []struct {
		name string
		auth string
		// ok reports whether a request to /data carries valid credentials.
		ok func(r *http.Request) bool
	}{
		{"none", "auth: {type: none}", func(r *http.Request) bool { return r.Header.Get("Authorization") == "" }},
		{"basic", "auth: {type: basic}", func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "monitor" && p == "s3cret-pass"
		}},
		{"bearer", "auth: {type: bearer}", func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer tok-123" }},
		{"api_key header", "auth: {type: api_key, header: X-Api-Token}", func(r *http.Request) bool { return r.Header.Get("X-Api-Token") == "tok-123" }},
		{"api_key default header", "auth: {type: api_key}", func(r *http.Request) bool { return r.Header.Get("X-API-Key") == "tok-123" }},
		{"api_key query", "auth: {type: api_key, query_param: api_key}", func(r *http.Request) bool { return r.URL.Query().Get("api_key") == "tok-123" }},
		{"oauth2", "auth: {type: oauth2, token_url: /oauth/token, scopes: [read]}", func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer oauth-tok-1"
		}},
		{"session json token", `auth:
  type: session
  login: {path: /login, body: '{"user": {{json .Username}}, "pass": {{json .Password}}}', token_path: data.token, use_header: X-Session}`,
			func(r *http.Request) bool { return r.Header.Get("X-Session") == "sess-1" }},
		{"session header token", `auth:
  type: session
  login: {path: /login, basic_auth: true, token_header: X-RestSvcSessionId, use_header: X-RestSvcSessionId}`,
			func(r *http.Request) bool { return r.Header.Get("X-RestSvcSessionId") == "sess-1" }},
		{"session bearer form", `auth:
  type: session
  login: {path: /login, content_type: application/x-www-form-urlencoded, body: 'grant_type=password&username={{urlquery .Username}}&password={{urlquery .Password}}', token_path: access_token, prefix: "Bearer "}`,
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer sess-1" }},
		{"session cookie", `auth:
  type: session
  login: {path: /login, body: '{"user": {{json .Username}}, "pass": {{json .Password}}}'}`,
			func(r *http.Request) bool { c, err := r.Cookie("sid"); return err == nil && c.Value == "sess-1" }},
		{"session md5 path", `auth:
  type: session
  login: {method: GET, path: '/login/{{md5 (printf "%s_%s" .Username .Password)}}', token_path: status.0.response, use_header: sessionKey}`,
			func(r *http.Request) bool { return r.Header.Get("sessionKey") == "sess-1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logins, tokens atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
				logins.Add(1)
				body, _ := io.ReadAll(r.Body)
				user, pass, _ := r.BasicAuth()
				switch {
				case gjson.ValidBytes(body) && len(body) > 0:
					user, pass = gjson.GetBytes(body, "user").String(), gjson.GetBytes(body, "pass").String()
				case len(body) > 0:
					vals, err := url.ParseQuery(string(body))
					assert.NoError(t, err)
					user, pass = vals.Get("username"), vals.Get("password")
					assert.Equal(t, "password", vals.Get("grant_type"))
					assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
				}
				if user != "monitor" || pass != "s3cret-pass" {
					http.Error(w, `{"message":"bad login"}`, http.StatusUnauthorized)
					return
				}
				w.Header().Set("X-RestSvcSessionId", "sess-1")
				http.SetCookie(w, &http.Cookie{Name: "sid", Value: "sess-1", Path: "/"})
				fmt.Fprint(w, `{"data": {"token": "sess-1"}, "access_token": "sess-1"}`)
			})
			mux.HandleFunc("/login/", func(w http.ResponseWriter, r *http.Request) {
				logins.Add(1)
				if r.URL.Path != "/login/"+md5hex("monitor_s3cret-pass") {
					http.Error(w, "{}", http.StatusUnauthorized)
					return
				}
				fmt.Fprint(w, `{"status": [{"response": "sess-1", "return-code": 1}]}`)
			})
			mux.HandleFunc("/oauth/token", func(w http.ResponseWriter, r *http.Request) {
				tokens.Add(1)
				id, secret, _ := r.BasicAuth()
				if id != "kpilot" || secret != "cl-secret" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "read" {
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprint(w, `{"error": "invalid_client"}`)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"access_token": "oauth-tok-1", "token_type": "Bearer", "expires_in": 3600}`)
			})
			mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) {
				if !tt.ok(r) {
					http.Error(w, `{"message":"no"}`, http.StatusUnauthorized)
					return
				}
				fmt.Fprint(w, `{"v": 42}`)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			col := newCollector(t, config(t, valueEntry(tt.auth), srv.URL), nil)
			for range 2 {
				sink, err := collectortest.CollectOnce(t, col)
				require.NoError(t, err)
				require.Empty(t, sink.Errors)
				require.Len(t, sink.Find("thing"), 1)
				assert.Equal(t, 42.0, sink.Find("thing")[0].Fields["v"])
			}
			if strings.HasPrefix(tt.name, "session") {
				assert.EqualValues(t, 1, logins.Load(), "the session is kept between polls")
			}
			if tt.name == "oauth2" {
				assert.EqualValues(t, 1, tokens.Load(), "the token is kept while valid")
			}
		})
	}
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s)) //nolint:gosec // what the API under test uses
	return hex.EncodeToString(h[:])
}

// TestSessionRenewedOn401: an expired session is renewed once, and the
// request that met the 401 is repeated.
func TestSessionRenewedOn401(t *testing.T) {
	var logins atomic.Int32
	var valid atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		n := logins.Add(1)
		tok := "sess-" + strconv.Itoa(int(n))
		valid.Store(tok)
		fmt.Fprintf(w, `{"token": %q}`, tok)
	})
	mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+valid.Load().(string) {
			http.Error(w, `{"message":"session expired"}`, http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"v": 1}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	col := newCollector(t, config(t, valueEntry(`auth: {type: session, login: {path: /login, body: "{}", token_path: token, prefix: "Bearer "}}`), srv.URL), nil)
	for i := range 3 {
		if i == 2 {
			valid.Store("expired-by-server")
		}
		sink, err := collectortest.CollectOnce(t, col)
		require.NoError(t, err)
		require.Len(t, sink.Find("thing"), 1, "poll %d", i)
	}
	assert.EqualValues(t, 2, logins.Load())
}

// rowsServer serves 25 rows {"id": i} paged by the style given.
func rowsServer(t *testing.T, style string) *httptest.Server {
	const total, size = 25, 10
	rows := func(from int) []map[string]int {
		var out []map[string]int
		for i := from; i < min(from+size, total); i++ {
			out = append(out, map[string]int{"id": i})
		}
		return out
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var from int
		switch style {
		case "page":
			p, _ := strconv.Atoi(q.Get("page"))
			assert.Equal(t, "10", q.Get("per_page"))
			from = (p - 1) * size
		case "offset":
			from, _ = strconv.Atoi(r.Header.Get("X-Offset"))
		case "next_link", "link_header":
			from, _ = strconv.Atoi(q.Get("start"))
		case "cursor":
			if c := q.Get("continuation_token"); c != "" {
				from, _ = strconv.Atoi(strings.TrimPrefix(c, "tok"))
			}
		}
		doc := map[string]any{"items": rows(from)}
		if from+size < total {
			switch style {
			case "next_link":
				doc["_links"] = map[string]any{"next": map[string]string{"href": fmt.Sprintf("/rows?start=%d", from+size)}}
			case "link_header":
				w.Header().Set("Link", fmt.Sprintf(`</rows?start=%d>; rel="next", </rows?start=0>; rel="first"`, from+size))
			case "cursor":
				doc["continuation_token"] = fmt.Sprintf("tok%d", from+size)
			}
		}
		if style == "offset" {
			doc["total"] = total
		}
		_ = json.NewEncoder(w).Encode(doc)
	}))
}

func TestPagination(t *testing.T) {
	styles := map[string]string{
		"page":        "{type: page, param: page, size_param: per_page, size: 10}",
		"offset":      "{type: offset, in: header, param: X-Offset, size: 10, total_path: total}",
		"next_link":   "{type: next_link, next_path: _links.next.href}",
		"link_header": "{type: next_link}",
		"cursor":      "{type: cursor, param: continuation_token, next_path: continuation_token}",
	}
	for style, pg := range styles {
		t.Run(style, func(t *testing.T) {
			srv := rowsServer(t, style)
			defer srv.Close()
			c := config(t, `
type: rest
targets: [{address: "{{addr}}", asset: a1}]
requests:
  - name: rows
    path: /rows
    items: items
    paginate: `+pg+`
    samples: [{measurement: row, tags: {id: id}, fields: {id: id}}]
`, srv.URL)
			sink, err := collectortest.CollectOnce(t, newCollector(t, c, nil))
			require.NoError(t, err)
			require.Empty(t, sink.Errors)
			seen := map[string]bool{}
			for _, s := range sink.Find("row") {
				seen[s.Tags["id"]] = true
			}
			assert.Len(t, seen, 25, "every row exactly once")
			assert.Len(t, sink.Find("row"), 25)
		})
	}
}

func TestEndlessPagination(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		next := fmt.Sprintf("/rows?p=%d", i)
		if r.URL.Query().Get("loop") != "" {
			next = "/rows?loop=1" // the same link again and again
		}
		fmt.Fprintf(w, `{"items": [{"id": %d}], "next": %q}`, i, next)
	}))
	defer srv.Close()
	entry := `
type: rest
max_pages: 7
targets: [{address: "{{addr}}", asset: a1}]
requests:
  - name: rows
    path: %s
    items: items
    paginate: {type: next_link, next_path: next}
    samples: [{measurement: row, tags: {id: id}, fields: {id: id}}]
`
	sink, err := collectortest.CollectOnce(t, newCollector(t, config(t, fmt.Sprintf(entry, "/rows"), srv.URL), nil))
	require.NoError(t, err, "the rows read are used")
	require.Len(t, sink.Errors, 1)
	assert.ErrorContains(t, sink.Errors[0], "request rows: pagination did not end after max_pages (7) pages")
	assert.Len(t, sink.Find("row"), 7)

	sink, err = collectortest.CollectOnce(t, newCollector(t, config(t, fmt.Sprintf(entry, "/rows?loop=1"), srv.URL), nil))
	require.NoError(t, err)
	require.Len(t, sink.Errors, 1)
	assert.ErrorContains(t, sink.Errors[0], "pagination loops: the next link /rows?loop=1 was already followed")
}

// TestBadAnswers: each broken answer is one clear error for its request;
// the target's other request still gives its sample, and the poll ends
// within its bounds.
func TestBadAnswers(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Login page</body></html>")
		}, "the answer is not JSON (Content-Type text/html): <html><body>Login page</body></html>"},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"v": 1, "items": [{"a"`)
		}, "the answer is truncated JSON"},
		{"wrong type", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"v": "N/A"}`)
		}, `request bad: thing: field v (path v): "N/A" where a number belongs`},
		{"object where number", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"v": {"x": 1}}`)
		}, `field v (path v): {"x": 1} where a float belongs`},
		{"401", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"message": "token invalid"}`, http.StatusUnauthorized)
		}, "HTTP 401 Unauthorized (check the credentials): token invalid"},
		{"403", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error": {"message": "role readonly lacks access"}}`, http.StatusForbidden)
		}, "HTTP 403 Forbidden (the account lacks the right to read this): role readonly lacks access"},
		{"429", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}, "HTTP 429 Too Many Requests (rate limited; the API asks to retry after 120)"},
		{"500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "internal error", http.StatusInternalServerError)
		}, "HTTP 500 Internal Server Error: internal error"},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, "GET {{addr}}/bad: no answer within 300ms (request_timeout)"},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"v": 1, "pad": %q}`, strings.Repeat("x", 4096))
		}, "the answer is larger than max_response_bytes (2048)"},
		{"items not a list", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"v": 1, "rows": "none"}`)
		}, `items rows: "none" where a list belongs`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/bad", tt.handler)
			mux.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"v": 7}`) })
			srv := httptest.NewServer(mux)
			defer srv.Close()
			items := ""
			if tt.name == "items not a list" {
				items = "items: rows"
			}
			c := config(t, `
type: rest
request_timeout: 300ms
max_response_bytes: 2048
targets: [{address: "{{addr}}", asset: a1}]
requests:
  - name: bad
    path: /bad
    `+items+`
    samples: [{measurement: thing, fields: {v: v}}]
  - name: good
    path: /good
    samples: [{measurement: other, fields: {v: v}}]
`, srv.URL)
			start := time.Now()
			sink, err := collectortest.CollectOnce(t, newCollector(t, c, nil))
			require.NoError(t, err, "one request failing is a partial error")
			assert.Less(t, time.Since(start), 5*time.Second)
			require.Len(t, sink.Errors, 1, "%v", sink.Errors)
			assert.ErrorContains(t, sink.Errors[0], strings.ReplaceAll(tt.want, "{{addr}}", srv.URL))
			require.Len(t, sink.Find("other"), 1, "the other request still ran")
		})
	}
}

// TestAllRequestsFailed: a poll that reads nothing fails as a whole, and
// an unreachable API is named.
func TestAllRequestsFailed(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	c := config(t, valueEntry("auth: {type: basic}"), addr)
	sink, err := collectortest.CollectOnce(t, newCollector(t, c, nil))
	require.Error(t, err)
	assert.Equal(t, "nothing listens at "+addr+" (connection refused): is the service running, and are the address and port right?", err.Error())
	assert.Equal(t, collectors.OutcomeUnreachable, collectors.Classify(err))
	assert.Empty(t, sink.Samples)
}

// TestSecretsStayHidden: a refused login names the user, never the
// password, token or API key, in errors and in logs at debug level.
func TestSecretsStayHidden(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"denied"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	for _, auth := range []string{
		`auth: {type: session, login: {path: /login, body: '{"u": {{json .Username}}, "p": {{json .Password}}}', token_path: t}}`,
		"auth: {type: api_key, query_param: key}",
		"auth: {type: oauth2, token_url: /token}",
	} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c := config(t, valueEntry(auth), srv.URL)
		log.Debug("config", "cfg", c)
		sink, err := collectortest.CollectOnce(t, newCollector(t, c, log))
		require.Error(t, err)
		all := err.Error() + fmt.Sprint(sink.Errors) + logs.String() + fmt.Sprintf("%+v", c)
		for _, secret := range []string{"s3cret-pass", "tok-123", "cl-secret"} {
			assert.NotContains(t, all, secret, auth)
		}
		if strings.Contains(auth, "session") {
			assert.Contains(t, err.Error(), `login as "monitor" refused`)
		}
	}
}

func TestRedirectAndLinksStayOnHost(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request reached the other host: %s", r.URL)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/data":
			http.Redirect(w, r, other.URL+"/data", http.StatusFound)
		case "/rows":
			fmt.Fprintf(w, `{"items": [{"id": 1}], "next": %q}`, other.URL+"/rows?p=2")
		}
	}))
	defer srv.Close()
	c := config(t, `
type: rest
username: u
password: p
auth: {type: basic}
targets: [{address: "{{addr}}", asset: a1}]
requests:
  - name: data
    path: /data
    samples: [{measurement: thing, fields: {v: v}}]
  - name: rows
    path: /rows
    items: items
    paginate: {type: next_link, next_path: next}
    samples: [{measurement: row, fields: {id: id}}]
`, srv.URL)
	sink, err := collectortest.CollectOnce(t, newCollector(t, c, nil))
	require.NoError(t, err)
	require.Len(t, sink.Errors, 2)
	all := fmt.Sprint(sink.Errors)
	assert.Contains(t, all, "request data: GET "+srv.URL+"/data: redirect to another host")
	assert.Contains(t, all, "request rows: link "+other.URL+"/rows?p=… points to another host")
	assert.Len(t, sink.Find("row"), 1, "the first page is kept")
}

// TestEvery: a request with every runs on the first poll and then only
// when due; the inventory it feeds is sent on those polls.
func TestEvery(t *testing.T) {
	var fw atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/system", func(w http.ResponseWriter, r *http.Request) {
		fw.Add(1)
		fmt.Fprint(w, `{"serial": "SN1", "fw": "1.2"}`)
	})
	mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"v": 1}`) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := config(t, `
type: rest
category: storage
attributes: {manufacturer: Acme}
targets: [{address: "{{addr}}", asset: a1}]
requests:
  - name: system
    path: /system
    every: 1h
    inventory: {serial: serial, firmware_version: fw}
  - name: data
    path: /data
    samples: [{measurement: thing, fields: {v: v}}]
`, srv.URL)
	col := newCollector(t, c, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	col.now = func() time.Time { return now }
	sink, err := collectortest.CollectOnce(t, col)
	require.NoError(t, err)
	require.Len(t, sink.Inventories, 1)
	assert.Equal(t, map[string]any{"serial": "SN1", "firmware_version": "1.2", "manufacturer": "Acme", "category": "storage"},
		sink.Inventories[0].Attributes)
	now = now.Add(30 * time.Minute)
	sink, _ = collectortest.CollectOnce(t, col)
	assert.Empty(t, sink.Inventories)
	assert.Len(t, sink.Find("thing"), 1)
	now = now.Add(31 * time.Minute)
	sink, _ = collectortest.CollectOnce(t, col)
	assert.Len(t, sink.Inventories, 1)
	assert.EqualValues(t, 2, fw.Load())
}

// TestTLS: certificates are verified by default; ca_file pins the API's
// CA; insecure_skip_verify must be asked for.
func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"v": 3}`) }))
	defer srv.Close()
	entry := valueEntry("auth: {type: bearer}")

	_, err := collectortest.CollectOnce(t, newCollector(t, config(t, entry, srv.URL), nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate signed by unknown authority")

	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	sink, err := collectortest.CollectOnce(t, newCollector(t, config(t, entry+"ca_file: "+ca+"\n", srv.URL), nil))
	require.NoError(t, err)
	assert.Len(t, sink.Find("thing"), 1)

	sink, err = collectortest.CollectOnce(t, newCollector(t, config(t, entry+"insecure_skip_verify: true\n", srv.URL), nil))
	require.NoError(t, err)
	assert.Len(t, sink.Find("thing"), 1)
}

// FuzzExtract: no document makes field extraction panic, and a value is
// always of a type a sample field may hold.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{`{"v": 1}`, `{"v": "N/A"}`, `{"v": [1,2]}`, `{"v": {"a": null}}`, `{"v": 1e400}`, `{"v": "2026-01-01T00:00:00Z"}`, `[`, `{"v": tru`} {
		f.Add(s)
	}
	now := time.Now()
	fields := []Field{{Path: "v"}, {Path: "v", Type: "int", Unit: "MiB"}, {Path: "v", Type: "age", To: "h"},
		{Path: "v", Type: "time", Format: "unix"}, {Path: "v", Type: "bool"}, {Path: "v.#", Type: "int"},
		{Path: "v", Map: map[string]float64{"ok": 1}}}
	for i := range fields {
		if err := fields[i].validate(); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, doc string) {
		row := gjson.Parse(doc)
		for _, fl := range fields {
			for _, kind := range []string{"float", "string"} {
				v, err := fl.extract(row, kind, now)
				if err != nil {
					continue
				}
				switch x := v.(type) {
				case float64:
					if math.IsInf(x, 0) || math.IsNaN(x) {
						t.Fatalf("%+v on %q gave %v", fl, doc, x)
					}
				case int64, string, bool:
				default:
					t.Fatalf("%+v on %q gave %T", fl, doc, v)
				}
			}
		}
	})
}
