package seal

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kpilot/kpilot/internal/atomicfile"
)

// fileHeader opens every key file the server writes.
const fileHeader = `# kpilot-server secrets key file (docs/install.md#secrets-at-rest).
# One key a line: "<id> <base64 of 32 bytes>". The first key seals new
# values; every key listed opens values sealed with it. Keep this file 0600
# and back it up with the database: without it, the OU keys, system keys
# and webhook secrets in the database cannot be read.
`

// Keyring is the keys of a secrets key file: the first seals, every one
// opens. It re-reads the file when it changed, so that a running server
// picks up a rotation made by another process (kpilot-server
// rotate-secrets-key) without a restart. Safe for concurrent use.
type Keyring struct {
	path string
	log  *slog.Logger

	mu   sync.Mutex
	keys []key       // keys[0] seals; never empty
	info fs.FileInfo // of the file as last read, to notice a change
}

// Load reads the key file at path. A file others may read or write is
// refused (it holds what protects every sealed secret); one its group may
// read is accepted with a warning, for installs that share it with a
// service group on purpose.
func Load(path string, log *slog.Logger) (*Keyring, error) {
	kr := &Keyring{path: path, log: log}
	if err := kr.reload(); err != nil {
		return nil, err
	}
	return kr, nil
}

// LoadOrCreate loads the key file at path, first creating it (0600, in a
// 0700 directory if that is missing) with one fresh key when there is
// none; created says it did.
func LoadOrCreate(path string, log *slog.Logger) (kr *Keyring, created bool, err error) {
	_, err = os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("creating directory of secrets key file %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("creating secrets key file %s: %w", path, err)
		}
		_, werr := f.Write(encode([]key{generate()}))
		if serr := f.Sync(); werr == nil {
			werr = serr
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, false, fmt.Errorf("writing secrets key file %s: %w", path, werr)
		}
		created = true
	case err != nil:
		return nil, false, fmt.Errorf("secrets key file %s: %w", path, err)
	}
	kr, err = Load(path, log)
	return kr, created, err
}

// reload reads the file and replaces the keys.
func (kr *Keyring) reload() error {
	fi, err := os.Stat(kr.path)
	if err != nil {
		return fmt.Errorf("secrets key file %s: %w", kr.path, err)
	}
	if err := kr.checkMode(fi); err != nil {
		return err
	}
	b, err := os.ReadFile(kr.path)
	if err != nil {
		return fmt.Errorf("reading secrets key file %s: %w", kr.path, err)
	}
	keys, err := decode(b)
	if err != nil {
		return fmt.Errorf("secrets key file %s: %w", kr.path, err)
	}
	kr.keys, kr.info = keys, fi
	return nil
}

func (kr *Keyring) checkMode(fi fs.FileInfo) error {
	if runtime.GOOS == "windows" { // no Unix modes; the ACL of the data directory protects it
		return nil
	}
	mode := fi.Mode().Perm()
	if mode&0o007 != 0 {
		return fmt.Errorf("secrets key file %s may be read or written by other users (mode %s): chmod 600 %s", kr.path, mode, kr.path)
	}
	if mode&0o070 != 0 && kr.log != nil {
		kr.log.Warn("the secrets key file may be read by its group (chmod 600 unless that is meant)", "path", kr.path, "mode", mode.String())
	}
	return nil
}

// refresh re-reads the file if it changed since it was read.
func (kr *Keyring) refresh() error {
	fi, err := os.Stat(kr.path)
	if err != nil {
		return fmt.Errorf("secrets key file %s: %w", kr.path, err)
	}
	if os.SameFile(fi, kr.info) && fi.ModTime().Equal(kr.info.ModTime()) && fi.Size() == kr.info.Size() {
		return nil
	}
	return kr.reload()
}

// Path is the key file's path.
func (kr *Keyring) Path() string { return kr.path }

// Current returns the id of the key that seals.
func (kr *Keyring) Current() string {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.keys[0].id
}

// IDs returns the ids of every key, the sealing one first.
func (kr *Keyring) IDs() []string {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	ids := make([]string, len(kr.keys))
	for i, k := range kr.keys {
		ids[i] = k.id
	}
	return ids
}

// Has reports whether the keyring holds the key id, re-reading the file
// first if it changed.
func (kr *Keyring) Has(id string) bool {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if _, ok := kr.find(id); ok {
		return true
	}
	if kr.refresh() != nil {
		return false
	}
	_, ok := kr.find(id)
	return ok
}

func (kr *Keyring) find(id string) (key, bool) {
	for _, k := range kr.keys {
		if k.id == id {
			return k, true
		}
	}
	return key{}, false
}

// Seal encrypts plaintext with the current key of the file (re-read if
// it changed, so that no value is sealed with a key a rotation retired),
// bound to aad: the same aad must be given to Unseal.
func (kr *Keyring) Seal(aad, plaintext string) (string, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.refresh(); err != nil {
		return "", err
	}
	return kr.keys[0].seal(aad, plaintext), nil
}

// Unseal decrypts a value Seal made with the same aad. A key id the
// keyring lacks makes it re-read the file once (another process may have
// rotated); still missing, it is ErrUnknownKey.
func (kr *Keyring) Unseal(aad, sealed string) (string, error) {
	id := KeyID(sealed)
	if id == "" {
		return "", errors.New("value is not sealed")
	}
	kr.mu.Lock()
	k, ok := kr.find(id)
	if !ok {
		if err := kr.refresh(); err != nil {
			kr.mu.Unlock()
			return "", err
		}
		k, ok = kr.find(id)
	}
	kr.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("value sealed with key %s, which secrets key file %s does not hold (restore the file from the backup; every server replica needs the same file): %w",
			id, kr.path, ErrUnknownKey)
	}
	return k.open(aad, sealed)
}

// Rotate puts a fresh key first in the file, keeping the others so that
// values sealed with them still open until they are re-sealed, and
// returns the new key's id.
func (kr *Keyring) Rotate() (string, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.refresh(); err != nil {
		return "", err
	}
	k := generate()
	if err := kr.write(append([]key{k}, kr.keys...)); err != nil {
		return "", err
	}
	return k.id, nil
}

// Retire removes every key but the current one from the file and returns
// the ids removed. The caller first makes sure no stored value is sealed
// with them.
func (kr *Keyring) Retire() ([]string, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.refresh(); err != nil {
		return nil, err
	}
	var gone []string
	for _, k := range kr.keys[1:] {
		gone = append(gone, k.id)
	}
	if len(gone) == 0 {
		return nil, nil
	}
	return gone, kr.write(kr.keys[:1])
}

// write replaces the file atomically (0600) and re-reads it.
func (kr *Keyring) write(keys []key) error {
	if err := atomicfile.WriteFile(kr.path, encode(keys), 0o600); err != nil {
		return fmt.Errorf("writing secrets key file %s: %w", kr.path, err)
	}
	return kr.reload()
}

func encode(keys []key) []byte {
	var b bytes.Buffer
	b.WriteString(fileHeader)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", k.id, base64.StdEncoding.EncodeToString(k.raw))
	}
	return b.Bytes()
}

func decode(b []byte) ([]key, error) {
	var keys []key
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"<id> <base64 key>\"", n)
		}
		raw, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: key %s: not base64", n, f[0])
		}
		k, err := newKey(f[0], raw)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if slices.ContainsFunc(keys, func(o key) bool { return o.id == k.id }) {
			return nil, fmt.Errorf("line %d: key id %s listed twice", n, k.id)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("holds no key")
	}
	return keys, nil
}
