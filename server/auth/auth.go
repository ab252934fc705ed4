// Package auth makes and checks the server's secrets: session tokens, agent
// credentials, enrollment tokens and passwords. Tokens are 256-bit random
// values; only their SHA-256 is stored, so a leaked database holds nothing
// that logs anyone in. Lookups by hash are not timing-sensitive (the hash
// of a guess reveals nothing about the stored value); passwords use bcrypt,
// whose compare is constant-time.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Token prefixes say what a secret is when it turns up in a log or a
// secret scanner.
const (
	PrefixSession    = "kps_"
	PrefixAgent      = "kpa_"
	PrefixEnrollment = "kpe_"
	PrefixAPIToken   = "kpt_"
	PrefixInvitation = "kpi_"
	PrefixReset      = "kpr_"
	PrefixOUKey      = "kpou_" // OU keys and system keys are readable by admins
	PrefixSystemKey  = "kpsk_"
)

// Equal compares two secrets in constant time.
func Equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// NewToken returns a fresh token with prefix and the hash to store.
func NewToken(prefix string) (token, hash string) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, Hash(token)
}

// Hash returns the stored form of a token.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// BearerToken extracts the token of an "Authorization: Bearer …" header
// value. ok is false when the header is missing or malformed.
func BearerToken(header string) (string, bool) {
	scheme, tok, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 256
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// HashPassword returns the bcrypt hash of a password.
func HashPassword(pw string) (string, error) {
	if len(pw) < MinPasswordLength {
		return "", fmt.Errorf("password must have at least %d characters", MinPasswordLength)
	}
	if len(pw) > 72 {
		return "", errors.New("password must have at most 72 bytes") // bcrypt's limit
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when a login names an unknown user, so that
// the answer takes as long as for a known one and does not reveal which
// emails have accounts.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("kpilot-dummy-password"), bcrypt.DefaultCost)

// CheckPassword reports whether pw matches hash. An empty hash (unknown
// user) costs the same time and reports false.
func CheckPassword(hash, pw string) bool {
	if hash == "" {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// RandomPassword returns a password for generated accounts (demo, bootstrap).
func RandomPassword() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewPartnerID returns a public partner ID like KP-4821-0937: short enough
// to read out on the phone. It is not a secret; customers find a partner
// by it (guesses are rate-limited like key guesses).
func NewPartnerID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	s := fmt.Sprintf("%08d", n.Int64())
	return "KP-" + s[:4] + "-" + s[4:]
}
