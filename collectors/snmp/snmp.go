// Package snmp collects SNMP v1, v2c and v3 agents through gosnmp, driven
// by profiles: YAML files with numeric OIDs that say which scalars and
// table columns to read and how they become samples and inventory (see
// configs/snmp/README.md).
package snmp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/configs"
	"github.com/kpilot/kpilot/internal/kpi"
)

func init() { collectors.Register("snmp", newConfig) }

// requestTimeout bounds one SNMP request; the poll as a whole is bounded by
// the ctx the scheduler gives Collect.
const requestTimeout = 5 * time.Second

// builtin parses the shipped profiles once; the result is never modified.
var builtin = sync.OnceValues(func() (*Library, error) { return LoadLibrary(configs.SNMPProfiles()) })

// loadLibrary returns the built-in profiles overlaid with those of dirs.
func loadLibrary(dirs []string) (*Library, error) {
	if len(dirs) == 0 {
		return builtin()
	}
	return LoadLibrary(configs.SNMPProfiles(), dirs...)
}

// dialer opens one session; tests replace it to inject broken agents.
type dialer func(ctx context.Context, g *gosnmp.GoSNMP) (requester, func() error, error)

func dialGoSNMP(ctx context.Context, g *gosnmp.GoSNMP) (requester, func() error, error) {
	g.Context = ctx
	if err := g.Connect(); err != nil {
		return nil, nil, fmt.Errorf("connecting: %w", err)
	}
	return g, g.Conn.Close, nil
}

type collector struct {
	cfg     *Config
	target  collectors.Target
	timeout time.Duration
	host    string
	port    uint16
	bulk    bool
	dial    dialer
	now     func() time.Time

	labels   []kpi.Tag // target.Labels in key order
	auto     bool
	named    []*Profile
	st       state
	requests int // SNMP requests of the last run
	values   int // values received in the last run
}

var _ collectors.Collector = (*collector)(nil)

// Stats reports the SNMP requests sent and the values received by the last
// Collect (benchmarks and probe use it).
func (c *collector) Stats() (requests, values int) { return c.requests, c.values }

// New implements collectors.Config. It does not contact the target.
func (c *Config) New(t collectors.Target, opts collectors.Options) (collectors.Collector, error) {
	if c.lib == nil {
		if err := c.Validate(); err != nil {
			return nil, err
		}
	}
	timeout := requestTimeout
	if c.Timeout.D() > 0 {
		// Leave room for the retries within the poll timeout.
		timeout = min(timeout, c.Timeout.D()/time.Duration(c.Retries+1))
	}
	host, port, err := splitAddress(t.Address)
	if err != nil {
		return nil, err
	}
	col := &collector{cfg: c, target: t, timeout: timeout, host: host, port: port,
		bulk: c.Walk == "bulk" || (c.Walk == "" && c.Version != "1"),
		dial: dialGoSNMP, now: time.Now}
	if opts.Shared != nil {
		col.dial = opts.Shared.Get(sessionsKey{}, func() any { return newSessions() }).(*sessions).dial
	}
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		col.labels = append(col.labels, kpi.Tag{Key: k, Value: t.Labels[k]})
	}
	for _, name := range c.Profiles {
		if name == "auto" {
			col.auto = true
			continue
		}
		p, _ := c.lib.Get(name)
		col.named = append(col.named, p)
	}
	return col, nil
}

// Collect implements collectors.Collector. A failed poll's error is an
// collectors.OutcomeError that names the likely cause.
func (c *collector) Collect(ctx context.Context, s collectors.Sink) error {
	start := time.Now()
	ans := &answering{}
	err := c.collect(ctx, s, ans)
	return c.explain(err, collectors.Waited(ctx, start), ans.n > 0)
}

func (c *collector) collect(ctx context.Context, s collectors.Sink, ans *answering) error {
	g := c.cfg.params(c.target, c.timeout)
	r, closeFn, err := c.dial(ctx, g)
	if err != nil {
		return err
	}
	defer closeFn()
	ans.requester = r
	sess := &session{r: ans, bulk: c.bulk, v1: c.cfg.Version == "1", maxRep: c.cfg.MaxRepetitions,
		maxRows: c.cfg.MaxTableRows, now: c.now}
	defer func() { c.requests, c.values = sess.reqs, sess.values }()

	now := c.now()
	st := &c.st
	refresh := st.plan == nil || st.forceRefresh || now.Sub(st.lastRefresh) >= c.cfg.LookupRefresh.D()
	if refresh {
		p, err := c.selectProfiles(sess)
		if err != nil {
			return fmt.Errorf("selecting profiles: %w", err)
		}
		if st.plan == nil || st.plan.key != p.key {
			st.reset(p)
		}
		st.forceRefresh = false
		st.lastRefresh = now
	}
	rd, err := st.read(sess, refresh)
	if err != nil {
		if rd == nil {
			if refresh {
				st.lastRefresh = time.Time{} // try the refresh again next run
			}
			return err
		}
		s.Error(err)
	}
	if !refresh {
		if err := st.refreshLookups(sess, rd); err != nil {
			if isFatal(err) {
				return err
			}
			s.Error(err)
		}
	}
	if reboot, ok := st.detectReboot(rd, c.target.Asset); ok {
		c.emit(s, *reboot)
		clear(st.counters) // counters restarted with the device
		st.forceRefresh = true
	}
	n, attrs, comps, errs := st.build(rd, c.target.Asset, now, refresh, c.labels,
		func(r *kpi.Row) { collectors.EmitRow(s, r) })
	for _, e := range errs {
		s.Error(e)
	}
	if n == 0 && len(attrs) == 0 && len(comps) == 0 {
		return &collectors.OutcomeError{Class: collectors.OutcomeProtocolError,
			Err: fmt.Errorf("answered, but with none of the OIDs of profiles %v", st.plan.profileNames())}
	}
	if refresh {
		attrs["snmp_profiles"] = st.plan.profileNames()
		inv := kpi.Inventory{Asset: c.target.Asset, Time: now, Attributes: attrs}
		if len(comps) > 0 {
			inv.Components = comps
		}
		s.Inventory(inv)
	}
	return nil
}

