package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/kpilot/kpilot/internal/yamlconf"
	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/clientaddr"
	"github.com/kpilot/kpilot/server/lease"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// Config is the server's YAML configuration file.
type Config struct {
	Listen      string `yaml:"listen"`        // host:port
	TLSCertFile string `yaml:"tls_cert_file"` // serve HTTPS when set (with tls_key_file)
	TLSKeyFile  string `yaml:"tls_key_file"`
	DataDir     string `yaml:"data_dir"`
	// SecretsKeyFile holds the key that seals OU keys, system keys and
	// webhook secrets in the database (default <data_dir>/secrets.key,
	// created 0600 on first start): docs/install.md#secrets-at-rest.
	SecretsKeyFile string `yaml:"secrets_key_file"`
	LogLevel       string `yaml:"log_level"`
	// DebugListen serves Go's profiler (/debug/pprof/) on its own
	// address when set; keep it on 127.0.0.1.
	DebugListen string         `yaml:"debug_listen"`
	Database    DatabaseConfig `yaml:"database"`
	InfluxDB    InfluxConfig   `yaml:"influxdb"`
	Limits      LimitsConfig   `yaml:"limits"`
	Sessions    SessionsConfig `yaml:"sessions"`
	// TrustedProxies are reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For names the client: for rate limits per client
	// address and the audit trail. Empty: the peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// PublicURL is the server's address as users reach it; links in
	// invitations and password resets start with it.
	PublicURL string          `yaml:"public_url"`
	Mail      MailConfig      `yaml:"mail"`
	Checkups  CheckupConfig   `yaml:"checkups"`
	Webhooks  WebhookConfig   `yaml:"webhooks"`
	Retention RetentionConfig `yaml:"retention"`
	Jobs      JobsConfig      `yaml:"jobs"`

	// MetricsListen serves the server's own /metrics (Prometheus) on its
	// own address, as exporters do, so the API listener does not answer
	// it to anyone (127.0.0.1:9464; "" turns it off). Keep it on 127.0.0.1
	// or an address only Prometheus reaches.
	MetricsListen string `yaml:"metrics_listen"`
	// MetricsToken, when set, also serves /metrics on the API listener to
	// requests with "Authorization: Bearer <token>", for a Prometheus that
	// reaches the server only there; unset, that listener answers 404.
	MetricsToken yamlconf.Secret `yaml:"metrics_token"`
}

// JobsConfig is how replicas share the periodic jobs (check-ups, report
// schedules, webhook delivery, housekeeping): each runs on the replica
// that holds its lease in the database (docs/install.md#several-replicas).
type JobsConfig struct {
	// LeasePeriod (30s): how long a lease lasts unless its holder renews
	// it, every third of the period. A job pauses up to about this long
	// when its replica dies; a replica that stops cleanly hands its jobs
	// over at once.
	LeasePeriod yamlconf.Duration `yaml:"lease_period"`
}

// RetentionConfig is the housekeeping of the metadata store
// (docs/install.md#housekeeping): how long it keeps what piles up while
// the server runs. A period of 0 keeps those rows for good. Expired
// sessions and password resets, and rate-limit windows older than a day,
// always go.
type RetentionConfig struct {
	// Interval between runs (1h); 0 turns the housekeeping off.
	Interval yamlconf.Duration `yaml:"interval"`
	// IngestedBatches: the ids by which retried batches are recognised
	// (30d). A batch sent again later is written again, which InfluxDB
	// takes as an overwrite of the same points.
	IngestedBatches yamlconf.Duration `yaml:"ingested_batches"`
	// WebhookDeliveries: delivered and given-up deliveries (30d).
	WebhookDeliveries yamlconf.Duration `yaml:"webhook_deliveries"`
	// ResolvedFindings: findings resolved this long ago (90d).
	ResolvedFindings yamlconf.Duration `yaml:"resolved_findings"`
	// InventoryChanges: inventory history (0, for good).
	InventoryChanges yamlconf.Duration `yaml:"inventory_changes"`
	// AuditEvents: the audit trail (0, for good).
	AuditEvents yamlconf.Duration `yaml:"audit_events"`
}

