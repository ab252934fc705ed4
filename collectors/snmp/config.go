package snmp

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// Config is one `type: snmp` entry of the agent config.
type Config struct {
	collectors.Common `yaml:",inline"`

	Version        string          `yaml:"version"`         // 1, 2c or 3
	Community      yamlconf.Secret `yaml:"community"`       // v1 and v2c
	Retries        int             `yaml:"retries"`         // per request, after the first try
	MaxRepetitions uint32          `yaml:"max_repetitions"` // GetBulk size for table walks
	// Walk is "bulk" (GetBulk, the default for v2c and v3) or "getnext"
	// (for v1 and for agents that answer GetBulk wrongly).
	Walk string `yaml:"walk"`

	// SNMPv3 (User-based Security Model).
	Username      string          `yaml:"username"`
	SecurityLevel string          `yaml:"security_level"` // no_auth_no_priv, auth_no_priv, auth_priv
	AuthProtocol  string          `yaml:"auth_protocol"`  // md5, sha, sha224, sha256, sha384, sha512
	AuthPassword  yamlconf.Secret `yaml:"auth_password"`
	PrivProtocol  string          `yaml:"priv_protocol"` // des, aes, aes192, aes256, aes192c, aes256c
	PrivPassword  yamlconf.Secret `yaml:"priv_password"`
	ContextName   string          `yaml:"context_name"`

	// Profiles names the profiles to read, or "auto" (the default) to pick
	// them by sysObjectID and detect OIDs; "auto" may be combined with names.
	Profiles []string `yaml:"profiles"`
	// ProfilesDir lists directories of extra profiles (*.yaml); one with the
	// name of a built-in profile replaces it.
	ProfilesDir []string `yaml:"profiles_dir"`
	// LookupRefresh is how often slow-changing columns (interface names,
	// storage descriptions), the inventory and the auto selection are read
	// again; in between they come from a cache.
	LookupRefresh yamlconf.Duration `yaml:"lookup_refresh"`
	// MaxTableRows cuts off a table column with more rows (a broken agent
	// that never ends a walk, or a table nobody wants whole).
	MaxTableRows int `yaml:"max_table_rows"`

	lib   *Library   // loaded by Validate
	plans *planCache // shared by the entry's targets
}

// The agent sends the definitions of a user's own profiles or templates.
var _ collectors.KPIDefiner = (*Config)(nil)

func newConfig() collectors.Config {
	return &Config{Version: "2c", Community: "public", Retries: 1, MaxRepetitions: 25,
		Profiles: []string{"auto"}, LookupRefresh: yamlconf.Duration(15 * time.Minute), MaxTableRows: defaultMaxRows,
		plans: &planCache{}}
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"md5": gosnmp.MD5, "sha": gosnmp.SHA, "sha224": gosnmp.SHA224,
	"sha256": gosnmp.SHA256, "sha384": gosnmp.SHA384, "sha512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"des": gosnmp.DES, "aes": gosnmp.AES, "aes192": gosnmp.AES192,
	"aes256": gosnmp.AES256, "aes192c": gosnmp.AES192C, "aes256c": gosnmp.AES256C,
}

var securityLevels = map[string]gosnmp.SnmpV3MsgFlags{
	"no_auth_no_priv": gosnmp.NoAuthNoPriv,
	"auth_no_priv":    gosnmp.AuthNoPriv,
	"auth_priv":       gosnmp.AuthPriv,
}

// Validate implements collectors.Config.
func (c *Config) Validate() error {
	errs := []error{c.ValidateCommon()}
	for i, t := range c.Targets {
		if _, _, err := splitAddress(t.Address); err != nil {
			errs = append(errs, fmt.Errorf("targets[%d]: address: %w", i, err))
		}
	}
	if c.Retries < 0 || c.Retries > 10 {
		errs = append(errs, fmt.Errorf("retries %d: must be between 0 and 10", c.Retries))
	}
	if c.MaxRepetitions == 0 || c.MaxRepetitions > 200 {
		errs = append(errs, fmt.Errorf("max_repetitions %d: must be between 1 and 200", c.MaxRepetitions))
	}
	switch c.Walk {
	case "", "bulk", "getnext":
	default:
		errs = append(errs, fmt.Errorf("walk %q: must be bulk or getnext", c.Walk))
	}
	if c.LookupRefresh.D() < 0 {
		errs = append(errs, fmt.Errorf("lookup_refresh %s: must be positive", c.LookupRefresh.D()))
	}
	if c.MaxTableRows < 1 {
		errs = append(errs, fmt.Errorf("max_table_rows %d: must be at least 1", c.MaxTableRows))
	}
	errs = append(errs, c.loadProfiles())
	switch c.Version {
	case "1", "2c":
		if c.Community.Reveal() == "" {
			errs = append(errs, fmt.Errorf("community: missing for SNMP v%s", c.Version))
		}
		if c.Walk == "bulk" && c.Version == "1" {
			errs = append(errs, errors.New("walk bulk: SNMP v1 has no GetBulk; use getnext"))
		}
	case "3":
		errs = append(errs, c.validateV3())
	default:
		errs = append(errs, fmt.Errorf("version %q: must be 1, 2c or 3", c.Version))
	}
	return errors.Join(errs...)
}

