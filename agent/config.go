package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// Config is the agent's YAML configuration file.
type Config struct {
	Server        ServerConfig `yaml:"server"`
	DataDir       string       `yaml:"data_dir"`       // spool and credential live here
	LogLevel      string       `yaml:"log_level"`      // debug, info, warn, error
	MetricsListen string       `yaml:"metrics_listen"` // host:port of /metrics; "" disables
	// DebugListen serves Go's profiler (/debug/pprof/) on its own
	// host:port, for measuring the agent; off ("") by default and never
	// on metrics_listen, which a customer's Prometheus may reach.
	DebugListen string `yaml:"debug_listen"`
	// SoftMemoryLimitMB is the soft memory limit the agent gives Go's
	// garbage collector: 0 (the default) follows the live heap plus
	// headroom (memlimit.go), a number of MiB fixes it, -1 leaves Go's
	// default. GOMEMLIMIT in the environment takes precedence.
	SoftMemoryLimitMB int `yaml:"soft_memory_limit_mb"`
	// Exporter also serves the latest collected KPIs for Prometheus.
	Exporter ExporterConfig `yaml:"exporter"`
	// MaxParallelPolls bounds how many collections run at once, so that a
	// site with hundreds of targets does not open hundreds of sockets at
	// the same moment.
	MaxParallelPolls int `yaml:"max_parallel_polls"`
	// WatchConfig reloads the config when its file changes (SIGHUP always
	// does).
	WatchConfig bool              `yaml:"watch_config"`
	Defaults    DefaultsConfig    `yaml:"defaults"`
	Spool       SpoolConfig       `yaml:"spool"`
	Collectors  []CollectorConfig `yaml:"collectors"`
	// Credentials holds named blocks of settings (SNMP communities and v3
	// users, API logins) that collector entries reuse through YAML anchors
	// and merge keys (<<: *name). The agent reads nothing else from it.
	Credentials Credentials `yaml:"credentials"`

	path string     // file the config was read from, for messages
	doc  *yaml.Node // its top-level mapping, for the lines of keys in messages (while loading)
}

// ServerConfig says where the agent ships to and how it trusts the server.
type ServerConfig struct {
	URL            string `yaml:"url"`
	CAFile         string `yaml:"ca_file"`         // PEM bundle to trust instead of the system roots
	CertFile       string `yaml:"cert_file"`       // client certificate for mutual TLS
	KeyFile        string `yaml:"key_file"`        // its key
	CredentialFile string `yaml:"credential_file"` // default <data_dir>/credential.json
}

// ExporterConfig is the optional exporter mode: the latest KPIs of every
// target on metrics_listen, so a customer's Prometheus can scrape the
// agent directly.
type ExporterConfig struct {
	Enabled bool   `yaml:"enabled"`
	Path    string `yaml:"path"`   // default /kpis
	Prefix  string `yaml:"prefix"` // metric name prefix, default kpilot
}

// DefaultsConfig applies to collectors that do not set their own.
type DefaultsConfig struct {
	Interval yamlconf.Duration `yaml:"interval"`
	Timeout  yamlconf.Duration `yaml:"timeout"`
	Jitter   yamlconf.Duration `yaml:"jitter"`
}

// SpoolConfig bounds the on-disk queue and sets how often samples are cut
// into batches.
type SpoolConfig struct {
	MaxSizeMB     int               `yaml:"max_size_mb"`
	SegmentSizeMB int               `yaml:"segment_size_mb"`
	Fsync         spool.FsyncPolicy `yaml:"fsync"`          // always, interval, never
	FsyncInterval yamlconf.Duration `yaml:"fsync_interval"` // for fsync: interval
	FlushInterval yamlconf.Duration `yaml:"flush_interval"`
	MaxBatchLines int               `yaml:"max_batch_lines"`
	// MemoryLimitMB bounds the samples held in memory while the spool
	// cannot write (a full disk); beyond it the oldest are dropped.
	MemoryLimitMB int `yaml:"memory_limit_mb"`
}

func (c SpoolConfig) options(log *slog.Logger) spool.Options {
	return spool.Options{
		MaxBytes:      int64(c.MaxSizeMB) << 20,
		SegmentBytes:  int64(c.SegmentSizeMB) << 20,
		Fsync:         c.Fsync,
		FsyncInterval: c.FsyncInterval.D(),
		Log:           log,
	}
}

// Credentials is the top-level credentials section: name -> block.
type Credentials map[string]yaml.Node

// MarshalYAML hides the blocks: they hold secrets, and `validate --print`
// shows them merged into the entries (with secrets redacted) anyway.
func (c Credentials) MarshalYAML() (any, error) {
	if len(c) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for name := range c {
		out[name] = "<used through anchors>"
	}
	return out, nil
}

