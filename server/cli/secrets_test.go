package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server"
	"github.com/kpilot/kpilot/server/store"
)

// TestRotateAndRetireSecretsKey: rotate-secrets-key seals every secret
// with a new key and keeps the old one; the secrets read and are found
// by before and after; retire-secrets-keys then removes the old key, and
// the store opens and reads everything with the new key alone.
func TestRotateAndRetireSecretsKey(t *testing.T) {
	ctx := t.Context()
	cfgPath := config(t)
	cfg, err := server.LoadConfig(cfgPath)
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	st, err := server.OpenStore(ctx, cfg, log)
	require.NoError(t, err)
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &o))
	ouKey, err := st.OUKey(ctx, o.RootOU)
	require.NoError(t, err)
	h := store.Webhook{OrgID: o.ID, URL: "https://hooks.example/x", Secret: "kpwh_signing-secret", Events: []string{"*"}}
	require.NoError(t, st.CreateWebhook(ctx, &h))
	require.NoError(t, st.Close())
	keyLines := func() []string {
		b, err := os.ReadFile(cfg.SecretsKeyFile)
		require.NoError(t, err)
		var ids []string
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				ids = append(ids, strings.Fields(l)[0])
			}
		}
		return ids
	}
	check := func() {
		t.Helper()
		st, err := server.OpenStore(ctx, cfg, log)
		require.NoError(t, err)
		defer st.Close()
		k, err := st.OUKey(ctx, o.RootOU)
		require.NoError(t, err)
		require.Equal(t, ouKey, k)
		u, err := st.OUByKey(ctx, ouKey)
		require.NoError(t, err)
		require.Equal(t, o.RootOU, u.ID)
		w, err := st.Webhook(ctx, h.ID)
		require.NoError(t, err)
		require.Equal(t, "kpwh_signing-secret", w.Secret)
	}
	old := keyLines()
	require.Len(t, old, 1)

	code, out, errOut := run(t, "rotate-secrets-key", "--config", cfgPath)
	require.Equal(t, 0, code, errOut)
	ids := keyLines()
	require.Len(t, ids, 2)
	require.Equal(t, old[0], ids[1], "the old key stays, second")
	require.Contains(t, out, "current key: "+ids[0])
	require.Contains(t, out, "secrets sealed anew: 2")
	require.Contains(t, out, "previous keys kept: "+old[0])
	check()

	code, out, errOut = run(t, "retire-secrets-keys", "--config", cfgPath)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "keys removed: "+old[0])
	require.Equal(t, ids[:1], keyLines())
	check()

	require.NoError(t, os.Chmod(cfg.SecretsKeyFile, 0o604))
	code, _, errOut = run(t, "rotate-secrets-key", "--config", cfgPath)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "secrets key file "+cfg.SecretsKeyFile+" may be read or written by other users")
	require.NoError(t, os.Remove(cfg.SecretsKeyFile))
	code, _, errOut = run(t, "rotate-secrets-key", "--config", cfgPath)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "secrets key file "+filepath.Join(filepath.Dir(cfgPath), "secrets.key"))
	require.Contains(t, errOut, "no such file")
}
