package portal_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kpilot/kpilot/server/store/sqlstore/sqlitetest"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
	"github.com/kpilot/kpilot/server"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/mail/mailtest"
	"github.com/kpilot/kpilot/server/store"
)

// site is a real kpilot-server (SQLite, a real influxd, mail to a test
// SMTP server) on 127.0.0.1 with a few tenants.
type site struct {
	t      testing.TB
	url    string
	store  store.Store
	smtp   *mailtest.Server
	influx *devenv.Influxd
	orgs   map[string]store.Organization
	// assets by name
	assets map[string]store.Asset
}

const password = "portal-test-password"

func newSite(t testing.TB, opts ...func(*server.Config)) *site {
	t.Helper()
	influx := devenv.Influx(t)
	smtp := mailtest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Database.Path = filepath.Join(cfg.DataDir, "kpilot.db")
	sqlitetest.Prepare(t, cfg.Database.Path)
	cfg.InfluxDB.URL, cfg.InfluxDB.Bucket = influx.URL, influx.Bucket
	cfg.PublicURL = base
	cfg.MetricsListen = "" // tests run side by side: no fixed port
	cfg.Mail.SMTP = server.SMTPConfig{Host: smtp.Host, Port: smtp.Port, Username: smtp.Username,
		Password: yamlconf.Secret(smtp.Password), CAFile: smtp.CAFile}
	for _, o := range opts {
		o(&cfg)
	}
	require.NoError(t, cfg.Validate())
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	s := &site{t: t, url: base, store: srv.Store(), smtp: smtp, influx: influx, orgs: map[string]store.Organization{}, assets: map[string]store.Asset{}}
	s.seed()
	return s
}

func (s *site) seed() {
	ctx := s.t.Context()
	org := func(key, name string, kind store.OrgKind, pid string) store.Organization {
		o := store.Organization{Name: name, Kind: kind, PartnerID: pid, ChannelConsent: true}
		require.NoError(s.t, s.store.CreateOrganization(ctx, &o))
		s.orgs[key] = o
		return o
	}
	org("acme", "Acme GmbH", store.Customer, "")
	org("globex", "Globex AG", store.Customer, "")
	org("r1", "Reseller One", store.Reseller, "KP-1111-1111")
	org("r2", "Reseller Two", store.Reseller, "KP-2222-2222")
	s.user("admin@acme.example", "acme", store.Admin)
	s.user("viewer@acme.example", "acme", store.Viewer)
	s.user("admin@globex.example", "globex", store.Admin)
	s.user("admin@r1.example", "r1", store.Admin)
	s.user("admin@r2.example", "r2", store.Admin)
	s.asset("acme", "Acme ESX", "server")
	s.asset("acme", "Acme NAS", "storage")
	s.asset("globex", "Globex Secret Switch", "network")
}

func (s *site) user(email, orgKey string, role store.Role) {
	h, err := auth.HashPassword(password)
	require.NoError(s.t, err)
	u := store.User{Email: email, PasswordHash: h}
	require.NoError(s.t, s.store.CreateUser(s.t.Context(), &u))
	o := s.orgs[orgKey]
	require.NoError(s.t, s.store.AddMembership(s.t.Context(), store.Membership{UserID: u.ID, OrgID: o.ID, OUID: o.RootOU, Role: role}))
}

func (s *site) asset(orgKey, name, category string) store.Asset {
	o := s.orgs[orgKey]
	a := store.Asset{OrgID: o.ID, OUID: o.RootOU, Name: name, Category: category, Manufacturer: "HPE"}
	require.NoError(s.t, s.store.CreateAsset(s.t.Context(), &a, nil))
	s.assets[name] = a
	return a
}

// browser is an HTTP client with cookies, for tests without Chromium.
type browser struct {
	t    testing.TB
	site *site
	c    *http.Client
	csrf string
}

func (s *site) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(s.t, err)
	return &browser{t: s.t, site: s, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type page struct {
	code   int
	header http.Header
	body   string
	url    string
}

func (b *browser) get(path string) page {
	b.t.Helper()
	resp, err := b.c.Get(b.site.url + path)
	require.NoError(b.t, err)
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) page {
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	if m := csrfField.FindStringSubmatch(string(raw)); m != nil {
		b.csrf = m[1]
	}
	return page{code: resp.StatusCode, header: resp.Header, body: string(raw), url: resp.Request.URL.Path}
}

// post submits a form like a browser of the portal's own pages does
// (same-origin), with the page's form token unless form sets csrf.
func (b *browser) post(path string, form url.Values, header ...string) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest("POST", b.site.url+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	return b.read(resp)
}

func (b *browser) login(email string) {
	b.t.Helper()
	p := b.post("/login", url.Values{"email": {email}, "password": {password}})
	require.Equal(b.t, http.StatusOK, p.code, "%s", p.body)
	require.Equal(b.t, "/", p.url, "after login the dashboard")
}
