// Package checkup evaluates check-up rules over the KPIs and inventory of
// an organization's assets and turns what they find into findings: storage
// filling up or forecast to be full, firmware that differs across assets of
// one model, health not OK, unexpected reboots, failed or old backups,
// silent agents and monitoring problems (polls whose credentials are
// rejected or that fail the protocol).
//
// Evaluate is pure: it reads an Input (assets, latest values, storage
// history, reboots, agents) and returns what every rule says now. Runner
// gathers the Input from the store and InfluxDB on a schedule and records
// the results as findings (store.Checkups), which opens, refreshes and
// resolves them.
package checkup

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/yamlconf"
	"github.com/kpilot/kpilot/server/store"
)

// Kind is what a rule checks.
type Kind string

// Rule kinds. The unit of Warning and Critical depends on the kind.
const (
	StorageUsed      Kind = "storage_used"      // percent used ≥ threshold
	StorageForecast  Kind = "storage_forecast"  // full within threshold days
	FirmwareDrift    Kind = "firmware_drift"    // versions differ across one model
	Health           Kind = "health"            // a health code, or a state the catalog counts as health, not OK
	UnexpectedReboot Kind = "unexpected_reboot" // a reboot outside maintenance windows
	BackupFailed     Kind = "backup_failed"     // a backup job's last run failed
	BackupAge        Kind = "backup_age"        // last successful backup older than threshold hours
	AgentSilent      Kind = "agent_silent"      // an agent sent nothing for threshold minutes
	KPIThreshold     Kind = "kpi_threshold"     // a KPI past its warning or critical level, in the KPI's unit
	// MonitoringProblem: an asset's polls by one collector have had their
	// credentials rejected or failed the protocol for grace_minutes. The
	// agent reaches the device but cannot read it: a finding for whoever
	// keeps the monitoring set up, not downtime.
	MonitoringProblem Kind = "monitoring_problem"
	// Unreachable: an asset's polls by one collector have not reached it
	// (timeout, connection refused, no route) for grace_minutes: the
	// device, or the way to it, is down.
	Unreachable Kind = "unreachable"
)

// kinds lists the kinds with the unit of their thresholds ("" for kinds
// without thresholds) and the default severity of a kind without them.
var kinds = map[Kind]struct {
	unit     string
	severity store.Severity
}{
	StorageUsed:       {unit: "percent"},
	StorageForecast:   {unit: "days"},
	FirmwareDrift:     {severity: store.SeverityInfo},
	Health:            {},
	UnexpectedReboot:  {severity: store.SeverityWarning},
	BackupFailed:      {},
	BackupAge:         {unit: "hours"},
	AgentSilent:       {unit: "minutes"},
	KPIThreshold:      {unit: "the KPI's unit"},
	MonitoringProblem: {severity: store.SeverityWarning},
	Unreachable:       {severity: store.SeverityCritical},
}

// Rule is one configured check-up.
type Rule struct {
	ID          string `yaml:"id" json:"id"`
	Kind        Kind   `yaml:"kind" json:"kind"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	Disabled    bool   `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Warning and Critical are the thresholds of kinds that have them, in
	// the kind's unit; a rule needs at least one. For storage_used,
	// backup_age and agent_silent a value at or above the threshold
	// matches; for storage_forecast, days until full at or below it.
	Warning  *float64 `yaml:"warning,omitempty" json:"warning,omitempty"`
	Critical *float64 `yaml:"critical,omitempty" json:"critical,omitempty"`
	// Severity of a kind without thresholds; health and backup_failed
	// take theirs from the device (warning or critical).
	Severity store.Severity `yaml:"severity,omitempty" json:"severity,omitempty"`
	// HistoryDays is how far back storage_forecast fits its trend (14).
	HistoryDays float64 `yaml:"history_days,omitempty" json:"history_days,omitempty"`
	// WindowHours is how long an unexpected reboot stays a finding (24).
	WindowHours float64 `yaml:"window_hours,omitempty" json:"window_hours,omitempty"`
	// Maintenance windows: reboots in them are expected.
	Maintenance []Window `yaml:"maintenance,omitempty" json:"maintenance,omitempty"`
	// GraceMinutes is how long a monitoring_problem (15) or unreachable
	// (5) run must last, from the first failing poll to the latest,
	// before it is a finding: one poll refused or lost while a device
	// reboots opens nothing.
	GraceMinutes float64 `yaml:"grace_minutes,omitempty" json:"grace_minutes,omitempty"`
	// Attributes compared by firmware_drift (firmware_version,
	// bios_version, os_version).
	Attributes []string `yaml:"attributes,omitempty" json:"attributes,omitempty"`
	// KPI is the measurement.field a kpi_threshold rule checks. The rule
	// takes the place of the catalog's default thresholds for that KPI on
	// the assets of its scope; its warning and critical replace the
	// catalog's (given neither, it keeps the catalog's), and disabled it
	// turns them off there.
	KPI string `yaml:"kpi,omitempty" json:"kpi,omitempty"`
	// Below marks a kpi_threshold rule's values as bad when low (at or
	// below the thresholds); unset, the catalog's direction holds.
	Below *bool `yaml:"below,omitempty" json:"below,omitempty"`
	// Assets the rule applies to (every asset when empty).
	Assets Scope `yaml:"assets,omitempty" json:"assets,omitzero"`
}