// DefaultConfig returns the defaults every config file starts from.
func DefaultConfig() Config {
	return Config{
		DataDir:          defaultDataDir(),
		LogLevel:         "info",
		MetricsListen:    "127.0.0.1:9465",
		Exporter:         ExporterConfig{Path: "/kpis", Prefix: "kpilot"},
		MaxParallelPolls: 16,
		WatchConfig:      true,
		Defaults: DefaultsConfig{
			Interval: yamlconf.Duration(60 * time.Second),
			Timeout:  yamlconf.Duration(10 * time.Second),
		},
		Spool: SpoolConfig{
			MaxSizeMB:     512,
			SegmentSizeMB: 8,
			Fsync:         spool.FsyncAlways,
			FsyncInterval: yamlconf.Duration(time.Second),
			FlushInterval: yamlconf.Duration(10 * time.Second),
			MaxBatchLines: 5000,
			MemoryLimitMB: 32,
		},
	}
}

// CollectorConfig is one entry of the collectors list: its type picks the
// registered collectors.Config that the rest of the entry decodes into.
type CollectorConfig struct {
	collectors.Config
	Line int // line of the entry in the file, for messages
}

// UnmarshalYAML reads type first, then decodes the whole entry strictly into
// the registered Config, so unknown keys are reported with their lines.
// It uses the function form on purpose: with *yaml.Node.Decode the
// decoder's KnownFields setting is lost and typos pass silently.
func (c *CollectorConfig) UnmarshalYAML(unmarshal func(any) error) error {
	var head map[string]yaml.Node
	if err := unmarshal(&head); err != nil {
		return err
	}
	typ, ok := head["type"]
	if !ok {
		return fmt.Errorf("collector entry without type (one of %v)", collectors.Types())
	}
	c.Line = typ.Line
	cfg, ok := collectors.Lookup(typ.Value)
	if !ok {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: unknown collector type %q (known: %v)", typ.Line, typ.Value, collectors.Types())}}
	}
	if err := unmarshal(cfg); err != nil {
		return err
	}
	c.Config = cfg
	return nil
}

// MarshalYAML prints the entry's Config (secrets redacted by their type).
func (c CollectorConfig) MarshalYAML() (any, error) { return c.Config, nil }

// LoadConfig reads, defaults and validates the agent config at path.
// Problems in the file are reported as a *ConfigError, each with its line.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	doc, problems := parseDocument(data)
	if doc != nil {
		problems = checkSchema(doc)
	}
	if len(problems) > 0 {
		return nil, newConfigError(path, problems)
	}
	cfg := DefaultConfig()
	var secretTypes []any // so that every collector's secrets may be given as K_file
	for _, typ := range collectors.Types() {
		c, _ := collectors.Lookup(typ)
		secretTypes = append(secretTypes, c)
	}
	if err := yamlconf.LoadFile(path, &cfg, secretTypes...); err != nil {
		if ps := decodeProblems(path, err); len(ps) > 0 {
			return nil, newConfigError(path, ps)
		}
		return nil, err
	}
	cfg.path, cfg.doc = path, doc
	if err := cfg.Validate(); err != nil {
		return nil, newConfigError(path, cfg.validationProblems(err))
	}
	// Only the messages above read the document: its nodes, megabytes for
	// a thousand targets, are not kept for the life of the config.
	cfg.doc = nil
	return &cfg, nil
}

