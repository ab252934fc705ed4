package sqlstore_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/seal"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

var discard = slog.New(slog.DiscardHandler)

// newKeyring returns the keyring of a fresh secrets key file.
func newKeyring(t *testing.T) *seal.Keyring {
	t.Helper()
	kr, _, err := seal.LoadOrCreate(filepath.Join(t.TempDir(), "secrets.key"), discard)
	require.NoError(t, err)
	return kr
}

// secrets are one of each kind of sealed secret, with their owners.
type secrets struct {
	orgID, ou, ouKey, asset, systemKey, hookID, hookSecret string
}

func (s secrets) plaintexts() []string { return []string{s.ouKey, s.systemKey, s.hookSecret} }

func makeSecrets(t *testing.T, st *sqlstore.DB) secrets {
	t.Helper()
	ctx := t.Context()
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &o))
	a := store.Asset{OrgID: o.ID, OUID: o.RootOU, Name: "srv1", Category: "server"}
	require.NoError(t, st.CreateAsset(ctx, &a, nil))
	s := secrets{orgID: o.ID, ou: o.RootOU, asset: a.ID, hookSecret: "kpwh_" + strings.Repeat("s3cr3t", 6)}
	var err error
	s.ouKey, err = st.OUKey(ctx, o.RootOU)
	require.NoError(t, err)
	s.systemKey, err = st.SystemKey(ctx, a.ID)
	require.NoError(t, err)
	h := store.Webhook{OrgID: o.ID, URL: "https://hooks.example/x", Secret: s.hookSecret, Events: []string{"*"}}
	require.NoError(t, st.CreateWebhook(ctx, &h))
	s.hookID = h.ID
	return s
}

// checkSecrets reads every secret back and finds its owner by it.
func checkSecrets(t *testing.T, st *sqlstore.DB, s secrets) {
	t.Helper()
	ctx := t.Context()
	k, err := st.OUKey(ctx, s.ou)
	require.NoError(t, err)
	require.Equal(t, s.ouKey, k)
	u, err := st.OUByKey(ctx, s.ouKey)
	require.NoError(t, err)
	require.Equal(t, s.ou, u.ID)
	k, err = st.SystemKey(ctx, s.asset)
	require.NoError(t, err)
	require.Equal(t, s.systemKey, k)
	a, err := st.AssetBySystemKey(ctx, s.systemKey)
	require.NoError(t, err)
	require.Equal(t, s.asset, a.ID)
	h, err := st.Webhook(ctx, s.hookID)
	require.NoError(t, err)
	require.Equal(t, s.hookSecret, h.Secret)
	hs, err := st.WebhooksOf(ctx, []string{h.OrgID})
	require.NoError(t, err)
	require.Len(t, hs, 1)
	require.Equal(t, s.hookSecret, hs[0].Secret)
}

// fileBytes is everything SQLite keeps on disk for the database at path.
func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		all = append(all, b...)
	}
	return all
}

func requireNoPlaintext(t *testing.T, raw []byte, s secrets) {
	t.Helper()
	for _, p := range s.plaintexts() {
		require.False(t, bytes.Contains(raw, []byte(p)), "the database holds the secret %s in plaintext", p[:8])
	}
}

