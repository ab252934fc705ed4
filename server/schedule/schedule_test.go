package schedule_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/mail/mailtest"
	"github.com/kpilot/kpilot/server/schedule"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestNextRun(t *testing.T) {
	at := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC) // a Sunday
	require.Equal(t, time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC), schedule.NextRun("daily", at))
	require.Equal(t, time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), schedule.NextRun("daily", at.Add(time.Hour)))
	require.Equal(t, time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), schedule.NextRun("weekly", at))
	require.Equal(t, time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC), schedule.NextRun("weekly", time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)))
	require.Equal(t, time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), schedule.NextRun("monthly", at))
	require.Equal(t, time.Date(2027, 1, 1, 6, 0, 0, 0, time.UTC), schedule.NextRun("monthly", time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)))
}

func TestSpan(t *testing.T) {
	for _, tt := range []struct {
		every string
		want  time.Duration
		ok    bool
	}{
		{"daily", 24 * time.Hour, true},
		{"weekly", 7 * 24 * time.Hour, true},
		{"monthly", 30 * 24 * time.Hour, true},
		{"hourly", 0, false},
	} {
		t.Run(tt.every, func(t *testing.T) {
			got, ok := schedule.Span(tt.every)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

// world is a store with a customer (Acme: "Acme ESX" in its root OU,
// "Acme NAS" in its branch), another tenant (Globex) and a reseller (R1)
// holding a grant on Acme ESX, whose admin owns the schedules.
type world struct {
	store  store.Store
	smtp   *mailtest.Server
	sender mail.Sender
	acme   store.Organization
	r1     store.Organization
	owner  string // R1's admin
	esx    store.Asset
	nas    store.Asset
	g1     store.Asset
	grant  store.Grant

	mu    sync.Mutex
	asked []visibility.Principal // whom the visibility was resolved for
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), discard)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	w := &world{store: st, smtp: mailtest.Start(t)}
	w.sender, err = mail.NewSMTP("kpilot <noreply@kpilot.example>", mail.SMTPOptions{Host: w.smtp.Host, Port: w.smtp.Port,
		Username: w.smtp.Username, Password: w.smtp.Password, CAFile: w.smtp.CAFile})
	require.NoError(t, err)
	w.acme = store.Organization{Name: "Acme GmbH", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &w.acme))
	globex := store.Organization{Name: "Globex AG", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &globex))
	w.r1 = store.Organization{Name: "Reseller One", Kind: store.Reseller, PartnerID: "P-R1"}
	require.NoError(t, st.CreateOrganization(ctx, &w.r1))
	branch := store.OU{OrgID: w.acme.ID, ParentID: w.acme.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &branch))
	asset := func(org, ou, name string) store.Asset {
		as := store.Asset{OrgID: org, OUID: ou, Name: name, Category: "server"}
		require.NoError(t, st.CreateAsset(ctx, &as, nil))
		return as
	}
	w.esx = asset(w.acme.ID, w.acme.RootOU, "Acme ESX")
	w.nas = asset(w.acme.ID, branch.ID, "Acme NAS")
	w.g1 = asset(globex.ID, globex.RootOU, "Globex Switch")
	u := store.User{Email: "r1_admin@example.com"}
	require.NoError(t, st.CreateUser(ctx, &u))
	w.owner = u.ID
	require.NoError(t, st.AddMembership(ctx, store.Membership{UserID: u.ID, OrgID: w.r1.ID, OUID: w.r1.RootOU, Role: store.Admin}))
	w.grant = store.Grant{AssetID: w.esx.ID, CustomerOrgID: w.acme.ID, PartnerOrgID: w.r1.ID, Kind: store.GrantCreated, GrantedBy: u.ID}
	require.NoError(t, st.CreateGrant(ctx, &w.grant))
	return w
}

// Set resolves p's visible set by the visibility rules (OU subtree, live
// grants) from the store, and remembers whom it was asked for.
func (w *world) Set(ctx context.Context, p visibility.Principal) (visibility.Set, error) {
	w.mu.Lock()
	w.asked = append(w.asked, p)
	w.mu.Unlock()
	ous, err := w.store.OUs(ctx, p.OrgID)
	if err != nil {
		return visibility.Set{}, err
	}
	var sh visibility.Shared
	if p.IsPartner() {
		if sh.Grants, err = w.store.Grants(ctx, store.GrantFilter{PartnerOrgID: p.OrgID, LiveOnly: true}); err != nil {
			return visibility.Set{}, err
		}
	}
	return visibility.Resolve(p, ous, sh), nil
}

// runner is the scheduler over w, with KPIs read from an InfluxDB that
// does not answer (KPI reports then fail as in an outage).
func (w *world) runner(t *testing.T, sender mail.Sender) *schedule.Runner {
	ts := tsdb.New(tsdb.Options{URL: "http://127.0.0.1:1", Bucket: "kpilot/autogen", Timeout: time.Second})
	t.Cleanup(ts.Close)
	return schedule.New(w.store, ts, w, sender, "https://kpilot.example/", discard)
}

// add stores a schedule of the owner's, due at due.
func (w *world) add(t *testing.T, template, query string, due time.Time) store.ReportSchedule {
	s := store.ReportSchedule{OrgID: w.r1.ID, UserID: w.owner, Template: template, Format: "csv", Query: query, Every: "weekly",
		Recipients: []string{"meeting@reseller.example"}, NextRunAt: due, CreatedAt: due.Add(-time.Hour)}
	require.NoError(t, w.store.CreateReportSchedule(t.Context(), &s))
	return s
}