// rateLimitKeep outlasts the longest rate-limit window (15 minutes).
const rateLimitKeep = 24 * time.Hour

// Store returns the retention periods for the store.
func (r RetentionConfig) Store() store.Retention {
	return store.Retention{
		Batches:           r.IngestedBatches.D(),
		RateLimits:        rateLimitKeep,
		WebhookDeliveries: r.WebhookDeliveries.D(),
		ResolvedFindings:  r.ResolvedFindings.D(),
		InventoryChanges:  r.InventoryChanges.D(),
		AuditEvents:       r.AuditEvents.D(),
	}
}

// WebhookConfig tunes webhook delivery (docs/webhooks.md).
type WebhookConfig struct {
	// MaxAttempts before a delivery is given up (8).
	MaxAttempts int `yaml:"max_attempts"`
	// Timeout of one attempt (10s).
	Timeout yamlconf.Duration `yaml:"timeout"`
	// AllowedNetworks (CIDR) may be reached although loopback or
	// link-local: e.g. 127.0.0.1/32 for a receiver on the server's host.
	AllowedNetworks []string `yaml:"allowed_networks"`
}

// CheckupConfig schedules the check-ups (docs/checkups.md).
type CheckupConfig struct {
	// Interval between evaluations of every organization; 0 turns the
	// schedule off (POST /api/v1/checkups/run still evaluates).
	Interval yamlconf.Duration `yaml:"interval"`
	// RulesFile holds the rules of organizations without their own; the
	// built-in defaults when empty.
	RulesFile string `yaml:"rules_file"`
}

// MailConfig selects how the server sends email: through SMTP when
// smtp.host is set, else into outbox_dir (default <data_dir>/outbox) as
// .eml files, for the demo and development.
type MailConfig struct {
	From      string     `yaml:"from"`
	OutboxDir string     `yaml:"outbox_dir"`
	SMTP      SMTPConfig `yaml:"smtp"`
}

// SMTPConfig is the mail server.
type SMTPConfig struct {
	Host     string            `yaml:"host"`
	Port     int               `yaml:"port"`
	TLS      string            `yaml:"tls"` // starttls (default), tls, none
	Username string            `yaml:"username"`
	Password yamlconf.Secret   `yaml:"password"`
	CAFile   string            `yaml:"ca_file"`
	Timeout  yamlconf.Duration `yaml:"timeout"`
}

// DatabaseConfig selects the metadata store.
type DatabaseConfig struct {
	Driver string          `yaml:"driver"` // sqlite (default) or postgres
	Path   string          `yaml:"path"`   // SQLite file; default <data_dir>/kpilot.db
	DSN    yamlconf.Secret `yaml:"dsn"`    // PostgreSQL: postgres://user:pass@host/db?sslmode=verify-full
}

