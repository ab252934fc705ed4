package webhook

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/mail/mailtest"
	"github.com/kpilot/kpilot/server/seal"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

const publicURL = "https://kpilot.example"

// fixture is a customer with a branch OU and an asset in each, its
// service partner and reseller (by channel consent), another customer,
// a dispatcher on a real SQLite store and a real SMTP server.
type fixture struct {
	t        *testing.T
	st       store.Store
	d        *Dispatcher
	smtp     *mailtest.Server
	now      time.Time
	cust     store.Organization
	branch   store.OU
	a1, a2   store.Asset // a1 in the root OU (server), a2 in the branch (storage)
	service  store.Organization
	reseller store.Organization
	other    store.Organization
}

func loopback() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	dir := t.TempDir()
	kr, _, err := seal.LoadOrCreate(filepath.Join(dir, "secrets.key"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "kpilot.db"), slog.New(slog.DiscardHandler), sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return buildFixture(t, st, opts)
}

func buildFixture(t *testing.T, st store.Store, opts Options) *fixture {
	t.Helper()
	ctx := t.Context()
	f := &fixture{t: t, st: st, smtp: mailtest.Start(t), now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	if opts.Mail == nil {
		sender, err := mail.NewSMTP("kpilot@example.com", mail.SMTPOptions{Host: f.smtp.Host, Port: f.smtp.Port,
			Username: f.smtp.Username, Password: f.smtp.Password, CAFile: f.smtp.CAFile})
		require.NoError(t, err)
		opts.Mail = sender
	}
	if opts.AllowedNetworks == nil {
		opts.AllowedNetworks = loopback()
	}
	opts.PublicURL = publicURL
	f.d = New(st, opts, slog.New(slog.DiscardHandler), nil)
	f.d.SetClock(func() time.Time { return f.now })

	f.cust = store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &f.cust))
	f.branch = store.OU{OrgID: f.cust.ID, ParentID: f.cust.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &f.branch))
	f.a1 = store.Asset{OrgID: f.cust.ID, OUID: f.cust.RootOU, Name: "db-01", Category: "server"}
	require.NoError(t, st.CreateAsset(ctx, &f.a1, nil))
	f.a2 = store.Asset{OrgID: f.cust.ID, OUID: f.branch.ID, Name: "nas-02", Category: "storage"}
	require.NoError(t, st.CreateAsset(ctx, &f.a2, nil))

	f.service = store.Organization{Name: "ServiceCo", Kind: store.Reseller, PartnerID: "P-SERVICE"}
	require.NoError(t, st.CreateOrganization(ctx, &f.service))
	f.reseller = store.Organization{Name: "ResellCo", Kind: store.Reseller, PartnerID: "P-RESELL"}
	require.NoError(t, st.CreateOrganization(ctx, &f.reseller))
	require.NoError(t, st.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: f.cust.ID, PartnerOrgID: f.service.ID, AddedAt: f.now}))
	require.NoError(t, st.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: f.cust.ID, PartnerOrgID: f.reseller.ID, AddedAt: f.now}))
	require.NoError(t, st.SetChannelDefaults(ctx, f.cust.ID, f.service.ID, false, true))
	require.NoError(t, st.SetChannelDefaults(ctx, f.cust.ID, f.reseller.ID, true, false))
	require.NoError(t, st.SetChannelConsent(ctx, f.cust.ID, true))
	f.cust, _ = st.Organization(ctx, f.cust.ID)

	f.other = store.Organization{Name: "Other", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &f.other))
	return f
}

// user adds a user with a membership at ou of org.
func (f *fixture) user(email string, org store.Organization, ouID string, role store.Role) store.User {
	f.t.Helper()
	u := store.User{Email: email, PasswordHash: "h"}
	require.NoError(f.t, f.st.CreateUser(f.t.Context(), &u))
	if ouID == "" {
		ouID = org.RootOU
	}
	require.NoError(f.t, f.st.AddMembership(f.t.Context(), store.Membership{UserID: u.ID, OrgID: org.ID, OUID: ouID, Role: role}))
	return u
}

// subscribe gives u a subscription in org.
func (f *fixture) subscribe(u store.User, org store.Organization, sub store.Webhook) store.Webhook {
	f.t.Helper()
	sub.OrgID, sub.UserID, sub.Kind, sub.CreatedBy, sub.CreatedAt = org.ID, u.ID, store.KindEmail, u.ID, f.now
	if sub.Events == nil {
		sub.Events = []string{"*"}
	}
	require.NoError(f.t, f.st.CreateWebhook(f.t.Context(), &sub))
	return sub
}

// channel adds an organization's channel.
func (f *fixture) channel(h store.Webhook) store.Webhook {
	f.t.Helper()
	if h.OrgID == "" {
		h.OrgID = f.cust.ID
	}
	if h.Events == nil {
		h.Events = []string{"*"}
	}
	h.CreatedAt = f.now
	require.NoError(f.t, f.st.CreateWebhook(f.t.Context(), &h))
	return h
}

// evaluate records one check-up evaluation of the customer saying
// results, and publishes what changed.
func (f *fixture) evaluate(results ...store.FindingResult) store.Reconciled {
	f.t.Helper()
	rec, err := f.st.ReconcileFindings(f.t.Context(), f.cust.ID, results, f.now)
	require.NoError(f.t, err)
	f.d.FindingsChanged(f.t.Context(), f.cust.ID, rec)
	return rec
}

func down(a store.Asset) store.FindingResult {
	return store.FindingResult{RuleID: "unreachable", Kind: "unreachable", AssetID: a.ID, OUID: a.OUID,
		Severity: store.SeverityCritical, Text: "not reachable for 10 minutes"}
}

func full(a store.Asset) store.FindingResult {
	return store.FindingResult{RuleID: "volume_full", Kind: "threshold", AssetID: a.ID, OUID: a.OUID, Subject: "/var",
		Severity: store.SeverityWarning, Text: "volume /var is 93% full"}
}

func (f *fixture) send() {
	f.t.Helper()
	require.NoError(f.t, f.d.SendDue(f.t.Context()))
}

// mailsTo returns the subjects of the mails each address received.
func (f *fixture) mailsTo() map[string][]string {
	out := map[string][]string{}
	for _, m := range f.smtp.Messages() {
		for _, to := range m.To {
			out[to] = append(out[to], m.Subject)
		}
	}
	return out
}

// deliveries returns a channel's deliveries by event.
func (f *fixture) deliveries(h store.Webhook) map[string][]store.WebhookDelivery {
	f.t.Helper()
	ds, err := f.st.Deliveries(f.t.Context(), h.ID, 500)
	require.NoError(f.t, err)
	out := map[string][]store.WebhookDelivery{}
	for _, v := range ds {
		out[v.Event] = append(out[v.Event], v)
	}
	return out
}

// receiver is an HTTP endpoint on 127.0.0.1 keeping what it receives.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	hdrs   []http.Header
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		r.mu.Lock()
		r.bodies, r.hdrs = append(r.bodies, m), append(r.hdrs, req.Header.Clone())
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

// hangHandler answers only when release closes.
func hangHandler(release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
}

func mustSMTP(t *testing.T, addr string) mail.Sender {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	s, err := mail.NewSMTP("kpilot@example.com", mail.SMTPOptions{Host: host, Port: p, TLS: "none", Timeout: 2 * time.Second})
	require.NoError(t, err)
	return s
}
