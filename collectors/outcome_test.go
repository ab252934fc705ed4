package collectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"
)

type statusErr int

func (e statusErr) Error() string   { return fmt.Sprintf("HTTP %d", int(e)) }
func (e statusErr) HTTPStatus() int { return int(e) }

// TestClassify classes the errors the network and the libraries really
// give: a refused connection and a TLS certificate come from real
// servers.
func TestClassify(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()
	_, refused := net.Dial("tcp", closed)
	require.Error(t, refused)

	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	_, untrusted := http.Get(srv.URL)
	require.Error(t, untrusted)

	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	<-ctx.Done()

	tests := []struct {
		name string
		err  error
		want Outcome
	}{
		{"nil", nil, OutcomeOK},
		{"refused", fmt.Errorf("GET x: %w", refused), OutcomeUnreachable},
		{"deadline", fmt.Errorf("polling: %w", ctx.Err()), OutcomeUnreachable},
		{"gosnmp timeout", fmt.Errorf("request timeout (after 1 retries): %w", gosnmp.ErrMaxRetriesExceeded), OutcomeUnreachable},
		{"dns", &net.DNSError{Err: "no such host", Name: "bmc-1.invalid", IsNotFound: true}, OutcomeUnreachable},
		{"v3 wrong digest", fmt.Errorf("get: %w", gosnmp.ErrWrongDigest), OutcomeCredentialsRejected},
		{"v3 unknown user", gosnmp.ErrUnknownUsername, OutcomeCredentialsRejected},
		{"v3 report not authentic", errors.New("incoming packet is not authentic, discarding"), OutcomeCredentialsRejected},
		{"401", fmt.Errorf("GET /a: %w", statusErr(401)), OutcomeCredentialsRejected},
		{"403", statusErr(403), OutcomeCredentialsRejected},
		{"500", statusErr(500), OutcomeProtocolError},
		{"certificate", untrusted, OutcomeProtocolError},
		{"unknown", errors.New("the answer is truncated JSON"), OutcomeProtocolError},
		{"outcome error wins", fmt.Errorf("x: %w", &OutcomeError{Class: OutcomeCredentialsRejected, Err: refused}), OutcomeCredentialsRejected},
		{"joined: the credentials", errors.Join(refused, statusErr(401)), OutcomeCredentialsRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Classify(tt.err), "%v", tt.err)
		})
	}
}

func TestExplain(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	snmp := Peer{Addr: "192.0.2.10:161", Ask: "is it reachable, and is the community right?"}
	tests := []struct {
		name     string
		peer     Peer
		err      error
		answered bool
		class    Outcome
		msg      string
	}{
		{"no answer", snmp, ctx.Err(), false, OutcomeUnreachable,
			"no answer from 192.0.2.10:161 within 10s: is it reachable, and is the community right?"},
		{"https default question", Peer{Addr: "https://bmc:443"}, ctx.Err(), false, OutcomeUnreachable,
			"no answer from https://bmc:443 within 10s: is it reachable?"},
		{"answered, then slow", snmp, ctx.Err(), true, OutcomeProtocolError,
			"192.0.2.10:161 answered, but then not in time (the poll gave up after 10s): it answers slowly or is overloaded; raise timeout, or read less"},
		{"dns", Peer{Addr: "https://bmc-1.invalid:443"}, fmt.Errorf("dial: %w", &net.DNSError{Err: "no such host", Name: "bmc-1.invalid"}), false,
			OutcomeUnreachable, "the name of https://bmc-1.invalid:443 cannot be resolved (lookup bmc-1.invalid: no such host): is it spelt right, and does the agent's DNS know it?"},
		{"other errors keep their text", snmp, errors.New("no profile matches the device"), true, OutcomeProtocolError,
			"no profile matches the device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.peer.Explain(tt.err, 10*time.Second+20*time.Millisecond, tt.answered)
			require.Equal(t, tt.msg, err.Error())
			require.Equal(t, tt.class, Classify(err))
			require.ErrorIs(t, err, tt.err, "the cause is kept")
		})
	}
	require.NoError(t, snmp.Explain(nil, time.Second, false))
}

func TestHTTPAddrAndRound(t *testing.T) {
	for in, want := range map[string]string{"https://bmc": "https://bmc:443", "http://api.local/x": "http://api.local:80",
		"https://10.0.0.1:8443/redfish/v1": "https://10.0.0.1:8443", "https://[2001:db8::1]": "https://[2001:db8::1]:443"} {
		u, err := url.Parse(in)
		require.NoError(t, err)
		require.Equal(t, want, HTTPAddr(u))
	}
	require.Equal(t, "10s", Round(10*time.Second+400*time.Millisecond).String())
	require.Equal(t, "1s", Round(1120*time.Millisecond).String())
	require.Equal(t, "300ms", Round(302*time.Millisecond).String())

	start := time.Now()
	ctx, cancel := context.WithDeadline(t.Context(), start.Add(20*time.Millisecond))
	defer cancel()
	<-ctx.Done()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, 20*time.Millisecond, Waited(ctx, start), "a poll that ran out waited its timeout")
	require.GreaterOrEqual(t, Waited(t.Context(), start), 40*time.Millisecond)
}