// Scope selects assets. Empty lists do not narrow; an asset must pass
// every non-empty one.
type Scope struct {
	IDs        []string `yaml:"ids,omitempty" json:"ids,omitempty"`
	OUs        []string `yaml:"ous,omitempty" json:"ous,omitempty"` // these OUs and every OU below
	Categories []string `yaml:"categories,omitempty" json:"categories,omitempty"`
	Exclude    []string `yaml:"exclude,omitempty" json:"exclude,omitempty"` // asset ids never checked
}

// Window is a weekly maintenance window, in a time zone.
type Window struct {
	Weekdays []string `yaml:"weekdays,omitempty" json:"weekdays,omitempty"` // mon … sun; every day when empty
	Start    string   `yaml:"start" json:"start"`                           // "22:00"
	End      string   `yaml:"end" json:"end"`                               // "04:00": ends the next day
	Timezone string   `yaml:"timezone,omitempty" json:"timezone,omitempty"` // IANA name; UTC when empty
}

// RuleSet is an organization's check-ups.
type RuleSet struct {
	Rules []Rule `yaml:"rules" json:"rules"`
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
var attrRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// DefaultGraceMinutes is a monitoring_problem rule's grace_minutes when
// it sets none.
const DefaultGraceMinutes = 15

// DefaultUnreachableGraceMinutes is an unreachable rule's grace_minutes
// when it sets none: at the agent's default interval of a minute, five
// polls in a row without an answer; a device rebooting for its updates
// usually takes less.
const DefaultUnreachableGraceMinutes = 5

// MaxGraceMinutes bounds grace_minutes (a day): the runner reads that
// much poll history beyond PollLookback.
const MaxGraceMinutes = 24 * 60

// MaxRules bounds a rule set: each rule costs queries on every evaluation.
const MaxRules = 100

// Parse reads a rule set from YAML (or JSON, which is YAML) strictly and
// validates it; errors name the rule and what is wrong.
func Parse(doc []byte) (RuleSet, error) {
	var rs RuleSet
	if err := yamlconf.Decode(doc, &rs); err != nil {
		return RuleSet{}, fmt.Errorf("check-up rules: %w", err)
	}
	if err := rs.Validate(); err != nil {
		return RuleSet{}, err
	}
	return rs, nil
}

// Validate checks every rule.
func (rs RuleSet) Validate() error {
	var errs []error
	if len(rs.Rules) > MaxRules {
		errs = append(errs, fmt.Errorf("at most %d rules, not %d", MaxRules, len(rs.Rules)))
	}
	seen := map[string]bool{}
	for i, r := range rs.Rules {
		name := fmt.Sprintf("rule %d", i+1)
		if r.ID != "" {
			name += fmt.Sprintf(" (%s)", r.ID)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
		}
		if !idRE.MatchString(r.ID) {
			bad("id %q: lowercase letters, digits, '_', '-' and '.', at most 63", r.ID)
		} else if seen[r.ID] {
			bad("id %q is used twice", r.ID)
		}
		seen[r.ID] = true
		k, ok := kinds[r.Kind]
		if !ok {
			bad("kind %q: one of %s", r.Kind, strings.Join(KindNames(), ", "))
			continue
		}
		if r.Kind != KPIThreshold && (r.KPI != "" || r.Below != nil) {
			bad("kpi and below are for kpi_threshold")
		}
		switch {
		case r.Kind == KPIThreshold: // thresholds in the KPI's unit, optional
			for _, e := range r.validateKPIThreshold() {
				bad("%s", e)
			}
		case k.unit != "":
			if r.Warning == nil && r.Critical == nil {
				bad("%s needs warning or critical (in %s)", r.Kind, k.unit)
			}
			for _, v := range []*float64{r.Warning, r.Critical} {
				if v != nil && (*v < 0 || (k.unit == "percent" && *v > 100)) {
					bad("threshold %g %s is out of range", *v, k.unit)
				}
			}
			if r.Warning != nil && r.Critical != nil {
				if r.Kind == StorageForecast && *r.Critical > *r.Warning {
					bad("critical (%g days) must be at most warning (%g days)", *r.Critical, *r.Warning)
				}
				if r.Kind != StorageForecast && *r.Critical < *r.Warning {
					bad("critical (%g) must be at least warning (%g)", *r.Critical, *r.Warning)
				}
			}
			if r.Severity != "" {
				bad("%s takes its severity from warning and critical; drop severity", r.Kind)
			}
		default:
			if r.Warning != nil || r.Critical != nil {
				bad("%s has no thresholds; drop warning and critical", r.Kind)
			}
			if r.Severity != "" && r.Severity.Rank() == 0 {
				bad("severity %q: info, warning or critical", r.Severity)
			}
		}
		if r.HistoryDays != 0 && (r.Kind != StorageForecast || r.HistoryDays < 1 || r.HistoryDays > 90) {
			bad("history_days is for storage_forecast, 1 to 90")
		}
		if r.WindowHours != 0 && (r.Kind != UnexpectedReboot || r.WindowHours < 1 || r.WindowHours > 24*31) {
			bad("window_hours is for unexpected_reboot, 1 to 744")
		}
		if r.GraceMinutes != 0 && ((r.Kind != MonitoringProblem && r.Kind != Unreachable) || r.GraceMinutes < 1 || r.GraceMinutes > MaxGraceMinutes) {
			bad("grace_minutes is for monitoring_problem and unreachable, 1 to %d", MaxGraceMinutes)
		}
		if len(r.Maintenance) > 0 && r.Kind != UnexpectedReboot {
			bad("maintenance is for unexpected_reboot")
		}
		for j, w := range r.Maintenance {
			if err := w.validate(); err != nil {
				bad("maintenance window %d: %v", j+1, err)
			}
		}
		if len(r.Attributes) > 0 && r.Kind != FirmwareDrift {
			bad("attributes is for firmware_drift")
		}
		for _, a := range r.Attributes {
			if !attrRE.MatchString(a) {
				bad("attribute %q: lowercase letters, digits and _", a)
			}
		}
	}
	return errors.Join(errs...)
}

// validateKPIThreshold checks what only a kpi_threshold rule has: a
// measurement.field, and thresholds that are optional and ordered by
// below.
func (r Rule) validateKPIThreshold() []string {
	var errs []string
	m, f, ok := strings.Cut(r.KPI, ".")
	if !ok || !kpi.ValidName(m) || !kpi.ValidName(f) {
		errs = append(errs, fmt.Sprintf("kpi %q: measurement.field, e.g. storage.used_percent", r.KPI))
	}
	below := r.Below != nil && *r.Below
	if r.Warning != nil && r.Critical != nil {
		if !below && *r.Critical < *r.Warning {
			errs = append(errs, fmt.Sprintf("critical (%g) must be at least warning (%g); set below: true for values bad when low", *r.Critical, *r.Warning))
		}
		if below && *r.Critical > *r.Warning {
			errs = append(errs, fmt.Sprintf("with below, critical (%g) must be at most warning (%g)", *r.Critical, *r.Warning))
		}
	}
	if r.Severity != "" {
		errs = append(errs, "kpi_threshold takes its severity from warning and critical; drop severity")
	}
	return errs
}

func (w Window) validate() error {
	var errs []error
	for _, d := range w.Weekdays {
		if _, ok := weekdays[d]; !ok {
			errs = append(errs, fmt.Errorf("weekday %q: mon, tue, wed, thu, fri, sat or sun", d))
		}
	}
	if !clockRE.MatchString(w.Start) || !clockRE.MatchString(w.End) {
		errs = append(errs, fmt.Errorf("start %q and end %q: HH:MM", w.Start, w.End))
	}
	if _, err := time.LoadLocation(w.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %v", w.Timezone, err))
	}
	return errors.Join(errs...)
}

// contains reports whether t falls in the window. A window whose end is
// not after its start runs past midnight; its weekdays name the day it
// starts.
func (w Window) contains(t time.Time) bool {
	loc, err := time.LoadLocation(w.Timezone)
	if err != nil {
		return false
	}
	lt := t.In(loc)
	minute := func(s string) int {
		var h, m int
		fmt.Sscanf(s, "%d:%d", &h, &m)
		return h*60 + m
	}
	start, end, now := minute(w.Start), minute(w.End), lt.Hour()*60+lt.Minute()
	day := lt.Weekday()
	if end <= start && now < end {
		day = (day + 6) % 7 // the part after midnight belongs to the day before
	} else if !(now >= start && (end <= start || now < end)) {
		return false
	}
	if len(w.Weekdays) == 0 {
		return true
	}
	return slices.ContainsFunc(w.Weekdays, func(d string) bool { return weekdays[d] == day })
}

// KindNames lists the rule kinds, sorted.
func KindNames() []string {
	var out []string
	for k := range kinds {
		out = append(out, string(k))
	}
	slices.Sort(out)
	return out
}

//go:embed defaults.yaml
var defaultsYAML []byte

// DefaultsYAML is the default rule set as a YAML document, with comments.
func DefaultsYAML() []byte { return slices.Clone(defaultsYAML) }

// DefaultRules are the check-ups of an organization that has not set its
// own, and the server's when its config names no rules file.
func DefaultRules() RuleSet {
	rs, err := Parse(defaultsYAML)
	if err != nil {
		panic("checkup: the embedded defaults.yaml is invalid: " + err.Error())
	}
	return rs
}
