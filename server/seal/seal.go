// Package seal encrypts the secrets the server must read back (OU keys and
// system keys, which admins see again, and webhook secrets, which sign
// every delivery) with a server key kept in a file apart from the
// database, so that a copy of the database alone reveals none of them.
//
// A sealed value reads "enc1:<key id>:<base64url(nonce|ciphertext|tag)>":
// AES-256-GCM with a random 96-bit nonce, and the value's place in the
// database (table and row) as additional data, so that a sealed value
// copied into another row does not open. The key id says which key of the
// key file opens it, which is what lets a rotation re-seal values one by
// one while both keys work.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every sealed value; a stored value without it is still in
// plaintext (written before sealing existed).
const Prefix = "enc1:"

// KeyIDLen is the length of a key id: 8 lowercase hex digits, the same
// for every key, so that SQL can cut it out of a sealed value with substr.
const KeyIDLen = 8

// ErrUnknownKey is returned by Unseal for a value sealed with a key the
// key file does not hold.
var ErrUnknownKey = errors.New("unknown secrets key")

// key is one AES-256 key of a key file.
type key struct {
	id   string
	raw  []byte
	aead cipher.AEAD
}

func newKey(id string, raw []byte) (key, error) {
	if !validID(id) {
		return key{}, fmt.Errorf("key id %q: want %d lowercase hex digits", id, KeyIDLen)
	}
	if len(raw) != 32 {
		return key{}, fmt.Errorf("key %s: %d bytes, want 32 (AES-256)", id, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, fmt.Errorf("key %s: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, fmt.Errorf("key %s: %w", id, err)
	}
	return key{id: id, raw: raw, aead: aead}, nil
}

// generate makes a fresh random key with a random id.
func generate() key {
	var id [KeyIDLen / 2]byte
	raw := make([]byte, 32)
	rand.Read(id[:]) // never fails (crypto/rand since Go 1.24)
	rand.Read(raw)
	k, err := newKey(hex.EncodeToString(id[:]), raw)
	if err != nil {
		panic(err) // cannot happen: the id and length are right by construction
	}
	return k
}

func validID(id string) bool {
	if len(id) != KeyIDLen {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// IsSealed reports whether a stored value is sealed.
func IsSealed(v string) bool { return strings.HasPrefix(v, Prefix) }

// KeyID returns the id of the key that sealed v, or "" for a value that
// is not sealed.
func KeyID(v string) string {
	if !IsSealed(v) || len(v) < len(Prefix)+KeyIDLen+1 {
		return ""
	}
	return v[len(Prefix) : len(Prefix)+KeyIDLen]
}

// seal encrypts plaintext with k, binding it to aad.
func (k key) seal(aad, plaintext string) string {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	rand.Read(nonce)
	out := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(aad))
	return Prefix + k.id + ":" + base64.RawURLEncoding.EncodeToString(out)
}

// open decrypts a sealed value of k.
func (k key) open(aad, sealed string) (string, error) {
	body := sealed[len(Prefix)+KeyIDLen:]
	if !strings.HasPrefix(body, ":") {
		return "", errors.New("malformed sealed value")
	}
	b, err := base64.RawURLEncoding.DecodeString(body[1:])
	if err != nil || len(b) < k.aead.NonceSize()+k.aead.Overhead() {
		return "", errors.New("malformed sealed value")
	}
	n := k.aead.NonceSize()
	p, err := k.aead.Open(nil, b[:n], b[n:], []byte(aad))
	if err != nil {
		return "", fmt.Errorf("opening value sealed with key %s: it was altered, or belongs to another row", k.id)
	}
	return string(p), nil
}