// TestSQLiteSecretsSealedAtRest: with a key file, no OU key, system key
// or webhook secret reaches the database file in plaintext, and each is
// read back and found by as before.
func TestSQLiteSecretsSealedAtRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kpilot.db")
	kr := newKeyring(t)
	st, err := sqlstore.OpenSQLite(t.Context(), path, discard, sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	s := makeSecrets(t, st)
	checkSecrets(t, st, s)
	requireNoPlaintext(t, fileBytes(t, path), s)
	require.NoError(t, st.Close())
	requireNoPlaintext(t, fileBytes(t, path), s)

	st, err = sqlstore.OpenSQLite(t.Context(), path, discard, sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	defer st.Close()
	checkSecrets(t, st, s)
	counts, err := st.SecretKeys(t.Context())
	require.NoError(t, err)
	require.Equal(t, map[string]int{kr.Current(): 3}, counts)
}

// TestSQLitePlaintextSecretsSealedOnOpen: secrets stored in plaintext
// (before sealing existed) are sealed when the store opens with a key
// file, once, and leave no plaintext copy in the file: neither in the
// log beside it nor in the space a row left when it grew (300 system keys
// fill pages enough for SQLite to leave old cells behind without
// secure_delete).
func TestSQLitePlaintextSecretsSealedOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kpilot.db")
	st, err := sqlstore.OpenSQLite(t.Context(), path, discard)
	require.NoError(t, err)
	s := makeSecrets(t, st)
	var more []string
	for i := range 300 {
		a := store.Asset{OrgID: s.orgID, OUID: s.ou, Name: fmt.Sprint("srv-", i), Category: "server"}
		require.NoError(t, st.CreateAsset(t.Context(), &a, nil))
		k, err := st.SystemKey(t.Context(), a.ID)
		require.NoError(t, err)
		more = append(more, k)
	}
	require.NoError(t, st.Close())
	raw := fileBytes(t, path)
	for _, p := range append(s.plaintexts(), more...) {
		require.True(t, bytes.Contains(raw, []byte(p)), "without a key file the secret is stored as given")
	}
	noPlaintext := func() {
		t.Helper()
		requireNoPlaintext(t, fileBytes(t, path), s)
		raw := fileBytes(t, path)
		left := 0
		for _, k := range more {
			if bytes.Contains(raw, []byte(k)) {
				left++
			}
		}
		require.Zero(t, left, "system keys left in plaintext in the file")
	}

	kr := newKeyring(t)
	var logs bytes.Buffer
	st, err = sqlstore.OpenSQLite(t.Context(), path, slog.New(slog.NewTextHandler(&logs, nil)), sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	require.Contains(t, logs.String(), `sealed the secrets stored in plaintext" count=303`)
	checkSecrets(t, st, s)
	counts, err := st.SecretKeys(t.Context())
	require.NoError(t, err)
	require.Equal(t, map[string]int{kr.Current(): 303}, counts)
	noPlaintext() // while open: the log beside the file too
	require.NoError(t, st.Close())
	noPlaintext()

	logs.Reset()
	st, err = sqlstore.OpenSQLite(t.Context(), path, slog.New(slog.NewTextHandler(&logs, nil)), sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	defer st.Close()
	require.NotContains(t, logs.String(), "sealed the secrets", "sealing happens once")
	checkSecrets(t, st, s)
}

// TestSQLiteSecretsKeyRotation: after a rotation of the key file, values
// of both keys read; re-sealing moves every one to the new key, after
// which the old key can go and a keyring without it reads everything.
func TestSQLiteSecretsKeyRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kpilot.db")
	kr := newKeyring(t)
	st, err := sqlstore.OpenSQLite(t.Context(), path, discard, sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	s := makeSecrets(t, st)
	old := kr.Current()

	id, err := kr.Rotate()
	require.NoError(t, err)
	checkSecrets(t, st, s)
	n, err := st.ResealSecrets(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, n)
	counts, err := st.SecretKeys(t.Context())
	require.NoError(t, err)
	require.Equal(t, map[string]int{id: 3}, counts)
	checkSecrets(t, st, s)
	n, err = st.ResealSecrets(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to re-seal")
	gone, err := kr.Retire()
	require.NoError(t, err)
	require.Equal(t, []string{old}, gone)
	require.NoError(t, st.Close())

	fresh, err := seal.Load(kr.Path(), discard)
	require.NoError(t, err)
	require.Equal(t, []string{id}, fresh.IDs())
	st, err = sqlstore.OpenSQLite(t.Context(), path, discard, sqlstore.WithKeyring(fresh))
	require.NoError(t, err)
	defer st.Close()
	checkSecrets(t, st, s)
}

// TestSQLiteWrongKeyFileRefused: a key file that lacks the key of the
// database's secrets (lost, or another replica's) stops the store from
// opening, with an error naming the file.
func TestSQLiteWrongKeyFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kpilot.db")
	kr := newKeyring(t)
	st, err := sqlstore.OpenSQLite(t.Context(), path, discard, sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	s := makeSecrets(t, st)
	require.NoError(t, st.Close())

	other := newKeyring(t)
	_, err = sqlstore.OpenSQLite(t.Context(), path, discard, sqlstore.WithKeyring(other))
	require.ErrorIs(t, err, seal.ErrUnknownKey)
	require.ErrorContains(t, err, other.Path())
	require.ErrorContains(t, err, kr.Current()+" (3 values)")

	st, err = sqlstore.OpenSQLite(t.Context(), path, discard)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.OUKey(t.Context(), s.ou)
	require.ErrorContains(t, err, "opened without the secrets key file")
}

// TestPostgresSecretsSealed: on PostgreSQL too, plaintext rows are sealed
// as the store opens with a key file, no stored row holds a secret, and a
// rotation keeps every secret readable and findable.
func TestPostgresSecretsSealed(t *testing.T) {
	pg := devenv.PostgreSQL(t)
	dsn, err := pg.CreateDatabase(t.Context(), "kpilot_secrets")
	require.NoError(t, err)
	st, err := sqlstore.OpenPostgres(t.Context(), dsn, discard)
	require.NoError(t, err)
	s := makeSecrets(t, st)
	require.NoError(t, st.Close())
	raw, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer raw.Close()
	stored := func() string {
		var all []string
		for _, q := range []string{`SELECT secret FROM ou_keys`, `SELECT secret FROM system_keys`, `SELECT secret FROM webhooks`} {
			var v string
			require.NoError(t, raw.QueryRowContext(t.Context(), q).Scan(&v))
			all = append(all, v)
		}
		return strings.Join(all, "\n")
	}
	require.Contains(t, stored(), s.ouKey, "without a key file the secret is stored as given")

	kr := newKeyring(t)
	st, err = sqlstore.OpenPostgres(t.Context(), dsn, discard, sqlstore.WithKeyring(kr))
	require.NoError(t, err)
	defer st.Close()
	checkSecrets(t, st, s)
	requireNoPlaintext(t, []byte(stored()), s)
	require.Equal(t, 3, strings.Count(stored(), seal.Prefix+kr.Current()+":"))

	id, err := kr.Rotate()
	require.NoError(t, err)
	n, err := st.ResealSecrets(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, 3, strings.Count(stored(), seal.Prefix+id+":"))
	_, err = kr.Retire()
	require.NoError(t, err)
	checkSecrets(t, st, s)
}
