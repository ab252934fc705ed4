package snmp

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/gosnmp/gosnmp"
)

// keptSessions bounds the sessions an agent keeps between polls: about
// the polls it runs at once (max_parallel_polls, 16 by default), 2 MiB of
// receive buffers at most.
const keptSessions = 32

// sessionsKey finds the agent's sessions in its collectors.Shared.
type sessionsKey struct{}

// sessions keeps the gosnmp sessions of an agent's v1 and v2c targets
// between polls, each with the 64 KiB receive buffer gosnmp's Connect
// allocates: one set for the agent (collectors.Shared), whatever the
// number of its collector entries. A poll that connected anew for every target allocated that
// buffer every time: at 1,000 devices two fifths of all the bytes the
// agent allocated, and the garbage collector's work with them.
//
// A kept session is given the next target's settings and a new socket; it
// is not connected again (Connect would allocate another buffer). For
// v1 and v2c over UDP, Connect does nothing else that a poll needs: it
// fills in defaults that params sets, dials, and starts request ids at a
// random number, which go on counting. SNMPv3 sessions (Connect prepares
// their security parameters) and other transports connect every time.
type sessions struct {
	free chan *gosnmp.GoSNMP
}

func newSessions() *sessions {
	return &sessions{free: make(chan *gosnmp.GoSNMP, keptSessions)}
}

// dial opens a session with g's settings: a kept one if there is one,
// else g itself, connected. The returned function closes its socket and
// keeps the session for the next poll.
func (p *sessions) dial(ctx context.Context, g *gosnmp.GoSNMP) (requester, func() error, error) {
	if g.Version == gosnmp.Version3 || g.Transport != "udp" || g.UseUnconnectedUDPSocket || g.LocalAddr != "" {
		return dialGoSNMP(ctx, g)
	}
	var k *gosnmp.GoSNMP
	select {
	case k = <-p.free:
	default:
		r, closeFn, err := dialGoSNMP(ctx, g) // allocates the buffer g then keeps
		if err != nil {
			return nil, nil, err
		}
		return r, closeOnce(func() error { err := closeFn(); p.keep(g); return err }), nil
	}
	takeSettings(k, g)
	k.Context = ctx
	d := net.Dialer{Timeout: g.Timeout}
	conn, err := d.DialContext(ctx, "udp", net.JoinHostPort(g.Target, strconv.Itoa(int(g.Port))))
	if err != nil {
		p.keep(k)
		return nil, nil, fmt.Errorf("connecting: %w", err)
	}
	k.Conn = conn
	return k, closeOnce(func() error {
		err := conn.Close()
		p.keep(k)
		return err
	}), nil
}

// closeOnce makes a session's close function keep the session once, however
// often it is called: kept twice, it would be handed to two polls at once.
func closeOnce(f func() error) func() error {
	return sync.OnceValue(f)
}

// keep puts a closed session back, unless enough are kept.
func (p *sessions) keep(g *gosnmp.GoSNMP) {
	g.Conn, g.Context = nil, nil
	select {
	case p.free <- g:
	default:
	}
}

// takeSettings gives kept session k the settings params made for g (the
// v1 and v2c ones; see sessions).
func takeSettings(k, g *gosnmp.GoSNMP) {
	k.Target, k.Port, k.Transport = g.Target, g.Port, g.Transport
	k.Version, k.Community = g.Version, g.Community
	k.Timeout, k.Retries, k.ExponentialTimeout = g.Timeout, g.Retries, g.ExponentialTimeout
	k.MaxOids, k.MaxRepetitions, k.NonRepeaters = g.MaxOids, g.MaxRepetitions, g.NonRepeaters
	k.Logger = g.Logger
}
