package redfishmock

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"
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
	cert, certPEM, err := selfSigned()
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

func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "kpilot redfish mockup"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
