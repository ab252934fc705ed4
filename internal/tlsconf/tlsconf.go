// Package tlsconf builds the TLS client settings that collectors share:
// system roots by default, a pinned CA file, or no verification when the
// operator asks for it.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Client returns a TLS 1.2+ client config that trusts the CA in caFile
// (PEM), or the system roots when caFile is empty. insecure turns
// verification off; asking for both is an error. On an error the returned
// config is still usable (the system roots), so a caller can report every
// problem at once.
func Client(caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // only when asked for
	if caFile == "" {
		return tc, nil
	}
	var errs []error
	if insecure {
		errs = append(errs, errors.New("ca_file and insecure_skip_verify: choose one"))
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return tc, errors.Join(append(errs, fmt.Errorf("ca_file: %w", err))...)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		errs = append(errs, fmt.Errorf("ca_file %s: no PEM certificate in it", caFile))
	}
	tc.RootCAs = pool
	return tc, errors.Join(errs...)
}