// InfluxConfig points at InfluxDB 1.x, 2.x or 3.x. Reads are InfluxQL on
// the v1 /query endpoint (database and retention policy), writes go to
// /api/v2/write (bucket); all three serve both.
type InfluxConfig struct {
	URL   string          `yaml:"url"`
	Token yamlconf.Secret `yaml:"token"` // 2.x or 3.x token, or "user:password" for 1.x
	Org   string          `yaml:"org"`   // 2.x organization; ignored by 1.x and 3.x
	// Database and RetentionPolicy are what reads query: the 1.x database
	// and retention policy, a 2.x DBRP mapping of the bucket, the 3.x
	// database. Without database, both come from bucket ("db/rp" or "db").
	Database        string `yaml:"database"`
	RetentionPolicy string `yaml:"retention_policy"` // empty: the database's default
	// Bucket is where writes go: "database/retention-policy" for 1.x, the
	// bucket for 2.x, the database for 3.x. Without it, database and
	// retention_policy make it. Neither set: kpilot/autogen.
	Bucket       string            `yaml:"bucket"`
	Timeout      yamlconf.Duration `yaml:"timeout"`       // one write
	QueryTimeout yamlconf.Duration `yaml:"query_timeout"` // one read (InfluxQL statement)
	// WriteRetries: a failed write (InfluxDB down, overloaded, timed out)
	// is retried this often within the agent's request before the agent is
	// told to retry later (503).
	WriteRetries int `yaml:"write_retries"`
	// WriteParts: a large agent batch arriving while few others are in
	// flight is written as up to this many requests at once, since
	// InfluxDB parses each request on one core (0: 2; 1: never split).
	WriteParts int `yaml:"write_parts"`
	// Gzip compresses writes: worth it when InfluxDB is across a network,
	// CPU spent for nothing when it runs beside the server.
	Gzip bool `yaml:"gzip"`
}

// validate fills database, retention policy and bucket from one another
// and checks them.
func (c *InfluxConfig) validate() []error {
	var errs []error
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, fmt.Errorf("influxdb.url %q: must be an http:// or https:// URL", c.URL))
	}
	if c.Database == "" && c.Bucket == "" {
		c.Database, c.RetentionPolicy = "kpilot", "autogen"
	}
	if c.Database == "" {
		// Configs from before reads moved to InfluxQL name the bucket
		// only.
		if c.RetentionPolicy != "" {
			errs = append(errs, errors.New("influxdb.retention_policy: set influxdb.database too"))
		}
		c.Database, c.RetentionPolicy, _ = strings.Cut(c.Bucket, "/")
	}
	if c.Bucket == "" {
		c.Bucket = c.Database
		if c.RetentionPolicy != "" {
			c.Bucket += "/" + c.RetentionPolicy
		}
	}
	for _, n := range []struct{ key, val string }{
		{"database", c.Database}, {"retention_policy", c.RetentionPolicy}, {"bucket", c.Bucket}, {"org", c.Org},
	} {
		if strings.ContainsAny(n.val, "\"'") || strings.ContainsFunc(n.val, unicode.IsControl) {
			errs = append(errs, fmt.Errorf("influxdb.%s %q: must contain no quotes, backslashes, newlines or other control characters", n.key, n.val))
		}
	}
	if c.Database == "" || strings.Contains(c.Database, "/") {
		errs = append(errs, fmt.Errorf("influxdb.database %q: must be set (or influxdb.bucket) and contain no '/'", c.Database))
	}
	if strings.Contains(c.RetentionPolicy, "/") {
		errs = append(errs, fmt.Errorf("influxdb.retention_policy %q: must contain no '/'", c.RetentionPolicy))
	}
	if c.Timeout.D() < time.Second {
		errs = append(errs, errors.New("influxdb.timeout: must be at least 1s"))
	}
	if d := c.QueryTimeout.D(); d < time.Second || d > 10*time.Minute {
		errs = append(errs, fmt.Errorf("influxdb.query_timeout %s: from 1s to 10m", d))
	}
	return errs
}

