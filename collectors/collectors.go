// Package collectors defines the contract between the agent and the code
// that reads devices: a Config decoded from one YAML entry builds one
// Collector per target, and each Collect call hands samples, inventory and
// partial errors to a Sink.
//
// Implementations live in sub-packages and register themselves from init;
// collectors/all imports the built-in ones.
package collectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// Collector polls one target.
type Collector interface {
	// Collect polls the target once and hands results to s. It returns when
	// ctx is done (ctx carries the per-target timeout). A non-nil error means
	// this poll failed as a whole; partial problems go to s.Error.
	// Collect is never called concurrently for the same Collector.
	Collect(ctx context.Context, s Sink) error
}

// A Collector that holds something on its device between polls (a
// Redfish session) also implements io.Closer; the agent calls Close once,
// after the last Collect, when it stops.

// Sink receives what a collector reads. Implementations are safe for
// concurrent use; a collector may call them from several goroutines.
type Sink interface {
	Sample(kpi.Sample)
	Inventory(kpi.Inventory)
	Error(error)
}

// RowSink is a Sink that also takes kpi.Rows: a collector that builds its
// samples as rows (the SNMP collector, one per table row) hands them over
// without maps. Row must not keep r or its slices: the collector reuses
// them for the next row.
type RowSink interface {
	Sink
	Row(r *kpi.Row)
}

// EmitRow hands r to s, as a row if s takes rows and as a Sample if not.
func EmitRow(s Sink, r *kpi.Row) {
	if rs, ok := s.(RowSink); ok {
		rs.Row(r)
		return
	}
	s.Sample(r.Sample())
}

// Config is the decoded YAML entry of one collector type. It embeds Common.
type Config interface {
	// Base returns the fields every collector shares (provided by Common).
	Base() *Common
	// Validate checks the entry without any I/O and reports every problem,
	// joined with errors.Join.
	Validate() error
	// New builds the collector for one target. It must not contact the
	// target: an unreachable device is a failed poll, not a failed start.
	New(t Target, o Options) (Collector, error)
}

// Common holds the keys every collector entry has, inline in its YAML.
type Common struct {
	Type     string            `yaml:"type"`
	Name     string            `yaml:"name"`     // defaults to Type; unique per agent
	Interval yamlconf.Duration `yaml:"interval"` // 0 means the agent default
	Timeout  yamlconf.Duration `yaml:"timeout"`  // 0 means the agent default, at most Interval
	// Jitter delays each poll by a random amount up to it, so that many
	// targets of one entry do not hit a shared controller at the same
	// moment. 0 means the agent default.
	Jitter  yamlconf.Duration `yaml:"jitter"`
	Targets []Target          `yaml:"targets"`
}

// Base implements Config.
func (c *Common) Base() *Common { return c }

// Target is one device or service polled by a collector. One entry may
// also stand for many devices sharing its settings: an address that is a
// CIDR range (10.1.2.0/28) or a hosts list, with {host} in the asset id.
type Target struct {
	Address string            `yaml:"address"` // host, host:port, URL or CIDR range
	Hosts   []string          `yaml:"hosts"`   // instead of address: several hosts (host or host:port)
	Asset   string            `yaml:"asset"`   // agent-side asset id, unique per agent; {host} is replaced
	Labels  map[string]string `yaml:"labels"`  // extra tags added to every sample
}

// maxExpandedHosts bounds what one CIDR range or hosts list may stand for:
// a /20 is a typo more often than a plan.
const maxExpandedHosts = 4096

// expandTargets turns CIDR ranges and hosts lists into one target per host.
func expandTargets(ts []Target) ([]Target, error) {
	var out []Target
	var errs []error
	for i, t := range ts {
		hosts := t.Hosts
		if len(hosts) > 0 && t.Address != "" {
			errs = append(errs, fmt.Errorf("targets[%d]: set address or hosts, not both", i))
			continue
		}
		if p, err := netip.ParsePrefix(t.Address); err == nil && len(hosts) == 0 {
			var err error
			if hosts, err = prefixHosts(p); err != nil {
				errs = append(errs, fmt.Errorf("targets[%d]: address %s: %w", i, t.Address, err))
				continue
			}
		}
		if len(hosts) == 0 {
			t.Asset = strings.ReplaceAll(t.Asset, "{host}", hostOf(t.Address))
			out = append(out, t)
			continue
		}
		if len(hosts) > maxExpandedHosts {
			errs = append(errs, fmt.Errorf("targets[%d]: %d hosts; at most %d per entry", i, len(hosts), maxExpandedHosts))
			continue
		}
		if len(hosts) > 1 && !strings.Contains(t.Asset, "{host}") {
			errs = append(errs, fmt.Errorf("targets[%d]: asset %q: put {host} in it (for example %q) to give each of the %d hosts its own id",
				i, t.Asset, "ups-{host}", len(hosts)))
			continue
		}
		for _, h := range hosts {
			out = append(out, Target{Address: h, Asset: strings.ReplaceAll(t.Asset, "{host}", hostOf(h)), Labels: t.Labels})
		}
	}
	return out, errors.Join(errs...)
}

