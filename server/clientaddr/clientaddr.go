// Package clientaddr finds a request's client address behind reverse
// proxies the operator trusts. Rate limits per client address and the
// audit trail's remote_addr use it; without it every request behind a
// proxy would share the proxy's address, and one client's failed logins
// would lock out everyone's.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Trusted is the set of proxies whose X-Forwarded-For is believed.
type Trusted []netip.Prefix

// Parse reads CIDR prefixes or single addresses ("10.0.0.0/8",
// "192.0.2.7", "::1").
func Parse(list []string) (Trusted, error) {
	var t Trusted
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			t = append(t, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or a CIDR prefix like 10.0.0.0/8", s)
		}
		t = append(t, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return t, nil
}

func (t Trusted) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client address of r: the peer, or when the peer is
// a trusted proxy, the address X-Forwarded-For names before the trusted
// proxies. The header is read from the right, where each proxy appended
// the address it was reached from, and only as far as trusted proxies
// wrote it: what a client put into the header itself is never taken.
func (t Trusted) Client(r *http.Request) netip.Addr {
	peer := addr(r.RemoteAddr)
	if !peer.IsValid() || len(t) == 0 || !t.contains(peer) {
		return peer
	}
	client := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := strings.Split(hops[i], ",")
		for j := len(list) - 1; j >= 0; j-- {
			a := addr(strings.TrimSpace(list[j]))
			if !a.IsValid() {
				return client // garbage from beyond the last trusted proxy
			}
			client = a
			if !t.contains(a) {
				return client
			}
		}
	}
	return client // every hop a trusted proxy: the farthest one
}

// addr parses "ip", "ip:port" or "[ipv6]:port".
func addr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// Middleware sets r.RemoteAddr to the client address (port 0 when it
// came from X-Forwarded-For) before next sees the request.
func (t Trusted) Middleware(next http.Handler) http.Handler {
	if len(t) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := t.Client(r); c.IsValid() && c != addr(r.RemoteAddr) {
			r2 := *r
			r2.RemoteAddr = netip.AddrPortFrom(c, 0).String()
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}