// selectProfiles returns the plan for this target: the named profiles, and
// with auto those matching the device's sysObjectID and detect OIDs.
func (c *collector) selectProfiles(sess *session) (*plan, error) {
	profiles := slices.Clone(c.named)
	if c.auto {
		var sysObjectID, sysDescr string
		err := sess.get([]string{oidSysObjectID, oidSysDescr}, func(v gosnmp.SnmpPDU, _ time.Time) {
			switch "." + strings.TrimPrefix(v.Name, ".") {
			case oidSysObjectID:
				sysObjectID = toText(v, "")
			case oidSysDescr:
				sysDescr = toText(v, "")
			}
		})
		if err != nil {
			return nil, err
		}
		detected, err := sess.probe(c.cfg.lib.DetectOIDs())
		if err != nil {
			return nil, err
		}
		for _, p := range c.cfg.lib.Auto(sysObjectID, sysDescr, detected) {
			if !slices.Contains(profiles, p) {
				profiles = append(profiles, p)
			}
		}
	}
	if len(profiles) == 0 {
		return nil, errors.New("no profile matches the device")
	}
	return c.cfg.plans.plan(profiles), nil
}

// emit adds the target's labels as tags; the collector's own tags win.
func (c *collector) emit(s collectors.Sink, x kpi.Sample) {
	if len(c.target.Labels) > 0 {
		tags := maps.Clone(c.target.Labels)
		maps.Copy(tags, x.Tags)
		x.Tags = tags
	}
	s.Sample(x)
}

// explain classes a failed poll and words it for an operator: gosnmp
// reports an unanswered request as a bare timeout, and SNMPv3 reports as
// bare sentinel errors.
func (c *collector) explain(err error, waited time.Duration, answered bool) error {
	if err == nil {
		return nil
	}
	addr := fmt.Sprintf("%s:%d", c.host, c.port)
	if msg := c.rejected(err); msg != "" {
		return collectors.Reworded(collectors.OutcomeCredentialsRejected, addr+": "+msg, err)
	}
	ask := "is it reachable, and is the community right? (an SNMP agent does not answer a request with a wrong community)"
	if c.cfg.Version == "3" {
		ask = "is it reachable, and is the v3 user right?"
	}
	return collectors.Peer{Addr: addr, Ask: ask}.Explain(fmt.Errorf("%s: %w", addr, err), waited, answered)
}

// rejected says which SNMPv3 credential the agent's report refuses, or
// "" when err is no such report.
func (c *collector) rejected(err error) string {
	user := fmt.Sprintf("SNMPv3 user %q", c.cfg.Username)
	switch {
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return "the agent does not know " + user + " (usmStatsUnknownUserNames): is username right, and the user set up on the device?"
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return "the agent rejected the authentication of " + user + " (usmStatsWrongDigests): are auth_password and auth_protocol right?"
	case errors.Is(err, gosnmp.ErrDecryption):
		return "the agent could not decrypt the requests of " + user + " (usmStatsDecryptionErrors): are priv_password and priv_protocol right?"
	case collectors.IsSNMPUnauthentic(err):
		return "the agent's answer to " + user + " does not authenticate: it refused the user or its authentication " +
			"(usmStatsUnknownUserNames or usmStatsWrongDigests): are username, auth_password and auth_protocol right?"
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return "the agent does not allow security_level " + c.cfg.SecurityLevel + " for " + user + " (usmStatsUnsupportedSecLevels)"
	}
	return ""
}

// answering counts the requests that got an answer: a target that
// answered and then ran out of time is slow, not unreachable.
type answering struct {
	requester
	n int
}

func (a *answering) Get(oids []string) (*gosnmp.SnmpPacket, error) {
	return a.count(a.requester.Get(oids))
}

func (a *answering) GetNext(oids []string) (*gosnmp.SnmpPacket, error) {
	return a.count(a.requester.GetNext(oids))
}

func (a *answering) GetBulk(oids []string, nonRepeaters uint8, maxRepetitions uint32) (*gosnmp.SnmpPacket, error) {
	return a.count(a.requester.GetBulk(oids, nonRepeaters, maxRepetitions))
}

func (a *answering) count(p *gosnmp.SnmpPacket, err error) (*gosnmp.SnmpPacket, error) {
	if err == nil {
		a.n++
	}
	return p, err
}
