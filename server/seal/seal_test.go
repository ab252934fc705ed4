package seal_test

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/seal"
)

var discard = slog.New(slog.DiscardHandler)

func newKeyring(t *testing.T) *seal.Keyring {
	t.Helper()
	kr, created, err := seal.LoadOrCreate(filepath.Join(t.TempDir(), "kpilot", "secrets.key"), discard)
	require.NoError(t, err)
	require.True(t, created)
	return kr
}

func TestSealUnseal(t *testing.T) {
	kr := newKeyring(t)
	v, err := kr.Seal("ou_keys/ou1", "kpou_secret")
	require.NoError(t, err)
	require.True(t, seal.IsSealed(v))
	require.Equal(t, kr.Current(), seal.KeyID(v))
	require.NotContains(t, v, "kpou_secret")
	v2, err := kr.Seal("ou_keys/ou1", "kpou_secret")
	require.NoError(t, err)
	require.NotEqual(t, v, v2, "a fresh nonce each time")

	got, err := kr.Unseal("ou_keys/ou1", v)
	require.NoError(t, err)
	require.Equal(t, "kpou_secret", got)
	_, err = kr.Unseal("ou_keys/ou2", v)
	require.ErrorContains(t, err, "belongs to another row", "a value copied to another row does not open")
	_, err = kr.Unseal("ou_keys/ou1", v[:len(v)-2]+"AA")
	require.Error(t, err, "an altered value does not open")
	_, err = kr.Unseal("ou_keys/ou1", "kpou_plain")
	require.ErrorContains(t, err, "not sealed")
	require.Empty(t, seal.KeyID("kpou_plain"))
}

func TestKeyFileCreatedPrivate(t *testing.T) {
	old := umask(0o022)
	defer umask(old)
	path := filepath.Join(t.TempDir(), "data", "secrets.key")
	kr, created, err := seal.LoadOrCreate(path, discard)
	require.NoError(t, err)
	require.True(t, created)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "got mode %v, want 0600", fi.Mode().Perm())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), kr.Current()+" ")

	again, created, err := seal.LoadOrCreate(path, discard)
	require.NoError(t, err)
	require.False(t, created, "an existing file is loaded, not replaced")
	require.Equal(t, kr.IDs(), again.IDs())
}

func TestKeyFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode fs.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	good := "# comment\n0123abcd " + strings.Repeat("A", 43) + "=\n"
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none.key"), "no such file"},
		{"others may read", write("world.key", good, 0o644), "may be read or written by other users (mode -rw-r--r--): chmod 600"},
		{"unreadable", write("locked.key", good, 0o000), "permission denied"},
		{"empty", write("empty.key", "# nothing\n", 0o600), "holds no key"},
		{"short key", write("short.key", "0123abcd AAAA\n", 0o600), "line 1: key 0123abcd: 3 bytes, want 32"},
		{"bad id", write("id.key", "XYZ "+strings.Repeat("A", 43)+"=\n", 0o600), `line 1: key id "XYZ"`},
		{"twice", write("twice.key", good+good, 0o600), "line 4: key id 0123abcd listed twice"},
		{"not base64", write("b64.key", "0123abcd ***\n", 0o600), "line 1: key 0123abcd: not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			_, err := seal.Load(tt.path, discard)
			require.ErrorContains(t, err, tt.path)
			require.ErrorContains(t, err, tt.want)
		})
	}

	var logs bytes.Buffer
	_, err := seal.Load(write("group.key", good, 0o640), slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err, "a file its group may read is accepted")
	require.Contains(t, logs.String(), "may be read by its group")
}

// TestRotateAndRetire: after a rotation values of both keys open and new
// ones are sealed with the new key; another process's keyring on the same
// file follows without a restart; after retiring, the old key is gone.
func TestRotateAndRetire(t *testing.T) {
	kr := newKeyring(t)
	other, err := seal.Load(kr.Path(), discard) // a running server's
	require.NoError(t, err)
	old := kr.Current()
	sealedOld, err := other.Seal("webhooks/w1", "kpwh_one")
	require.NoError(t, err)

	id, err := kr.Rotate()
	require.NoError(t, err)
	require.NotEqual(t, old, id)
	require.Equal(t, []string{id, old}, kr.IDs())
	sealedNew, err := kr.Seal("webhooks/w1", "kpwh_one")
	require.NoError(t, err)
	require.Equal(t, id, seal.KeyID(sealedNew))

	got, err := other.Unseal("webhooks/w1", sealedNew)
	require.NoError(t, err, "a key id it lacks makes it re-read the file")
	require.Equal(t, "kpwh_one", got)
	v, err := other.Seal("webhooks/w2", "kpwh_two")
	require.NoError(t, err)
	require.Equal(t, id, seal.KeyID(v), "it seals with the new key")
	got, err = kr.Unseal("webhooks/w1", sealedOld)
	require.NoError(t, err, "the previous key still opens")
	require.Equal(t, "kpwh_one", got)

	gone, err := kr.Retire()
	require.NoError(t, err)
	require.Equal(t, []string{old}, gone)
	fresh, err := seal.Load(kr.Path(), discard)
	require.NoError(t, err)
	require.Equal(t, []string{id}, fresh.IDs())
	_, err = fresh.Unseal("webhooks/w1", sealedOld)
	require.ErrorIs(t, err, seal.ErrUnknownKey)
	require.ErrorContains(t, err, kr.Path())
	got, err = fresh.Unseal("webhooks/w1", sealedNew)
	require.NoError(t, err)
	require.Equal(t, "kpwh_one", got)
	fi, err := os.Stat(kr.Path())
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
}