// LimitsConfig bounds requests.
type LimitsConfig struct {
	IngestMaxBytes             int64 `yaml:"ingest_max_bytes"`
	IngestMaxDecompressedBytes int64 `yaml:"ingest_max_decompressed_bytes"`
	// IngestConcurrency batches are decoded and written at once (0: twice
	// the CPUs, at least 4); further batches wait IngestQueueWait, then
	// are answered 429. Ingest memory stays below about
	// ingest_concurrency × 3 × ingest_max_decompressed_bytes.
	IngestConcurrency int               `yaml:"ingest_concurrency"`
	IngestQueueWait   yamlconf.Duration `yaml:"ingest_queue_wait"`
	// IngestPerAgent bounds one agent's batches in the server at once,
	// their upload included (429 beyond); IngestBodyTimeout the time one
	// upload may take (503, the agent retries).
	IngestPerAgent    int               `yaml:"ingest_per_agent"`
	IngestBodyTimeout yamlconf.Duration `yaml:"ingest_body_timeout"`
	// KeyGuesses: wrong OU keys, system keys and partner IDs per
	// organization (three times as many per client address) per 15 min.
	KeyGuesses int `yaml:"key_guesses"`
	// LoginFailures: failed logins of one client address for one account
	// before each further attempt waits 2^k seconds (at most 15 minutes)
	// after the latest failure. No count is kept per account alone, so
	// failures elsewhere never hold its owner up.
	LoginFailures int `yaml:"login_failures"`
	// NewAssetsPerAgentHour caps the assets one agent may create per hour
	// (0: no cap); points of further new assets are refused.
	NewAssetsPerAgentHour int `yaml:"new_assets_per_agent_hour"`
	// LoginFailuresPerAddress: the same for one client address across
	// all accounts.
	LoginFailuresPerAddress int `yaml:"login_failures_per_address"`
	// SecretFailures: wrong secrets (enrollment, invitation and reset
	// tokens, agent credentials, session and API tokens) one client
	// address may send before it is refused, right secrets too, until 15
	// minutes after its latest failure.
	SecretFailures int `yaml:"secret_failures"`
}

// SessionsConfig sets token lifetimes.
type SessionsConfig struct {
	TTL                yamlconf.Duration `yaml:"ttl"`
	EnrollmentTokenTTL yamlconf.Duration `yaml:"enrollment_token_ttl"`
	InvitationTTL      yamlconf.Duration `yaml:"invitation_ttl"`
	PasswordResetTTL   yamlconf.Duration `yaml:"password_reset_ttl"`
	// APITokenTTL is the lifetime of an API token made without one.
	APITokenTTL yamlconf.Duration `yaml:"api_token_ttl"`
}

// MinMetricsTokenLen is the shortest metrics_token accepted: /metrics
// has no guessing limit, so the token must be too long to guess.
const MinMetricsTokenLen = 24

// DefaultConfig returns the defaults every config file starts from.
func DefaultConfig() Config {
	return Config{
		Listen:   "127.0.0.1:8080",
		DataDir:  "/var/lib/kpilot-server",
		LogLevel: "info",
		Database: DatabaseConfig{Driver: "sqlite"},
		InfluxDB: InfluxConfig{Timeout: yamlconf.Duration(10 * time.Second), QueryTimeout: yamlconf.Duration(tsdb.DefaultQueryTimeout), WriteRetries: 2},
		Limits: LimitsConfig{
			IngestMaxBytes:             8 << 20,
			IngestMaxDecompressedBytes: 16 << 20,
			IngestQueueWait:            yamlconf.Duration(2 * time.Second),
			IngestPerAgent:             2,
			IngestBodyTimeout:          yamlconf.Duration(time.Minute),
			KeyGuesses:                 10,
			LoginFailures:              5,
			LoginFailuresPerAddress:    20,
			SecretFailures:             50,
			NewAssetsPerAgentHour:      500,
		},
		Sessions: SessionsConfig{
			TTL:                yamlconf.Duration(12 * time.Hour),
			EnrollmentTokenTTL: yamlconf.Duration(time.Hour),
			InvitationTTL:      yamlconf.Duration(7 * 24 * time.Hour),
			PasswordResetTTL:   yamlconf.Duration(time.Hour),
			APITokenTTL:        yamlconf.Duration(90 * 24 * time.Hour),
		},
		PublicURL: "http://127.0.0.1:8080",
		Mail:      MailConfig{From: "kpilot <noreply@kpilot.invalid>"},
		Checkups:  CheckupConfig{Interval: yamlconf.Duration(5 * time.Minute)},
		Retention: RetentionConfig{
			Interval:          yamlconf.Duration(time.Hour),
			IngestedBatches:   yamlconf.Duration(30 * day),
			WebhookDeliveries: yamlconf.Duration(30 * day),
			ResolvedFindings:  yamlconf.Duration(90 * day),
		},
		Jobs: JobsConfig{LeasePeriod: yamlconf.Duration(lease.DefaultPeriod)},

		// As Prometheus exporters do: metrics on their own loopback port.
		MetricsListen: "127.0.0.1:9464",
	}
}

