package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/api"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/kpis"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/mail/mailtest"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/store/sqlstore/sqlitetest"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/webhook"
)

// world is a server with every kind of caller the visibility rules know:
//
//	Acme (customer, consent given): root OU ─ branch OU, spare OU (empty)
//	  a_root "Acme ESX" in root; a_branch "Acme NAS" in branch
//	  channel partners: S1 (default reseller and service), R3 (listed, nothing assigned)
//	  assignment: a_branch service → S1; device group "Core" = {a_root}
//	  users: acme_admin, acme_viewer (root); branch_admin (branch)
//	Globex (customer, no consent): g1 "Globex Switch"; default reseller W
//	R1 (reseller): created grant on a_root; users r1_admin, r1_viewer
//	R3 (reseller, no grant), S1 (service partner), D (distributor)
//	R4 (reseller): its system-key grant on a_branch was revoked
//	W (reseller): Globex's default partner, but Globex withdrew consent
type world struct {
	t     *testing.T
	url   string
	store store.Store
	smtp  *mailtest.Server
	reg   *prometheus.Registry

	orgs     map[string]store.Organization
	tokens   map[string]string // caller → session token ("" for anonymous)
	users    map[string]string // caller → user id
	assets   map[string]store.Asset
	branch   store.OU
	spare    store.OU
	r1Grant  store.Grant
	r4Grant  store.Grant
	assign   store.ChannelAssignment
	group    store.DeviceGroup
	invite   store.Invitation // into the branch OU
	hqInvite store.Invitation // into Acme's root OU
	token    string           // acme_admin's API token id
	// findings: check-up findings on a_root, a_branch and g1, and one of
	// an Acme agent in its root OU.
	findings map[string]store.Finding
	webhook  store.Webhook        // Acme's
	channel  store.Webhook        // Acme's Slack notification channel
	sub      store.Webhook        // acme_viewer's subscription
	schedule store.ReportSchedule // acme_admin's
	tsdb     *tsdb.Influx
	// hooks queues the world's webhook deliveries; tests send them with
	// SendDue. Receivers on 127.0.0.1 are allowed.
	hooks *webhook.Dispatcher
	api   *api.API
}

// passwordHash is the bcrypt hash of every world user's password, made
// once: bcrypt is slow on purpose, more so under the race detector.
var passwordHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword("correct-horse-battery")
	if err != nil {
		panic(err)
	}
	return h
})

// callers, in the order the matrix reports them.
var callers = []string{"anonymous", "acme_admin", "acme_viewer", "branch_admin", "globex_admin",
	"r1_admin", "r1_viewer", "r3_admin", "s1_admin", "d_admin", "r4_admin", "w_admin"}

func newWorld(t *testing.T, limits ...func(*api.Limits)) *world {
	t.Helper()
	return buildWorld(t, nil, limits...)
}

// newWorldInflux is newWorld with a real influxd behind the API.
func newWorldInflux(t *testing.T, influx *devenv.Influxd) *world {
	t.Helper()
	return buildWorld(t, influx)
}

// newWorldReads is newWorld with KPI reads going to url (a fake
// InfluxDB) with the given query timeout.
func newWorldReads(t *testing.T, url string, queryTimeout time.Duration) *world {
	t.Helper()
	return buildWorldTSDB(t, tsdb.Options{URL: url, Bucket: "kpilot/autogen", Timeout: time.Second, QueryTimeout: queryTimeout})
}

func buildWorld(t *testing.T, influx *devenv.Influxd, limits ...func(*api.Limits)) *world {
	t.Helper()
	opts := tsdb.Options{URL: "http://127.0.0.1:1", Bucket: "kpilot/autogen", Timeout: time.Second}
	if influx != nil {
		opts.URL, opts.Bucket = influx.URL, influx.Bucket
	}
	return buildWorldTSDB(t, opts, limits...)
}