// prefixHosts lists the usable addresses of a CIDR range: without the
// network and broadcast address of IPv4 ranges larger than /31.
func prefixHosts(p netip.Prefix) ([]string, error) {
	p = p.Masked()
	bits := p.Addr().BitLen() - p.Bits()
	if bits > 12 {
		return nil, fmt.Errorf("range holds more than %d addresses", maxExpandedHosts)
	}
	var hosts []string
	for a, n := p.Addr(), 0; n < 1<<bits; a, n = a.Next(), n+1 {
		if p.Addr().Is4() && bits > 1 && (n == 0 || n == 1<<bits-1) {
			continue
		}
		hosts = append(hosts, a.String())
	}
	return hosts, nil
}

// hostOf strips a port and a URL scheme and path from an address.
func hostOf(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		return u.Hostname()
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Options carries what the agent gives every collector it builds.
type Options struct {
	Logger     *slog.Logger          // scoped with collector and target
	Registerer prometheus.Registerer // for the collector's own metrics
	DataDir    string                // private directory for state the collector keeps
	Shared     *Shared               // the agent's; nil shares nothing
}

// Shared holds what the collectors of one agent share across config
// entries and reloads, such as the SNMP sessions kept between polls:
// one per agent, so that what is kept is bounded by the agent, not by
// the number of entries in its config. The zero value is ready.
type Shared struct {
	mu sync.Mutex
	m  map[any]any
}

// Get returns what is kept under key, made by newV the first time.
func (s *Shared) Get(key any, newV func() any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[key]; ok {
		return v
	}
	if s.m == nil {
		s.m = map[any]any{}
	}
	v := newV()
	s.m[key] = v
	return v
}

// ValidateCommon checks the shared fields and expands CIDR ranges and
// hosts lists into one target per host. Collectors call it first in
// Validate, before checking their targets.
func (c *Common) ValidateCommon() error {
	var errs []error
	expanded, err := expandTargets(c.Targets)
	if err != nil {
		errs = append(errs, err)
	} else {
		c.Targets = expanded
	}
	if c.Name != "" && !kpi.ValidName(c.Name) {
		errs = append(errs, fmt.Errorf("name %q: use lowercase letters, digits and _", c.Name))
	}
	if c.Interval.D() < 0 || (c.Interval.D() > 0 && c.Interval.D() < time.Second) {
		errs = append(errs, fmt.Errorf("interval %s: must be at least 1s", c.Interval.D()))
	}
	if c.Timeout.D() < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: must be positive", c.Timeout.D()))
	}
	if c.Interval.D() > 0 && c.Timeout.D() > c.Interval.D() {
		errs = append(errs, fmt.Errorf("timeout %s: must not exceed interval %s", c.Timeout.D(), c.Interval.D()))
	}
	if c.Jitter.D() < 0 || (c.Interval.D() > 0 && c.Jitter.D() >= c.Interval.D()) {
		errs = append(errs, fmt.Errorf("jitter %s: must be at least 0 and less than the interval", c.Jitter.D()))
	}
	if len(c.Targets) == 0 {
		errs = append(errs, errors.New("targets: at least one target is needed"))
	}
	for i, t := range c.Targets {
		if err := t.validate(); err != nil {
			errs = append(errs, fmt.Errorf("targets[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

func (t Target) validate() error {
	var errs []error
	if t.Address == "" {
		errs = append(errs, errors.New("address: missing"))
	}
	if err := ValidateAssetID(t.Asset); err != nil {
		errs = append(errs, fmt.Errorf("asset: %w", err))
	}
	for k := range t.Labels {
		if !kpi.ValidName(k) {
			errs = append(errs, fmt.Errorf("labels: key %q: use lowercase letters, digits and _", k))
		}
	}
	return errors.Join(errs...)
}

// ValidateAssetID checks an agent-side asset id: 1 to 128 printable
// characters without spaces at either end.
func ValidateAssetID(id string) error {
	switch {
	case id == "":
		return errors.New("missing (every target needs an asset id, for example asset: core-switch-1)")
	case len(id) > 128:
		return fmt.Errorf("%q is longer than 128 bytes", id)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("%q starts or ends with white space", id)
	case strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("%q contains a control character", id)
	}
	return nil
}

// registry maps a collector type to its Config constructor. It is written
// only from init functions (Register) and read afterwards.
var registry = struct {
	sync.RWMutex
	m map[string]func() Config
}{m: map[string]func() Config{}}

// Register makes a collector type available to agent configs. newConfig
// returns a Config holding the type's defaults. Register panics on an empty
// or duplicate type, a programming error found at start.
func Register(typ string, newConfig func() Config) {
	registry.Lock()
	defer registry.Unlock()
	if typ == "" {
		panic("collectors: Register with empty type")
	}
	if _, dup := registry.m[typ]; dup {
		panic("collectors: Register called twice for type " + typ)
	}
	registry.m[typ] = newConfig
}

// Lookup returns a fresh Config with defaults for typ.
func Lookup(typ string) (Config, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.m[typ]
	if !ok {
		return nil, false
	}
	return f(), true
}

// Types lists the registered collector types, sorted.
func Types() []string {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Sorted(maps.Keys(registry.m))
}
