package webhook

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/seal"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

// TestTwoReplicasNotifyExactlyOnce: two servers' dispatchers on one
// PostgreSQL database both evaluate and both send at the same time; N
// assets go down and come back, and every notification reaches the HTTP
// receivers and the SMTP server exactly once.
func TestTwoReplicasNotifyExactlyOnce(t *testing.T) {
	pg := devenv.PostgreSQL(t)
	dsn, err := pg.CreateDatabase(t.Context(), "kpilot_notify_replicas")
	require.NoError(t, err)
	kr, _, err := seal.LoadOrCreate(filepath.Join(t.TempDir(), "secrets.key"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	open := func() store.Store {
		db, err := sqlstore.OpenPostgres(t.Context(), dsn, slog.New(slog.DiscardHandler), sqlstore.WithKeyring(kr))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	f := buildFixture(t, open(), Options{})
	second := New(open(), f.d.opts, slog.New(slog.DiscardHandler), nil)
	second.SetClock(f.d.now)
	replicas := []*Dispatcher{f.d, second}

	hook, slack := newReceiver(t, 204), newReceiver(t, 200)
	f.channel(store.Webhook{Kind: store.KindWebhook, URL: hook.URL, Secret: "kpwh_s"})
	f.channel(store.Webhook{Kind: store.KindSlack, URL: "d", Secret: slack.URL})
	f.channel(store.Webhook{Kind: store.KindEmail, URL: "mailto:ops@example.com"})
	f.subscribe(f.user("root@acme.example", f.cust, "", store.Admin), f.cust, store.Webhook{})

	const n = 8
	var results []store.FindingResult
	for i := range n {
		a := store.Asset{OrgID: f.cust.ID, OUID: f.cust.RootOU, Name: fmt.Sprintf("sw-%02d", i), Category: "network"}
		require.NoError(t, f.st.CreateAsset(t.Context(), &a, nil))
		results = append(results, down(a))
	}
	// Each replica evaluates (the lease would let one at a time; here
	// both at once, the harder case) and sends, concurrently.
	both := func(results []store.FindingResult) {
		var wg sync.WaitGroup
		for _, d := range replicas {
			wg.Go(func() {
				rec, err := d.store.ReconcileFindings(t.Context(), f.cust.ID, results, f.now)
				require.NoError(t, err)
				d.FindingsChanged(t.Context(), f.cust.ID, rec)
				for range 3 {
					require.NoError(t, d.SendDue(t.Context()))
				}
			})
		}
		wg.Wait()
		for _, d := range replicas {
			require.NoError(t, d.SendDue(t.Context()))
		}
	}
	both(results)
	both(nil)

	const events = 4 * n // opened, asset.down, resolved, asset.up
	seen := map[string]int{}
	for i, b := range hook.got() {
		d := b["data"].(map[string]any)
		seen["hook "+b["event"].(string)+" "+d["id"].(string)]++
		seen["hook delivery "+hook.hdrs[i].Get(HeaderDelivery)]++
	}
	for _, b := range slack.got() {
		seen["slack "+b["text"].(string)]++
	}
	mails := f.smtp.Messages()
	for _, m := range mails {
		seen["mail "+strings.Join(m.To, ",")+" "+m.Subject]++
	}
	for k, c := range seen {
		require.Equal(t, 1, c, "%s received %d times", k, c)
	}
	require.Len(t, hook.got(), events)
	require.Len(t, slack.got(), events)
	require.Len(t, mails, 2*events, "the channel's address and the subscriber's")
}