// Validate checks meaning, fills derived defaults, and reports every
// problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Server.URL == "" {
		errs = append(errs, errors.New("server.url: missing"))
	} else if u, err := url.Parse(c.Server.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("server.url %q: must be an https:// (or, for tests, http://) URL", c.Server.URL))
	}
	if (c.Server.CertFile == "") != (c.Server.KeyFile == "") {
		errs = append(errs, errors.New("server.cert_file and server.key_file: set both for mutual TLS, or neither"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: missing"))
	}
	if c.Server.CredentialFile == "" && c.DataDir != "" {
		c.Server.CredentialFile = filepath.Join(c.DataDir, "credential.json")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("log_level %q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.Defaults.Interval.D() < time.Second {
		errs = append(errs, errors.New("defaults.interval: must be at least 1s"))
	}
	if c.Defaults.Timeout.D() <= 0 || c.Defaults.Timeout.D() > c.Defaults.Interval.D() {
		errs = append(errs, errors.New("defaults.timeout: must be positive and at most defaults.interval"))
	}
	if c.Defaults.Jitter.D() < 0 || c.Defaults.Jitter.D() >= c.Defaults.Interval.D() {
		errs = append(errs, errors.New("defaults.jitter: must be at least 0 and less than defaults.interval"))
	}
	if c.SoftMemoryLimitMB < -1 {
		errs = append(errs, errors.New("soft_memory_limit_mb: 0 (automatic), -1 (off) or a limit in MiB"))
	}
	if c.MaxParallelPolls < 1 {
		errs = append(errs, errors.New("max_parallel_polls: must be at least 1"))
	}
	if c.Exporter.Enabled {
		if c.MetricsListen == "" {
			errs = append(errs, errors.New("exporter.enabled: the exporter is served on metrics_listen, which is empty"))
		}
		if !strings.HasPrefix(c.Exporter.Path, "/") || c.Exporter.Path == "/metrics" {
			errs = append(errs, fmt.Errorf("exporter.path %q: must start with / and not be /metrics (the agent's own metrics)", c.Exporter.Path))
		}
		if !kpi.ValidName(c.Exporter.Prefix) {
			errs = append(errs, fmt.Errorf("exporter.prefix %q: use lowercase letters, digits and _", c.Exporter.Prefix))
		}
	}
	if c.Spool.MaxSizeMB < 1 {
		errs = append(errs, errors.New("spool.max_size_mb: must be at least 1"))
	}
	if c.Spool.SegmentSizeMB < 1 || c.Spool.SegmentSizeMB > c.Spool.MaxSizeMB {
		errs = append(errs, errors.New("spool.segment_size_mb: must be at least 1 and at most spool.max_size_mb"))
	}
	switch c.Spool.Fsync {
	case spool.FsyncAlways, spool.FsyncNever:
	case spool.FsyncInterval:
		if c.Spool.FsyncInterval.D() < 10*time.Millisecond {
			errs = append(errs, errors.New("spool.fsync_interval: must be at least 10ms"))
		}
	default:
		errs = append(errs, fmt.Errorf("spool.fsync %q: must be always (every batch is on disk before it counts as spooled), interval or never", c.Spool.Fsync))
	}
	if c.Spool.FlushInterval.D() < 100*time.Millisecond {
		errs = append(errs, errors.New("spool.flush_interval: must be at least 100ms"))
	}
	if c.Spool.MemoryLimitMB < 1 {
		errs = append(errs, errors.New("spool.memory_limit_mb: must be at least 1"))
	}
	if c.Spool.MaxBatchLines < 1 {
		errs = append(errs, errors.New("spool.max_batch_lines: must be at least 1"))
	}
	for name, n := range c.Credentials {
		if n.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("credentials.%s: must be a block of settings (key: value)", name))
		}
	}
	errs = append(errs, c.validateCollectors())
	return errors.Join(errs...)
}

func (c *Config) validateCollectors() error {
	var errs []error
	names := map[string]int{}
	assets := map[string]string{}
	for i, cc := range c.Collectors {
		b := cc.Base()
		if b.Name == "" {
			b.Name = b.Type
		}
		if b.Interval == 0 {
			b.Interval = c.Defaults.Interval
		}
		if b.Timeout == 0 && b.Interval.D() > 0 { // a negative interval is reported as itself, not as a timeout
			b.Timeout = yamlconf.Duration(min(c.Defaults.Timeout.D(), b.Interval.D()))
		}
		if b.Jitter == 0 && c.Defaults.Jitter.D() < b.Interval.D() {
			b.Jitter = c.Defaults.Jitter
		}
		var entryErrs []error
		listed := len(b.Targets) // before Validate expands ranges and hosts lists
		if err := cc.Validate(); err != nil {
			entryErrs = append(entryErrs, err)
		}
		if j, dup := names[b.Name]; dup {
			entryErrs = append(entryErrs, fmt.Errorf("name %q: already used by collectors[%d]; give each entry its own name", b.Name, j))
		}
		names[b.Name] = i
		for ti, t := range b.Targets {
			if prev, dup := assets[t.Asset]; dup && t.Asset != "" {
				where := fmt.Sprintf("targets[%d]", ti)
				if len(b.Targets) != listed { // ti counts hosts of ranges, not the file's items
					where = "targets: host " + t.Address
				}
				entryErrs = append(entryErrs, fmt.Errorf("%s: asset %q: already polled by collector %q; an asset id names one device", where, t.Asset, prev))
			}
			assets[t.Asset] = b.Name
		}
		if len(entryErrs) > 0 {
			errs = append(errs, &entryError{Index: i, Name: b.Name, Typ: b.Type, Err: errors.Join(entryErrs...)})
		}
	}
	return errors.Join(errs...)
}

// Path is the file the config was loaded from.
func (c *Config) Path() string { return c.path }