func buildWorldTSDB(t *testing.T, opts tsdb.Options, limits ...func(*api.Limits)) *world {
	t.Helper()
	ctx := t.Context()
	st := sqlitetest.Open(t, filepath.Join(t.TempDir(), "k.db"), discard)
	w := &world{t: t, store: st, smtp: mailtest.Start(t), reg: prometheus.NewRegistry(),
		orgs: map[string]store.Organization{}, tokens: map[string]string{"anonymous": ""},
		users: map[string]string{}, assets: map[string]store.Asset{}}

	org := func(key, name string, kind store.OrgKind, pid string, consent bool) store.Organization {
		o := store.Organization{Name: name, Kind: kind, PartnerID: pid, ChannelConsent: consent}
		require.NoError(t, st.CreateOrganization(ctx, &o))
		w.orgs[key] = o
		return o
	}
	acme := org("acme", "Acme GmbH", store.Customer, "", true)
	globex := org("globex", "Globex AG", store.Customer, "", false)
	r1 := org("r1", "Reseller One", store.Reseller, "P-R1", false)
	r3 := org("r3", "Reseller Three", store.Reseller, "P-R3", false)
	s1 := org("s1", "Service One", store.Reseller, "P-S1", false)
	org("d", "Distri", store.Distributor, "P-D", false)
	r4 := org("r4", "Reseller Four", store.Reseller, "P-R4", false)
	wo := org("w", "Withdrawn Partner", store.Reseller, "P-W", false)

	w.branch = store.OU{OrgID: acme.ID, ParentID: acme.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &w.branch))
	w.spare = store.OU{OrgID: acme.ID, ParentID: acme.RootOU, Name: "Spare"}
	require.NoError(t, st.CreateOU(ctx, &w.spare))

	hash := passwordHash()
	now := time.Now()
	user := func(caller, orgKey, ou string, role store.Role) {
		o := w.orgs[orgKey]
		if ou == "" {
			ou = o.RootOU
		}
		u := store.User{Email: caller + "@example.com", PasswordHash: hash}
		require.NoError(t, st.CreateUser(ctx, &u))
		require.NoError(t, st.AddMembership(ctx, store.Membership{UserID: u.ID, OrgID: o.ID, OUID: ou, Role: role}))
		tok, th := auth.NewToken(auth.PrefixSession)
		require.NoError(t, st.CreateSession(ctx, store.Session{TokenHash: th, UserID: u.ID, OrgID: o.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		w.tokens[caller], w.users[caller] = tok, u.ID
	}
	user("acme_admin", "acme", "", store.Admin)
	user("acme_viewer", "acme", "", store.Viewer)
	user("branch_admin", "acme", w.branch.ID, store.Admin)
	user("globex_admin", "globex", "", store.Admin)
	user("r1_admin", "r1", "", store.Admin)
	user("r1_viewer", "r1", "", store.Viewer)
	user("r3_admin", "r3", "", store.Admin)
	user("s1_admin", "s1", "", store.Admin)
	user("d_admin", "d", "", store.Admin)
	user("r4_admin", "r4", "", store.Admin)
	user("w_admin", "w", "", store.Admin)

	asset := func(key, orgKey, ou, name string) store.Asset {
		a := store.Asset{OrgID: w.orgs[orgKey].ID, OUID: ou, Name: name, Category: "server"}
		require.NoError(t, st.CreateAsset(ctx, &a, nil))
		w.assets[key] = a
		return a
	}
	aRoot := asset("a_root", "acme", acme.RootOU, "Acme ESX")
	aBranch := asset("a_branch", "acme", w.branch.ID, "Acme NAS")
	asset("g1", "globex", globex.RootOU, "Globex Switch")

	w.r1Grant = store.Grant{AssetID: aRoot.ID, CustomerOrgID: acme.ID, PartnerOrgID: r1.ID, Kind: store.GrantCreated, GrantedBy: w.users["r1_admin"]}
	require.NoError(t, st.CreateGrant(ctx, &w.r1Grant))
	w.r4Grant = store.Grant{AssetID: aBranch.ID, CustomerOrgID: acme.ID, PartnerOrgID: r4.ID, Kind: store.GrantSystemKey, GrantedBy: w.users["r4_admin"]}
	require.NoError(t, st.CreateGrant(ctx, &w.r4Grant))
	require.NoError(t, st.RevokeGrant(ctx, w.r4Grant.ID, w.users["acme_admin"], now))

	require.NoError(t, st.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: acme.ID, PartnerOrgID: s1.ID, DefaultReseller: true, DefaultService: true, AddedBy: "t"}))
	require.NoError(t, st.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: acme.ID, PartnerOrgID: r3.ID, AddedBy: "t"}))
	require.NoError(t, st.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: globex.ID, PartnerOrgID: wo.ID, DefaultReseller: true, DefaultService: true, AddedBy: "t"}))
	w.assign = store.ChannelAssignment{CustomerOrgID: acme.ID, PartnerOrgID: s1.ID, Role: store.RoleService, AssetID: aBranch.ID, AssignedBy: "t"}
	require.NoError(t, st.SetChannelAssignment(ctx, &w.assign))
	w.group = store.DeviceGroup{OrgID: acme.ID, Name: "Core", AssetIDs: []string{aRoot.ID}}
	require.NoError(t, st.CreateDeviceGroup(ctx, &w.group))

	_, ih := auth.NewToken(auth.PrefixInvitation)
	w.invite = store.Invitation{TokenHash: ih, Kind: store.InviteUser, Email: "new@acme.example", OrgID: acme.ID, OUID: w.branch.ID,
		Role: store.Viewer, InvitedBy: w.users["acme_admin"], InvitedByOrg: acme.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, st.CreateInvitation(ctx, &w.invite))
	_, ih = auth.NewToken(auth.PrefixInvitation)
	w.hqInvite = store.Invitation{TokenHash: ih, Kind: store.InviteUser, Email: "hq@acme.example", OrgID: acme.ID, OUID: acme.RootOU,
		Role: store.Viewer, InvitedBy: w.users["acme_admin"], InvitedByOrg: acme.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, st.CreateInvitation(ctx, &w.hqInvite))
	tok := store.APIToken{TokenHash: "unused", UserID: w.users["acme_admin"], OrgID: acme.ID, Name: "ci", Hint: "kpt_xxxx", CreatedAt: now}
	require.NoError(t, st.CreateAPIToken(ctx, &tok))
	w.token = tok.ID

	w.findings = map[string]store.Finding{}
	finding := func(orgKey string, r store.FindingResult) {
		changed, err := st.ReconcileFindings(ctx, w.orgs[orgKey].ID, []store.FindingResult{r}, now)
		require.NoError(t, err)
		require.Len(t, changed.Opened, 1)
	}
	// Reconciling replaces what is open: record Acme's findings at once.
	var acmeResults []store.FindingResult
	for _, key := range []string{"a_root", "a_branch"} {
		acmeResults = append(acmeResults, store.FindingResult{RuleID: "storage-used", Kind: "storage_used", AssetID: w.assets[key].ID,
			OUID: w.assets[key].OUID, Subject: "storage,descr=/", Severity: store.SeverityWarning, Text: "Storage / is 90% full"})
	}
	acmeResults = append(acmeResults, store.FindingResult{RuleID: "agent-silent", Kind: "agent_silent", AgentID: "0b7c1f5e-0000-4000-8000-000000000001",
		OUID: acme.RootOU, Severity: store.SeverityWarning, Text: "Agent has sent nothing for 1 hour"})
	_, err := st.ReconcileFindings(ctx, acme.ID, acmeResults, now)
	require.NoError(t, err)
	finding("globex", store.FindingResult{RuleID: "health", Kind: "health", AssetID: w.assets["g1"].ID, OUID: globex.RootOU,
		Subject: "server_health health_code", Severity: store.SeverityCritical, Text: "Health is Critical"})
	for _, org := range []string{"acme", "globex"} {
		fs, err := st.Findings(ctx, store.FindingFilter{OrgID: w.orgs[org].ID, Agents: true})
		require.NoError(t, err)
		for _, f := range fs {
			key := "agent"
			for k, as := range w.assets {
				if as.ID == f.AssetID {
					key = k
				}
			}
			w.findings[key] = f
		}
	}

	w.webhook = store.Webhook{OrgID: acme.ID, URL: "http://127.0.0.1:9/acme", Secret: "kpwh_test", Events: []string{"finding.opened"},
		CreatedBy: w.users["acme_admin"], CreatedAt: now}
	require.NoError(t, st.CreateWebhook(ctx, &w.webhook))
	w.channel = store.Webhook{OrgID: acme.ID, Kind: store.KindSlack, URL: "https://hooks.slack.example/…",
		Secret: "https://hooks.slack.example/services/x", Events: []string{"finding.*"}, CreatedBy: w.users["acme_admin"], CreatedAt: now}
	require.NoError(t, st.CreateWebhook(ctx, &w.channel))
	w.sub = store.Webhook{OrgID: acme.ID, Kind: store.KindEmail, UserID: w.users["acme_viewer"], Events: []string{"*"},
		CreatedBy: w.users["acme_viewer"], CreatedAt: now}
	require.NoError(t, st.CreateWebhook(ctx, &w.sub))

	w.schedule = store.ReportSchedule{OrgID: acme.ID, UserID: w.users["acme_admin"], Template: "inventory", Format: "pdf",
		Every: "weekly", Recipients: []string{"boss@acme.example"}, NextRunAt: now.Add(24 * time.Hour), CreatedAt: now}
	require.NoError(t, st.CreateReportSchedule(ctx, &w.schedule))

	sender, err := mail.NewSMTP("kpilot <noreply@kpilot.example>", mail.SMTPOptions{Host: w.smtp.Host, Port: w.smtp.Port,
		Username: w.smtp.Username, Password: w.smtp.Password, CAFile: w.smtp.CAFile})
	require.NoError(t, err)
	ts := tsdb.New(opts)
	t.Cleanup(ts.Close)
	w.tsdb = ts
	l := api.Limits{SessionTTL: time.Hour}
	for _, f := range limits {
		f(&l)
	}
	mux := http.NewServeMux()
	w.hooks = webhook.New(st, webhook.Options{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		FirstRetry: time.Minute, MaxAttempts: 3, Timeout: 5 * time.Second, Mail: sender, PublicURL: "https://kpilot.example"}, discard, w.reg)
	w.api = api.New(st, ts, l, discard, w.reg, api.WithMail(sender, "https://kpilot.example"), api.WithWebhooks(w.hooks),
		api.WithKPIs(kpis.New(st, testCatalog(t), kpis.Options{})))
	w.api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

type reply struct {
	code   int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do calls the API as caller (a key of w.tokens, or a raw bearer token).
func (w *world) do(caller, method, path string, body any) reply {
	w.t.Helper()
	var rd io.Reader
	if raw, ok := body.([]byte); ok {
		rd = bytes.NewReader(raw) // sent as it is (YAML, say)
	} else if body != nil {
		b, err := json.Marshal(body)
		require.NoError(w.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(w.t.Context(), method, w.url+path, rd)
	require.NoError(w.t, err)
	tok, ok := w.tokens[caller]
	if !ok {
		tok = caller
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	out := reply{code: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// names returns the "name" of every element of the list at key.
func names(r reply, key string) []string {
	out := []string{}
	list, _ := r.body[key].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		out = append(out, m["name"].(string))
	}
	return out
}

var keyInMail = regexp.MustCompile(`kp(ou|sk)_[A-Za-z0-9_-]{43}`)
var linkInMail = regexp.MustCompile(`#(kp[ir]_[A-Za-z0-9_-]{43})`)

func newTestAPI(t *testing.T) *api.API {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "routes.db"), discard)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return api.New(st, nil, api.Limits{}, discard, prometheus.NewRegistry())
}
