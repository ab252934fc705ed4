package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/api"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
)

// enrollElsewhere enrolls an agent into a new organization: another
// tenant.
func (e *env) enrollElsewhere(name string) string {
	e.t.Helper()
	o := store.Organization{Name: name, Kind: store.Customer}
	require.NoError(e.t, e.store.CreateOrganization(e.t.Context(), &o))
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	now := time.Now()
	require.NoError(e.t, e.store.CreateEnrollmentToken(e.t.Context(), store.EnrollmentToken{TokenHash: hash,
		OrgID: o.ID, OUID: o.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	cred, credHash := auth.NewToken(auth.PrefixAgent)
	a := store.Agent{Name: name, TokenHash: credHash}
	require.NoError(e.t, e.store.EnrollAgent(e.t.Context(), auth.Hash(tok), now, &a))
	return cred
}

// slowUpload starts a request that declares a body of size bytes and
// sends it 2 bytes every 50 ms; the answer's status code goes to codes
// when the server answers (0 if the connection breaks).
func slowUpload(t *testing.T, base, cred string, size int, codes chan<- int) {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "POST /api/v1/ingest HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: %s\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n\x1f\x8b", u.Host, cred, wire.ContentType, size)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("ab")); err != nil {
					return
				}
			}
		}
	}()
	go func() {
		defer close(done)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}()
}

// TestIngestSlowUploadsHoldNoTurn: six uploads of one agent that send a
// declared 1 MB body 2 bytes at a time take no decoding turn: another
// tenant's agent is answered 200 within a second while they last. The
// agent's third and later uploads are refused at once (two per agent),
// and the first two end at the body timeout with 503, which the agent
// retries.
func TestIngestSlowUploadsHoldNoTurn(t *testing.T) {
	influx := devenv.Influx(t)
	const bodyTimeout = 3 * time.Second
	e := newEnvWith(t, influx, influx.URL, func(l *api.Limits) {
		l.Ingest.MaxBytes, l.Ingest.MaxDecompressedBytes = 2<<20, 8<<20
		l.Ingest.Concurrency, l.Ingest.BodyTimeout = 4, bodyTimeout
	})
	started := time.Now()
	codes := make(chan int, 6)
	for range 6 {
		slowUpload(t, e.url, e.cred, 1<<20, codes)
	}
	refused := 0
	for range 4 {
		select {
		case c := <-codes:
			require.Equal(t, http.StatusTooManyRequests, c, "beyond two uploads per agent")
			refused++
		case <-time.After(time.Second):
			t.Fatalf("only %d uploads refused at once", refused)
		}
	}

	other := e.enrollElsewhere("Other tenant")
	for i := range 3 {
		start := time.Now()
		r := e.post(other, batchBody(t, uuid.NewString(), fmt.Sprintf("slow,asset=sw1 v=%d %d", i, ts())))
		took := time.Since(start)
		require.Equal(t, http.StatusOK, r.code, "%v", r.body)
		require.Less(t, took, time.Second, "another tenant's batch is not held up")
		time.Sleep(200 * time.Millisecond)
	}
	require.Less(t, time.Since(started), bodyTimeout, "the slow uploads were still going")

	for range 2 {
		select {
		case c := <-codes:
			require.Equal(t, http.StatusServiceUnavailable, c, "a body too slow is answered 503: the agent keeps the batch")
		case <-time.After(2 * bodyTimeout):
			t.Fatal("a slow upload outlived the body timeout")
		}
	}
	require.Equal(t, 2.0, metricValue(t, e.reg, "kpilot_server_ingest_batches_total", "body_error"))
}

// TestIngestBodyDeadlineEndsWithTheBody: the body timeout bounds the
// upload only; a batch whose write takes longer than it (InfluxDB paused
// for a second) is still stored, not cancelled with the connection's
// read deadline.
func TestIngestBodyDeadlineEndsWithTheBody(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnvWith(t, influx, influx.URL, func(l *api.Limits) { l.Ingest.BodyTimeout = 300 * time.Millisecond })
	require.NoError(t, influx.Signal(syscall.SIGSTOP))
	resumed := make(chan error, 1)
	time.AfterFunc(time.Second, func() { resumed <- influx.Signal(syscall.SIGCONT) })
	t.Cleanup(func() { influx.Signal(syscall.SIGCONT) })
	r := e.post(e.cred, batchBody(t, uuid.NewString(), fmt.Sprintf("late,asset=sw1 v=1 %d", ts())))
	require.NoError(t, <-resumed)
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	require.Equal(t, 1, e.count("late", ""))
}
