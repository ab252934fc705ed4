package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/api"
)

// from calls the API in process as caller (a key of w.tokens, or a raw
// bearer token) from the client address addr.
func (w *world) from(addr, caller, method, path string, body any) reply {
	w.t.Helper()
	var b []byte
	if body != nil {
		var err error
		b, err = json.Marshal(body)
		require.NoError(w.t, err)
	}
	req := httptest.NewRequestWithContext(w.t.Context(), method, path, bytes.NewReader(b))
	req.RemoteAddr = addr + ":40000"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tok, ok := w.tokens[caller]
	if !ok {
		tok = caller
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	mux := http.NewServeMux()
	w.api.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	out := reply{code: rec.Code, header: rec.Header(), raw: rec.Body.Bytes()}
	_ = json.Unmarshal(out.raw, &out.body)
	return out
}

// retryAfter is the Retry-After of a 429 in seconds.
func retryAfter(t *testing.T, r reply) int {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, r.code, "%s", r.raw)
	s, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.header.Get("Retry-After"))
	return s
}

// clock is a settable time for the API, safe for its goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestSecretGuessesArePerAddress: every kind of secret counts against one
// budget per client address; once it is used up, the address is refused
// even the right secret, until 15 minutes after its latest failure, and
// other addresses are not held up.
func TestSecretGuessesArePerAddress(t *testing.T) {
	const budget = 3
	w := newWorld(t, func(l *api.Limits) { l.SecretFailures = budget })

	r := w.do("acme_admin", "POST", "/api/v1/enrollment-tokens", nil)
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	enrollment := r.body["token"].(string)
	r = w.do("anonymous", "POST", "/api/v1/agents/enroll", map[string]string{"token": enrollment, "name": "a1"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	agent := r.body["credential"].(string)
	r = w.do("acme_admin", "POST", "/api/v1/enrollment-tokens", nil)
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	enrollment = r.body["token"].(string)
	require.Equal(t, http.StatusCreated, w.do("acme_admin", "POST", "/api/v1/invitations",
		map[string]string{"email": "new@acme.example", "role": "viewer"}).code)
	invitation := w.mailedToken(1, "new@acme.example")
	require.Equal(t, http.StatusAccepted, w.do("anonymous", "POST", "/api/v1/password-reset",
		map[string]string{"email": "acme_viewer@example.com"}).code)
	reset := w.mailedToken(2, "acme_viewer@example.com")
	r = w.do("acme_admin", "POST", "/api/v1/api-tokens", map[string]string{"name": "ci"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	apiToken := r.body["token"].(string)

	type try func(addr string, right bool) reply
	wrong := func(secret string) string { return secret[:len(secret)-4] + "AAAA" }
	tests := []struct {
		name      string
		try       try
		fail, win int // status of a wrong and of the right secret
	}{
		{"enrollment token", func(addr string, right bool) reply {
			tok := enrollment
			if !right {
				tok = wrong(tok)
			}
			return w.from(addr, "anonymous", "POST", "/api/v1/agents/enroll", map[string]string{"token": tok, "name": "a2"})
		}, http.StatusUnauthorized, http.StatusCreated},
		{"invitation token", func(addr string, right bool) reply {
			tok := invitation
			if !right {
				tok = wrong(tok)
			}
			return w.from(addr, "anonymous", "POST", "/api/v1/invitations/lookup", map[string]string{"token": tok})
		}, http.StatusNotFound, http.StatusOK},
		{"reset token", func(addr string, right bool) reply {
			tok := reset
			if !right {
				tok = wrong(tok)
			}
			return w.from(addr, "anonymous", "POST", "/api/v1/password-reset/confirm",
				map[string]string{"token": tok, "password": "another-horse-battery"})
		}, http.StatusNotFound, http.StatusNoContent},
		{"agent credential", func(addr string, right bool) reply {
			tok := agent
			if !right {
				tok = wrong(tok)
			}
			return w.from(addr, tok, "GET", "/api/v1/agents/self", nil)
		}, http.StatusUnauthorized, http.StatusOK},
		{"session token", func(addr string, right bool) reply {
			tok := w.tokens["acme_admin"]
			if !right {
				tok = wrong(tok)
			}
			return w.from(addr, tok, "GET", "/api/v1/me", nil)
		}, http.StatusUnauthorized, http.StatusOK},
		{"API token", func(addr string, right bool) reply {
			tok := apiToken
			if !right {
				tok = wrong(tok)
			}
			return w.from(addr, tok, "GET", "/api/v1/me", nil)
		}, http.StatusUnauthorized, http.StatusOK},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attacker, other := "198.51.100."+strconv.Itoa(i+1), "203.0.113."+strconv.Itoa(i+1)
			for n := range budget {
				r := tt.try(attacker, false)
				require.Equal(t, tt.fail, r.code, "wrong secret %d: %s", n+1, r.raw)
			}
			s := retryAfter(t, tt.try(attacker, true))
			require.InDelta(t, 15*60, s, 2, "refused, the right secret too, for 15 minutes after the latest failure")
			r := tt.try(other, true)
			require.Equal(t, tt.win, r.code, "another address is not held up: %s", r.raw)
		})
	}

	t.Run("one budget for every kind", func(t *testing.T) {
		addr := "198.51.100.99"
		require.Equal(t, http.StatusUnauthorized, w.from(addr, wrong(agent), "GET", "/api/v1/agents/self", nil).code)
		require.Equal(t, http.StatusUnauthorized, w.from(addr, wrong(apiToken), "GET", "/api/v1/me", nil).code)
		require.Equal(t, http.StatusNotFound, w.from(addr, "anonymous", "POST", "/api/v1/invitations/lookup",
			map[string]string{"token": wrong(invitation)}).code)
		retryAfter(t, w.from(addr, "acme_admin", "GET", "/api/v1/me", nil))
		retryAfter(t, w.from(addr, agent, "GET", "/api/v1/agents/self", nil))
	})
}

// TestChannelAssignmentCountsPartnerIDGuesses: once the key-guess limit
// answered 429, partner IDs cannot be probed through an assignment
// either, and wrong partner IDs there use up the same allowance.
func TestChannelAssignmentCountsPartnerIDGuesses(t *testing.T) {
	w := newWorld(t, func(l *api.Limits) { l.KeyGuesses = 2 })
	assign := func(pid string) reply {
		return w.do("acme_admin", "PUT", "/api/v1/channel-assignments",
			map[string]string{"partner_id": pid, "role": "service", "asset_id": w.assets["a_branch"].ID})
	}
	require.Equal(t, http.StatusNotFound, assign("P-NOPE1").code)
	require.Equal(t, http.StatusNotFound, w.do("acme_admin", "GET", "/api/v1/partners/P-NOPE2", nil).code)
	retryAfter(t, w.do("acme_admin", "GET", "/api/v1/partners/P-S1", nil))
	retryAfter(t, assign("P-S1"))
	retryAfter(t, assign("P-NOPE3"))
}

// TestLoginSlowsAttackerNotOwner: failures from one address make that
// address wait longer and longer for that account, up to 15 minutes;
// the owner logs in from another address at once, and from the
// attacker's address after the wait.
func TestLoginSlowsAttackerNotOwner(t *testing.T) {
	w := newWorld(t)
	c := &clock{t: time.Now()}
	api.SetClock(w.api, c.now)
	login := func(addr, password string) reply {
		return w.from(addr, "anonymous", "POST", "/api/v1/login",
			map[string]string{"email": "acme_admin@example.com", "password": password})
	}
	const attacker, owner = "198.51.100.7", "203.0.113.9"
	var waits []int
	for failures := 0; failures < 30; {
		r := login(attacker, "wrong-password-123")
		if r.code == http.StatusTooManyRequests {
			s := retryAfter(t, r)
			waits = append(waits, s)
			require.Equal(t, http.StatusTooManyRequests, login(attacker, "correct-horse-battery").code,
				"during the wait the attacker's address is refused even the right password")
			c.add(time.Duration(s) * time.Second)
			continue
		}
		require.Equal(t, http.StatusUnauthorized, r.code, "%s", r.raw)
		failures++
	}
	require.Equal(t, []int{2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900, 900, 900, 900,
		900, 900, 900, 900, 900, 900, 900, 900, 900}, waits, "five free failures, then the wait doubles up to 15 minutes")

	r := login(owner, "correct-horse-battery")
	require.Equal(t, http.StatusOK, r.code, "the owner from another address logs in at once: %s", r.raw)
	s := retryAfter(t, login(attacker, "correct-horse-battery"))
	require.Equal(t, 900, s)
	c.add(time.Duration(s) * time.Second)
	r = login(attacker, "correct-horse-battery")
	require.Equal(t, http.StatusOK, r.code, "after the wait, the right password works from that address too: %s", r.raw)

	t.Run("per address across accounts", func(t *testing.T) {
		const spray = "198.51.100.8"
		for i := range 20 {
			r := w.from(spray, "anonymous", "POST", "/api/v1/login",
				map[string]string{"email": "nobody" + strconv.Itoa(i) + "@example.com", "password": "wrong-password-123"})
			require.Equal(t, http.StatusUnauthorized, r.code, "failure %d: %s", i+1, r.raw)
		}
		require.Equal(t, 2, retryAfter(t, login(spray, "correct-horse-battery")), "twenty free failures per address")
		require.Equal(t, http.StatusOK, login(owner, "correct-horse-battery").code)
	})
}
