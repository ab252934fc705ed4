// Package transport builds the agent's one HTTP client for talking to the
// server: system roots or a pinned CA bundle, optional client certificate
// for mutual TLS, TLS 1.2 at least.
package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// Options select how the agent trusts the server and proves itself.
type Options struct {
	CAFile   string // PEM bundle; empty means the system roots
	CertFile string // client certificate for mutual TLS; with KeyFile
	KeyFile  string
}

// NewClient returns the client used for enrollment and shipping. Requests
// carry their own deadlines through their ctx; Timeout is the last guard.
func NewClient(o Options) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate found", o.CAFile)
		}
		tc.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("client certificate: set both cert_file and key_file, or neither")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.Proxy = http.ProxyFromEnvironment // customer sites often require a proxy
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}, nil
}