// loadProfiles reads the profile library and checks the names asked for.
func (c *Config) loadProfiles() error {
	lib, err := loadLibrary(c.ProfilesDir)
	if err != nil {
		return err
	}
	c.lib = lib
	if len(c.Profiles) == 0 {
		return errors.New("profiles: empty; name profiles or use [auto]")
	}
	var errs []error
	for i, name := range c.Profiles {
		if name == "auto" {
			continue
		}
		if _, ok := lib.Get(name); !ok {
			errs = append(errs, fmt.Errorf("profiles[%d]: no profile %q (known: %s)", i, name, strings.Join(lib.Names(), ", ")))
		}
	}
	return errors.Join(errs...)
}

// KPIDefinitions returns the KPI definitions of the user's own profiles
// (those of profiles_dir) the config loaded, for the agent to send to the
// server (collectors.KPIDefiner); nil before Validate and without
// profiles_dir.
func (c *Config) KPIDefinitions() []catalog.Section {
	if c.lib == nil {
		return nil
	}
	return c.lib.UserKPIs()
}

func (c *Config) validateV3() error {
	var errs []error
	if c.Username == "" {
		errs = append(errs, errors.New("username: missing for SNMP v3"))
	}
	level, ok := securityLevels[c.SecurityLevel]
	if !ok {
		return errors.Join(append(errs, fmt.Errorf("security_level %q: must be no_auth_no_priv, auth_no_priv or auth_priv", c.SecurityLevel))...)
	}
	if level&gosnmp.AuthNoPriv != 0 {
		if _, ok := authProtocols[c.AuthProtocol]; !ok {
			errs = append(errs, fmt.Errorf("auth_protocol %q: must be one of md5, sha, sha224, sha256, sha384, sha512", c.AuthProtocol))
		}
		if c.AuthPassword.Reveal() == "" {
			errs = append(errs, errors.New("auth_password: missing for security_level "+c.SecurityLevel))
		}
	}
	if level == gosnmp.AuthPriv {
		if _, ok := privProtocols[c.PrivProtocol]; !ok {
			errs = append(errs, fmt.Errorf("priv_protocol %q: must be one of des, aes, aes192, aes256, aes192c, aes256c", c.PrivProtocol))
		}
		if c.PrivPassword.Reveal() == "" {
			errs = append(errs, errors.New("priv_password: missing for security_level auth_priv"))
		}
	}
	return errors.Join(errs...)
}

// splitAddress parses "host" or "host:port" (port 161 by default).
func splitAddress(addr string) (string, uint16, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return addr, 161, nil
		}
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("%q: port must be a number from 1 to 65535", addr)
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q: host missing", addr)
	}
	return host, uint16(port), nil
}

// params builds the gosnmp settings for one target. Called from New after
// Validate, so lookups cannot fail.
func (c *Config) params(t collectors.Target, timeout time.Duration) *gosnmp.GoSNMP {
	host, port, _ := splitAddress(t.Address)
	g := &gosnmp.GoSNMP{
		Target:         host,
		Port:           port,
		Transport:      "udp",
		Timeout:        timeout,
		Retries:        c.Retries,
		MaxRepetitions: c.MaxRepetitions,
		MaxOids:        maxWalkColumns + maxGetOIDs, // our own batching is smaller
	}
	switch c.Version {
	case "1":
		g.Version, g.Community = gosnmp.Version1, c.Community.Reveal()
	case "2c":
		g.Version, g.Community = gosnmp.Version2c, c.Community.Reveal()
	case "3":
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = securityLevels[c.SecurityLevel]
		g.ContextName = c.ContextName
		usm := &gosnmp.UsmSecurityParameters{UserName: c.Username,
			AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv}
		if g.MsgFlags&gosnmp.AuthNoPriv != 0 {
			usm.AuthenticationProtocol = authProtocols[c.AuthProtocol]
			usm.AuthenticationPassphrase = c.AuthPassword.Reveal()
		}
		if g.MsgFlags == gosnmp.AuthPriv {
			usm.PrivacyProtocol = privProtocols[c.PrivProtocol]
			usm.PrivacyPassphrase = c.PrivPassword.Reveal()
		}
		g.SecurityParameters = usm
	}
	return g
}

// BenchConfig returns a v2c config (community public) reading the given
// profiles, with extra profile directories, for benchmarks and tools.
func BenchConfig(profiles, profilesDir []string) *Config {
	c := newConfig().(*Config)
	c.Profiles, c.ProfilesDir = profiles, profilesDir
	c.Timeout = yamlconf.Duration(60 * time.Second)
	return c
}
