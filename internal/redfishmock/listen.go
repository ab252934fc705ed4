package redfishmock

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/internal/tlsconf"
)

// Running is a mockup served over HTTPS, as the demo and end-to-end tests
// use it: a BMC at URL whose certificate CAPEM verifies.
type Running struct {
	*Server
	URL   string
	CAPEM []byte // the self-signed certificate, to use as the CA file
	srv   *http.Server
}

// Close stops serving.
func (r *Running) Close() error { return r.srv.Close() }

// ListenTLS serves the embedded mockup name on addr (127.0.0.1:0 picks a
// port) over HTTPS with a new self-signed certificate for 127.0.0.1.
func ListenTLS(addr, name string, o Options) (*Running, error) {
	root, err := Mockup(name)
	if err != nil {
		return nil, err
	}
	cert, certPEM, err := tlsconf.SelfSigned("kpilot redfish mockup")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("redfish mockup: %w", err)
	}
	m := New(root, o)
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go srv.ServeTLS(ln, "", "")
	return &Running{Server: m, URL: "https://" + ln.Addr().String(), CAPEM: certPEM, srv: srv}, nil
}