// attachment returns the first attachment of a received message.
func attachment(t *testing.T, m mailtest.Received) (string, []byte) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Raw))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		require.NoError(t, err, "no attachment")
		if part.FileName() != "" {
			raw, err := io.ReadAll(part)
			require.NoError(t, err)
			if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
				raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
				require.NoError(t, err)
			}
			return part.FileName(), raw
		}
	}
}

// A schedule's report is mailed once per run, made as its owner sees the
// assets at that time.
func TestRunDueMailsWithTheOwnersVisibilityNow(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	due := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	s := w.add(t, "inventory", "", due)
	r := w.runner(t, w.sender)

	require.NoError(t, r.RunDue(ctx, due.Add(-time.Minute)))
	require.Empty(t, w.smtp.Messages(), "not due yet")

	require.NoError(t, r.RunDue(ctx, due.Add(time.Minute)))
	m := w.smtp.Wait(t, 1)
	require.Equal(t, []string{"meeting@reseller.example"}, m.To)
	require.Equal(t, "kpilot: Inventory report (weekly)", m.Subject)
	require.Contains(t, m.Body, "Attached is the weekly inventory report from kpilot.")
	require.Contains(t, m.Body, "https://kpilot.example/api/v1/", "the public URL without its trailing slash")
	name, data := attachment(t, m)
	require.Regexp(t, `^kpilot-inventory-\d{4}-\d{2}-\d{2}\.csv$`, name)
	require.Contains(t, string(data), w.esx.ID, "R1 holds a grant for Acme ESX")
	require.NotContains(t, string(data), w.nas.ID)
	require.NotContains(t, string(data), w.g1.ID)
	require.Equal(t, []visibility.Principal{{UserID: w.owner, OrgID: w.r1.ID, OrgKind: store.Reseller, OUID: w.r1.RootOU, Role: store.Admin}},
		w.asked, "made as the owner, in the schedule's organization")

	got, err := w.store.ReportSchedule(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, due.Add(time.Minute), got.LastRunAt.UTC())
	require.Empty(t, got.LastError)
	require.Equal(t, due.Add(7*24*time.Hour), got.NextRunAt.UTC())
	require.NoError(t, r.RunDue(ctx, due.Add(2*time.Minute)))
	require.Len(t, w.smtp.Messages(), 1, "once per run")

	// The grant is revoked: next week's report no longer shows the asset.
	require.NoError(t, w.store.RevokeGrant(ctx, w.grant.ID, "acme_admin", due))
	require.NoError(t, r.RunDue(ctx, got.NextRunAt.Add(time.Minute)))
	_, data = attachment(t, w.smtp.Wait(t, 2))
	require.NotContains(t, string(data), w.esx.ID)
}

// A report that cannot be made or mailed is recorded on its schedule for
// its admins to read, without the details that stay in the log.
func TestRunDueRecordsWhatWentWrong(t *testing.T) {
	due := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name            string
		template, query string
		setup           func(t *testing.T, w *world)
		badMail         bool
		want            string
	}{
		{name: "the scope is no longer visible", template: "inventory", query: "asset_id=NAS",
			want: "making the inventory report: not found"},
		{name: "the owner left the organization", template: "inventory",
			setup: func(t *testing.T, w *world) {
				require.NoError(t, w.store.RemoveMembership(t.Context(), w.owner, w.r1.ID))
			},
			want: "making the inventory report: the schedule's owner no longer belongs to the organization"},
		{name: "InfluxDB does not answer", template: "capacity",
			want: "making the capacity report: InfluxDB is unavailable; retry later"},
		{name: "the mail server refuses", template: "inventory", badMail: true,
			want: "mail to meeting@reseller.example: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.setup != nil {
				tt.setup(t, w)
			}
			sender := w.sender
			if tt.badMail {
				var err error
				sender, err = mail.NewSMTP("kpilot <noreply@kpilot.example>", mail.SMTPOptions{Host: w.smtp.Host, Port: w.smtp.Port,
					Username: w.smtp.Username, Password: "wrong", CAFile: w.smtp.CAFile})
				require.NoError(t, err)
			}
			s := w.add(t, tt.template, strings.ReplaceAll(tt.query, "NAS", w.nas.ID), due)
			require.NoError(t, w.runner(t, sender).RunDue(t.Context(), due))
			got, err := w.store.ReportSchedule(t.Context(), s.ID)
			require.NoError(t, err)
			if tt.badMail {
				require.True(t, strings.HasPrefix(got.LastError, tt.want), "got %q, want it to start with %q", got.LastError, tt.want)
			} else {
				require.Equal(t, tt.want, got.LastError)
			}
			require.Equal(t, due, got.LastRunAt.UTC(), "the run is recorded")
			require.Empty(t, w.smtp.Messages())
		})
	}
}

// Without a mail sender nothing is claimed: the schedules stay due for a
// server that can mail them.
func TestRunDueWithoutMail(t *testing.T) {
	w := newWorld(t)
	due := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	s := w.add(t, "inventory", "", due)
	require.NoError(t, w.runner(t, nil).RunDue(t.Context(), due))
	got, err := w.store.ReportSchedule(t.Context(), s.ID)
	require.NoError(t, err)
	require.Equal(t, due, got.NextRunAt.UTC())
	require.True(t, got.LastRunAt.IsZero())
}
