package redfish

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/tlsconf"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// Config is one `type: redfish` entry of the agent config.
type Config struct {
	collectors.Common `yaml:",inline"`

	Username string          `yaml:"username"`
	Password yamlconf.Secret `yaml:"password"`
	// Auth is "session" (the default: one Redfish session kept across
	// polls and closed on shutdown) or "basic" (HTTP basic auth on every
	// request, for BMCs whose session service is broken).
	Auth string `yaml:"auth"`

	// CAFile pins the CA that signed the BMC certificates; by default the
	// system roots verify them. InsecureSkipVerify turns verification off
	// (BMCs often ship self-signed certificates); it must be asked for.
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`

	// RequestTimeout bounds one HTTP request; the poll as a whole is
	// bounded by the entry's timeout.
	RequestTimeout yamlconf.Duration `yaml:"request_timeout"`
	// MaxConcurrentRequests bounds the requests in flight to one BMC
	// (BMCs are slow and fragile; 4 is what iLO and iDRAC handle well).
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`

	// InventoryInterval is how often the slow-changing inventory (systems,
	// processors, DIMMs, drives, adapters, firmware) is read; power,
	// thermal and health readings are read every interval.
	InventoryInterval yamlconf.Duration `yaml:"inventory_interval"`

	// Events reads new log entries (iLO IML, SEL, ...) as health events.
	Events bool `yaml:"events"`
	// EventsInterval is how often the log services are read.
	EventsInterval yamlconf.Duration `yaml:"events_interval"`
	// EventsLookback limits the first read of a log: entries older than
	// this are history, not events.
	EventsLookback yamlconf.Duration `yaml:"events_lookback"`

	// Expand asks for collections with their members inline ($expand),
	// where the BMC says it supports that: one request instead of one per
	// member. A BMC that refuses it is asked member by member.
	Expand bool `yaml:"expand"`

	// MaxResponseBytes refuses a larger answer (a broken or hostile BMC).
	MaxResponseBytes int64 `yaml:"max_response_bytes"`

	tls *tls.Config // built by Validate
}

func newConfig() collectors.Config {
	return &Config{
		Auth:                  "session",
		RequestTimeout:        yamlconf.Duration(15 * time.Second),
		MaxConcurrentRequests: 4,
		InventoryInterval:     yamlconf.Duration(time.Hour),
		Events:                true,
		Expand:                true,
		EventsInterval:        yamlconf.Duration(5 * time.Minute),
		EventsLookback:        yamlconf.Duration(7 * 24 * time.Hour),
		MaxResponseBytes:      32 << 20,
	}
}

// Validate implements collectors.Config.
func (c *Config) Validate() error {
	errs := []error{c.ValidateCommon()}
	for i, t := range c.Targets {
		if _, err := endpoint(t.Address); err != nil {
			errs = append(errs, fmt.Errorf("targets[%d]: address: %w", i, err))
		}
	}
	switch c.Auth {
	case "session", "basic":
	default:
		errs = append(errs, fmt.Errorf("auth %q: must be session or basic", c.Auth))
	}
	if c.Username == "" {
		errs = append(errs, errors.New("username: missing (BMCs answer little without a login; a read-only account is enough)"))
	}
	if c.Password.Reveal() == "" {
		errs = append(errs, errors.New("password: missing (write it as ${ENV_VAR} or {file: path})"))
	}
	if c.RequestTimeout.D() < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("request_timeout %s: must be at least 100ms", c.RequestTimeout.D()))
	}
	if c.MaxConcurrentRequests < 1 || c.MaxConcurrentRequests > 32 {
		errs = append(errs, fmt.Errorf("max_concurrent_requests %d: must be between 1 and 32", c.MaxConcurrentRequests))
	}
	if c.InventoryInterval.D() < 0 {
		errs = append(errs, fmt.Errorf("inventory_interval %s: must be positive", c.InventoryInterval.D()))
	}
	if c.EventsInterval.D() < 0 || c.EventsLookback.D() < 0 {
		errs = append(errs, errors.New("events_interval and events_lookback: must be positive"))
	}
	if c.MaxResponseBytes < 1<<16 {
		errs = append(errs, fmt.Errorf("max_response_bytes %d: must be at least 65536", c.MaxResponseBytes))
	}
	tc, err := tlsconf.Client(c.CAFile, c.InsecureSkipVerify)
	if err != nil {
		errs = append(errs, err)
	}
	c.tls = tc
	return errors.Join(errs...)
}

// httpClient builds the HTTP client for one BMC: connections are kept
// open between requests (a TLS handshake with a BMC costs more than most
// requests), and every request has its own timeout.
func (c *Config) httpClient() *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // BMCs sit on management networks; never through a proxy
		DialContext:         (&net.Dialer{Timeout: c.RequestTimeout.D(), KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     c.tls.Clone(),
		TLSHandshakeTimeout: c.RequestTimeout.D(),
		MaxIdleConnsPerHost: c.MaxConcurrentRequests,
		MaxConnsPerHost:     c.MaxConcurrentRequests,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false, // BMC HTTP/2 support is rare and often broken
	}
	return &http.Client{Transport: tr, Timeout: c.RequestTimeout.D(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// endpoint turns a target address (host, host:port or URL) into the base
// URL of the BMC: https unless the URL says http.
func endpoint(addr string) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", fmt.Errorf("%q: %w", addr, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("%q: scheme must be https or http", addr)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("%q: host missing", addr)
	}
	if u.Path != "" && u.Path != "/" && u.Path != "/redfish/v1" && u.Path != "/redfish/v1/" {
		return "", fmt.Errorf("%q: give the BMC address without a path", addr)
	}
	return u.Scheme + "://" + u.Host, nil
}
