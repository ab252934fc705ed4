package clientaddr

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClient(t *testing.T) {
	trusted, err := Parse([]string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"})
	require.NoError(t, err)
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "198.51.100.9:5000", nil, "198.51.100.9"},
		{"an untrusted peer's header is ignored", "198.51.100.9:5000", []string{"203.0.113.1"}, "198.51.100.9"},
		{"through a trusted proxy", "10.1.2.3:443", []string{"203.0.113.1"}, "203.0.113.1"},
		{"a single trusted address", "192.0.2.7:443", []string{"203.0.113.1"}, "203.0.113.1"},
		{"trusted proxy without header", "10.1.2.3:443", nil, "10.1.2.3"},
		{"what the client wrote itself is not taken", "10.1.2.3:443", []string{"1.1.1.1, 203.0.113.1"}, "203.0.113.1"},
		{"two trusted proxies", "10.1.2.3:443", []string{"1.1.1.1, 203.0.113.1, 10.9.9.9"}, "203.0.113.1"},
		{"one header per proxy", "10.1.2.3:443", []string{"1.1.1.1, 203.0.113.1", "10.9.9.9"}, "203.0.113.1"},
		{"all hops trusted", "10.1.2.3:443", []string{"10.5.5.5, 10.9.9.9"}, "10.5.5.5"},
		{"garbage before the trusted hops", "10.1.2.3:443", []string{"203.0.113.1, not-an-address, 10.9.9.9"}, "10.9.9.9"},
		{"garbage right at the proxy", "10.1.2.3:443", []string{"<script>"}, "10.1.2.3"},
		{"address with port", "10.1.2.3:443", []string{"203.0.113.1:61000"}, "203.0.113.1"},
		{"IPv6", "[fd00::1]:443", []string{"[2001:db8::5]:61000"}, "2001:db8::5"},
		{"IPv4 in IPv6", "[::ffff:10.1.2.3]:443", []string{"::ffff:203.0.113.1"}, "203.0.113.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, h := range tt.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			require.Equal(t, tt.want, trusted.Client(r).String())
		})
	}
}

func TestParse(t *testing.T) {
	_, err := Parse([]string{"10.0.0.0/8", "proxy.example"})
	require.ErrorContains(t, err, `"proxy.example" is not an address or a CIDR prefix`)
	tr, err := Parse([]string{"10.1.2.3/8"})
	require.NoError(t, err)
	require.Equal(t, "10.0.0.0/8", tr[0].String())
}

func TestMiddleware(t *testing.T) {
	trusted, err := Parse([]string{"127.0.0.1"})
	require.NoError(t, err)
	var seen string
	h := trusted.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("X-Forwarded-For", "203.0.113.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	require.Equal(t, "203.0.113.1:0", seen)
	require.Equal(t, "127.0.0.1:40000", r.RemoteAddr, "the caller's request is not changed")

	var none Trusted
	require.NotNil(t, none.Middleware(http.NotFoundHandler()))
}
