package webhook

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/seal"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

// TestDeliveriesSignedWithSealedSecret: a webhook secret stored sealed
// still signs deliveries, before and after the secrets key is rotated.
func TestDeliveriesSignedWithSealedSecret(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	kr, _, err := seal.LoadOrCreate(filepath.Join(dir, "secrets.key"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "kpilot.db"), slog.New(slog.DiscardHandler), sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })

	type received struct {
		h    http.Header
		body []byte
	}
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Header.Clone(), b})
		mu.Unlock()
	}))
	defer srv.Close()

	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &o))
	const secret = "kpwh_receiver-knows-this"
	h := store.Webhook{OrgID: o.ID, URL: srv.URL, Secret: secret, Events: []string{"*"}}
	require.NoError(t, st.CreateWebhook(ctx, &h))
	d := New(st, Options{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, slog.New(slog.DiscardHandler), nil)

	deliver := func() received {
		t.Helper()
		stored, err := st.Webhook(ctx, h.ID)
		require.NoError(t, err)
		_, err = d.Ping(ctx, stored)
		require.NoError(t, err)
		require.NoError(t, d.SendDue(ctx))
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, got)
		return got[len(got)-1]
	}
	r := deliver()
	require.NoError(t, Verify(secret, r.h, r.body, time.Now(), time.Minute))

	_, err = kr.Rotate()
	require.NoError(t, err)
	n, err := st.ResealSecrets(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = kr.Retire()
	require.NoError(t, err)
	r = deliver()
	require.NoError(t, Verify(secret, r.h, r.body, time.Now(), time.Minute), "the same secret signs after a rotation")
	require.Len(t, got, 2)
}