const day = 24 * time.Hour

// LoadConfig reads, defaults and validates the server config at path.
func LoadConfig(path string) (*Config, error) {
	cfg := DefaultConfig()
	if err := yamlconf.LoadFile(path, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &cfg, nil
}

// Validate checks meaning, fills derived defaults and reports every problem.
func (c *Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen: missing"))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("metrics_listen %q: a host:port, or \"\" for none", c.MetricsListen))
		}
	}
	if t := c.MetricsToken.Reveal(); t != "" && len(t) < MinMetricsTokenLen {
		errs = append(errs, fmt.Errorf("metrics_token: at least %d characters (a long random string)", MinMetricsTokenLen))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("tls_cert_file and tls_key_file: set both, or neither"))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("log_level %q: must be debug, info, warn or error", c.LogLevel))
	}
	switch c.Database.Driver {
	case "sqlite":
		if c.Database.Path == "" {
			if c.DataDir == "" {
				errs = append(errs, errors.New("database.path: missing (or set data_dir)"))
			}
			c.Database.Path = filepath.Join(c.DataDir, "kpilot.db")
		}
	case "postgres":
		if c.Database.DSN.Reveal() == "" {
			errs = append(errs, errors.New("database.dsn: missing (a postgres:// URL) for driver postgres"))
		}
	default:
		errs = append(errs, fmt.Errorf("database.driver %q: must be sqlite or postgres", c.Database.Driver))
	}
	if c.SecretsKeyFile == "" {
		if c.DataDir == "" {
			errs = append(errs, errors.New("secrets_key_file: missing (or set data_dir)"))
		}
		c.SecretsKeyFile = filepath.Join(c.DataDir, "secrets.key")
	}
	errs = append(errs, c.InfluxDB.validate()...)
	if c.Limits.IngestMaxBytes < 1<<10 || c.Limits.IngestMaxDecompressedBytes < c.Limits.IngestMaxBytes {
		errs = append(errs, errors.New("limits: ingest_max_bytes must be at least 1024 and ingest_max_decompressed_bytes at least as large"))
	}
	if c.Sessions.TTL.D() < time.Minute {
		errs = append(errs, errors.New("sessions.ttl: must be at least 1m"))
	}
	if c.Sessions.EnrollmentTokenTTL.D() < time.Minute {
		errs = append(errs, errors.New("sessions.enrollment_token_ttl: must be at least 1m"))
	}
	if c.Sessions.InvitationTTL.D() < time.Hour || c.Sessions.PasswordResetTTL.D() < 5*time.Minute {
		errs = append(errs, errors.New("sessions: invitation_ttl must be at least 1h and password_reset_ttl at least 5m"))
	}
	if d := c.Sessions.APITokenTTL.D(); d < time.Hour || d > account.APITokenMaxTTL {
		errs = append(errs, errors.New("sessions.api_token_ttl: from 1h to 732d (two years)"))
	}
	if c.InfluxDB.WriteParts < 0 || c.InfluxDB.WriteParts > 16 {
		errs = append(errs, fmt.Errorf("influxdb.write_parts %d: from 0 (the default, 2) to 16", c.InfluxDB.WriteParts))
	}
	if c.Limits.IngestConcurrency < 0 || c.Limits.IngestQueueWait < 0 || c.InfluxDB.WriteRetries < 0 || c.InfluxDB.WriteRetries > 10 {
		errs = append(errs, errors.New("limits.ingest_concurrency and limits.ingest_queue_wait must not be negative, influxdb.write_retries from 0 to 10"))
	}
	if c.Limits.NewAssetsPerAgentHour < 0 {
		errs = append(errs, errors.New("limits.new_assets_per_agent_hour must not be negative (0: no cap)"))
	}
	if c.Limits.KeyGuesses < 1 || c.Limits.LoginFailures < 1 || c.Limits.LoginFailuresPerAddress < 1 || c.Limits.SecretFailures < 1 {
		errs = append(errs, errors.New("limits: key_guesses, login_failures, login_failures_per_address and secret_failures must be at least 1"))
	}
	if c.Limits.IngestPerAgent < 1 || c.Limits.IngestBodyTimeout.D() < time.Second {
		errs = append(errs, errors.New("limits: ingest_per_agent must be at least 1 and ingest_body_timeout at least 1s"))
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("public_url %q: must be the http:// or https:// address users reach the server at", c.PublicURL))
	}
	if _, err := netmail.ParseAddress(c.Mail.From); err != nil {
		errs = append(errs, fmt.Errorf("mail.from %q: not an email address", c.Mail.From))
	}
	switch c.Mail.SMTP.TLS {
	case "", "starttls", "tls", "none":
	default:
		errs = append(errs, fmt.Errorf("mail.smtp.tls %q: must be starttls, tls or none", c.Mail.SMTP.TLS))
	}
	if i := c.Checkups.Interval.D(); i != 0 && i < time.Minute {
		errs = append(errs, errors.New("checkups.interval: at least 1m, or 0 to turn the schedule off"))
	}
	if c.Webhooks.MaxAttempts < 0 || c.Webhooks.MaxAttempts > 20 || c.Webhooks.Timeout < 0 {
		errs = append(errs, errors.New("webhooks: max_attempts from 0 to 20, timeout not negative"))
	}
	for _, n := range c.Webhooks.AllowedNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			errs = append(errs, fmt.Errorf("webhooks.allowed_networks: %q is not a CIDR prefix like 127.0.0.1/32", n))
		}
	}
	errs = append(errs, c.Retention.validate()...)
	if p := c.Jobs.LeasePeriod.D(); p < 3*time.Second || p > 10*time.Minute {
		errs = append(errs, fmt.Errorf("jobs.lease_period %s: from 3s to 10m", p))
	}
	if _, err := clientaddr.Parse(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("trusted_proxies: %w", err))
	}
	if c.Mail.SMTP.Host == "" && c.Mail.OutboxDir == "" && c.DataDir != "" {
		c.Mail.OutboxDir = filepath.Join(c.DataDir, "outbox")
	}
	return errors.Join(errs...)
}

// Level is the configured log level (validated already).
func (c *Config) Level() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

func (r RetentionConfig) validate() []error {
	var errs []error
	if i := r.Interval.D(); i != 0 && (i < time.Minute || i > day) {
		errs = append(errs, fmt.Errorf("retention.interval %s: from 1m to 24h, or 0 to turn the housekeeping off", i))
	}
	for _, p := range []struct {
		name string
		d    time.Duration
		min  time.Duration
	}{
		// A retried batch must still be recognised: an agent retries
		// within minutes, or hours after an outage.
		{"ingested_batches", r.IngestedBatches.D(), day},
		{"webhook_deliveries", r.WebhookDeliveries.D(), day},
		{"resolved_findings", r.ResolvedFindings.D(), day},
		{"inventory_changes", r.InventoryChanges.D(), day},
		{"audit_events", r.AuditEvents.D(), day},
	} {
		if p.d != 0 && p.d < p.min {
			errs = append(errs, fmt.Errorf("retention.%s %s: at least 1d, or 0 to keep for good", p.name, p.d))
		}
	}
	return errs
}
