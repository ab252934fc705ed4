package checkup

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// Input is what the rules of one organization are evaluated over.
type Input struct {
	Now    time.Time
	OrgID  string
	Assets []store.Asset
	OUs    []store.OU
	Agents []store.Agent
	// Attributes holds each asset's latest inventory attributes.
	Attributes map[string]map[string]any
	// Latest holds each asset's newest values (LatestLookback).
	Latest map[string][]tsdb.Series
	// Storage holds each asset's storage series (StorageMeasurements,
	// StorageFields), averaged per window over the longest history a
	// storage_forecast rule asks for.
	Storage map[string][]tsdb.Series
	// Reboots holds each asset's boot times within the longest reboot
	// window.
	Reboots map[string][]time.Time
	// Problems holds each asset's runs of polls whose credentials were
	// rejected or that failed the protocol, per collector, whose newest
	// poll is within PollLookback.
	Problems map[string][]tsdb.PollProblem
	// Unreachable holds each asset's runs of polls that did not reach
	// the device, per collector, whose newest poll is within PollLookback.
	Unreachable map[string][]tsdb.PollProblem
	// Catalog defines the organization's KPIs: the default thresholds
	// of its gauges, and names and units for findings' texts. May be nil.
	Catalog *catalog.Catalog
	// Parents holds the asset each asset depends on (the switch it sits
	// behind), for suppressing unreachable findings (suppress).
	Parents map[string]string
	// Maintenance tells which maintenance window holds for an asset now;
	// its findings carry the window's id. May be nil.
	Maintenance Windows
}

// Windows tells which maintenance window holds for an asset at a time
// (maintenance.Matcher).
type Windows interface {
	Active(a store.Asset, at time.Time) (store.MaintenanceWindow, bool)
}

// LatestLookback is how old a value may be and still count as the
// latest: a week, so that a backup job's last success is found even when
// the newest run failed.
const LatestLookback = 7 * 24 * time.Hour

// StorageMeasurements are the measurements that describe storage filling
// up: volumes and file systems (HOST-RESOURCES, UCD, NetApp, ONTAP,
// 3PAR), pools and backup repositories.
var StorageMeasurements = []string{"storage", "disk", "volume", "storage_pool", "storage_capacity", "backup_repository"}

// StorageFields are the fields a fill level is computed from.
var StorageFields = []string{"used_percent", "used_bytes", "size_bytes", "total_bytes", "capacity_bytes", "free_bytes"}

// Evaluate returns what every enabled rule says about the input now, and
// what the catalog's default thresholds say where no rule decides
// (catalogThresholds).
func Evaluate(rs RuleSet, in Input) []store.FindingResult {
	var out []store.FindingResult
	for _, r := range rs.Rules {
		if r.Disabled {
			continue
		}
		assets := r.Assets.filter(in.OrgID, in.Assets, in.OUs)
		switch r.Kind {
		case StorageUsed:
			out = append(out, storageUsed(r, assets, in)...)
		case StorageForecast:
			out = append(out, storageForecast(r, assets, in)...)
		case FirmwareDrift:
			out = append(out, firmwareDrift(r, assets, in)...)
		case Health:
			out = append(out, health(r, assets, in)...)
		case UnexpectedReboot:
			out = append(out, reboots(r, assets, in)...)
		case BackupFailed:
			out = append(out, backupFailed(r, assets, in)...)
		case BackupAge:
			out = append(out, backupAge(r, assets, in)...)
		case AgentSilent:
			out = append(out, agentSilent(r, in)...)
		case KPIThreshold:
			out = append(out, kpiThreshold(r, assets, in)...)
		case MonitoringProblem:
			out = append(out, monitoringProblems(r, assets, in)...)
		case Unreachable:
			out = append(out, suppress(r, assets, in, unreachable(r, assets, in))...)
		}
	}
	return inMaintenance(in, append(out, catalogThresholds(rs, in)...))
}

// inMaintenance sets the window of each result whose asset is in one.
func inMaintenance(in Input, out []store.FindingResult) []store.FindingResult {
	if in.Maintenance == nil {
		return out
	}
	byID := make(map[string]store.Asset, len(in.Assets))
	for _, a := range in.Assets {
		byID[a.ID] = a
	}
	for i, r := range out {
		if a, ok := byID[r.AssetID]; ok {
			if w, ok := in.Maintenance.Active(a, in.Now); ok {
				out[i].MaintenanceID = w.ID
			}
		}
	}
	return out
}

// suppress links the unreachable results of assets whose parent (in the
// rule's scope) is unreachable too to the parent's result, as
// Alertmanager inhibits and Zabbix trigger dependencies do: the finding
// opens, marked as suppressed by the parent's, so the notifier tells of
// the parent alone. A parent whose unreachable run is still within its
// grace period has no result yet: its dependents name the result it
// will have, and the store holds them back until it opens (or, should the
// parent answer again, until they have a result of their own).
func suppress(r Rule, assets []store.Asset, in Input, out []store.FindingResult) []store.FindingResult {
	if len(in.Parents) == 0 {
		return out
	}
	inScope := make(map[string]store.Asset, len(assets))
	for _, a := range assets {
		inScope[a.ID] = a
	}
	key := map[string]string{} // parent asset → key of its (coming) result
	for _, res := range out {
		if _, ok := key[res.AssetID]; !ok {
			key[res.AssetID] = res.Key()
		}
	}
	for id, runs := range in.Unreachable {
		a, ok := inScope[id]
		if _, done := key[id]; done || !ok || len(runs) == 0 {
			continue
		}
		first := slices.MinFunc(runs, func(x, y tsdb.PollProblem) int { return x.Since.Compare(y.Since) })
		key[id] = r.result(a, tsdb.SeriesKey("agent_poll", map[string]string{"collector": first.Latest.Collector}),
			store.SeverityInfo, "").Key()
	}
	for i, res := range out {
		if k, ok := key[in.Parents[res.AssetID]]; ok && in.Parents[res.AssetID] != "" {
			out[i].ParentKey = k
		}
	}
	return out
}

// filter returns the assets of the scope.
func (s Scope) filter(orgID string, assets []store.Asset, ous []store.OU) []store.Asset {
	var inOU map[string]bool
	if len(s.OUs) > 0 {
		inOU = map[string]bool{}
		for _, id := range s.OUs {
			for k := range visibility.Subtree(orgID, id, ous) {
				inOU[k] = true
			}
		}
	}
	var out []store.Asset
	for _, a := range assets {
		switch {
		case len(s.IDs) > 0 && !slices.Contains(s.IDs, a.ID),
			inOU != nil && !inOU[a.OUID],
			len(s.Categories) > 0 && !slices.Contains(s.Categories, a.Category),
			slices.Contains(s.Exclude, a.ID):
			continue
		}
		out = append(out, a)
	}
	return out
}

// grade maps a value to a severity by the rule's thresholds; higher
// values are worse unless lowerWorse. ok is false below both.
func (r Rule) grade(v float64, lowerWorse bool) (store.Severity, float64, bool) {
	hit := func(t *float64) bool {
		if t == nil {
			return false
		}
		if lowerWorse {
			return v <= *t
		}
		return v >= *t
	}
	switch {
	case hit(r.Critical):
		return store.SeverityCritical, *r.Critical, true
	case hit(r.Warning):
		return store.SeverityWarning, *r.Warning, true
	}
	return "", 0, false
}

func (r Rule) result(a store.Asset, subject string, sev store.Severity, format string, args ...any) store.FindingResult {
	return store.FindingResult{RuleID: r.ID, Kind: string(r.Kind), AssetID: a.ID, OUID: a.OUID, Subject: subject,
		Severity: sev, Text: fmt.Sprintf(format, args...)}
}

// series groups one asset's series by measurement and tags.
type series struct {
	measurement string
	tags        map[string]string
	fields      map[string][]tsdb.Point
}

func group(ss []tsdb.Series) []*series {
	byKey := map[string]*series{}
	var keys []string
	for _, s := range ss {
		k := tsdb.SeriesKey(s.Measurement, s.Tags)
		g := byKey[k]
		if g == nil {
			g = &series{measurement: s.Measurement, tags: s.Tags, fields: map[string][]tsdb.Point{}}
			byKey[k] = g
			keys = append(keys, k)
		}
		g.fields[s.Field] = append(g.fields[s.Field], s.Points...)
	}
	sort.Strings(keys)
	out := make([]*series, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// labelTags are the tags that name a series to a person, best first.
var labelTags = []string{"descr", "path", "filesystem", "volume", "pool", "repository", "job", "name", "system", "drive", "component", "id"}

// label names a series to a person: "volume /data".
func label(m string, tags map[string]string) string {
	return labelAs(strings.ReplaceAll(m, "_", " "), tags)
}

// labelAs names a series of what (a measurement's name) to a person.
func labelAs(what string, tags map[string]string) string {
	for _, t := range labelTags {
		if v := tags[t]; v != "" {
			return what + " " + v
		}
	}
	var vals []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		vals = append(vals, tags[k])
	}
	if len(vals) == 0 {
		return what
	}
	return what + " " + strings.Join(vals, " ")
}

// num is a value as a number; NaN and infinities are not.
func num(v any) (float64, bool) {
	f, ok := kpi.Numeric(v)
	return f, ok && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// last is the newest numeric value of a field.
func (s *series) last(field string) (float64, time.Time, bool) {
	ps := s.fields[field]
	var best tsdb.Point
	found := false
	for _, p := range ps {
		if _, ok := num(p.Value); ok && (!found || p.Time.After(best.Time)) {
			best, found = p, true
		}
	}
	v, _ := num(best.Value)
	return v, best.Time, found
}

// fillAt computes a fill percentage from the values of one time: the
// used_percent field, else used over size, else capacity minus free.
func fillAt(vals map[string]float64) (float64, bool) {
	if v, ok := vals["used_percent"]; ok {
		return v, true
	}
	used, hasUsed := vals["used_bytes"]
	for _, size := range []string{"size_bytes", "total_bytes", "capacity_bytes"} {
		if s, ok := vals[size]; ok && s > 0 {
			if hasUsed {
				return 100 * used / s, true
			}
			if free, ok := vals["free_bytes"]; ok {
				return 100 * (s - free) / s, true
			}
		}
	}
	return 0, false
}

// fills is a storage series' fill level per time, oldest first.
func (s *series) fills() []tsdb.Point {
	byTime := map[time.Time]map[string]float64{}
	for f, ps := range s.fields {
		for _, p := range ps {
			if v, ok := num(p.Value); ok {
				if byTime[p.Time] == nil {
					byTime[p.Time] = map[string]float64{}
				}
				byTime[p.Time][f] = v
			}
		}
	}
	var out []tsdb.Point
	for t, vals := range byTime {
		if v, ok := fillAt(vals); ok {
			out = append(out, tsdb.Point{Time: t, Value: v})
		}
	}
	slices.SortFunc(out, func(a, b tsdb.Point) int { return a.Time.Compare(b.Time) })
	return out
}

// currentFill is a storage series' newest fill level.
func (s *series) currentFill() (float64, bool) {
	vals := map[string]float64{}
	for f := range s.fields {
		if v, _, ok := s.last(f); ok {
			vals[f] = v
		}
	}
	return fillAt(vals)
}

func isStorage(m string) bool { return slices.Contains(StorageMeasurements, m) }

func storageUsed(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	var out []store.FindingResult
	for _, a := range assets {
		repeated := repeatedFilesystems(in.Latest[a.ID])
		for _, s := range group(in.Latest[a.ID]) {
			if !isStorage(s.measurement) || repeated[tsdb.SeriesKey(s.measurement, s.tags)] {
				continue
			}
			fill, ok := s.currentFill()
			if !ok {
				continue
			}
			if sev, t, ok := r.grade(fill, false); ok {
				out = append(out, r.result(a, tsdb.SeriesKey(s.measurement, s.tags), sev,
					"%s is %.1f%% full (%s at %g%%)", capitalize(label(s.measurement, s.tags)), fill, sev, t))
			}
		}
	}
	return out
}

// Trend is a least-squares line through a storage series' fill levels.
type Trend struct {
	PerDay  float64 // percentage points a day
	Current float64 // the newest fill level
	// DaysToFull is the days until 100% at this rate; +Inf when the
	// series is not growing.
	DaysToFull float64
}

// FitTrend fits a line through points (fill percentages). It needs at
// least four points spanning a day; ok is false otherwise.
func FitTrend(ps []tsdb.Point) (Trend, bool) {
	if len(ps) < 4 || ps[len(ps)-1].Time.Sub(ps[0].Time) < 24*time.Hour {
		return Trend{}, false
	}
	t0 := ps[0].Time
	var n, sx, sy, sxx, sxy float64
	for _, p := range ps {
		y, ok := num(p.Value)
		if !ok {
			continue
		}
		x := p.Time.Sub(t0).Hours() / 24
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	den := n*sxx - sx*sx
	if n < 4 || den == 0 {
		return Trend{}, false
	}
	slope := (n*sxy - sx*sy) / den
	cur, _ := num(ps[len(ps)-1].Value)
	tr := Trend{PerDay: slope, Current: cur, DaysToFull: math.Inf(1)}
	if slope > 1e-9 {
		tr.DaysToFull = math.Max(0, (100-cur)/slope)
	}
	return tr, true
}

func storageForecast(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	var out []store.FindingResult
	since := in.Now.Add(-time.Duration(cmp.Or(r.HistoryDays, 14) * 24 * float64(time.Hour)))
	for _, a := range assets {
		repeated := repeatedFilesystems(in.Storage[a.ID])
		for _, s := range group(in.Storage[a.ID]) {
			if !isStorage(s.measurement) || repeated[tsdb.SeriesKey(s.measurement, s.tags)] {
				continue
			}
			ps := slices.DeleteFunc(s.fills(), func(p tsdb.Point) bool { return p.Time.Before(since) })
			tr, ok := FitTrend(ps)
			if !ok || math.IsInf(tr.DaysToFull, 1) {
				continue
			}
			if sev, _, ok := r.grade(tr.DaysToFull, true); ok {
				out = append(out, r.result(a, tsdb.SeriesKey(s.measurement, s.tags), sev,
					"%s will be full in about %s (%.1f%% used, growing %.2f points a day)",
					capitalize(label(s.measurement, s.tags)), days(tr.DaysToFull), tr.Current, tr.PerDay))
			}
		}
	}
	return out
}

func days(d float64) string {
	if d < 1 {
		return "less than a day"
	}
	if math.Round(d) == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%.0f days", d)
}

var defaultAttributes = []string{"firmware_version", "bios_version", "os_version"}

func firmwareDrift(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	attrs := r.Attributes
	if len(attrs) == 0 {
		attrs = defaultAttributes
	}
	type model struct{ maker, product string }
	byModel := map[model][]store.Asset{}
	for _, a := range assets {
		product := a.Product
		if product == "" {
			product, _ = in.Attributes[a.ID]["model"].(string)
		}
		if product == "" {
			continue
		}
		m := model{strings.ToLower(strings.Fields(a.Manufacturer + " ?")[0]), product}
		byModel[m] = append(byModel[m], a)
	}
	var out []store.FindingResult
	for _, members := range byModel {
		if len(members) < 2 {
			continue
		}
		for _, attr := range attrs {
			versions := map[string][]store.Asset{}
			for _, a := range members {
				if v, _ := in.Attributes[a.ID][attr].(string); strings.TrimSpace(v) != "" {
					versions[strings.TrimSpace(v)] = append(versions[strings.TrimSpace(v)], a)
				}
			}
			if len(versions) < 2 {
				continue
			}
			newest := slices.MaxFunc(slices.Collect(maps.Keys(versions)), CompareVersions)
			for v, as := range versions {
				if v == newest {
					continue
				}
				for _, a := range as {
					out = append(out, r.result(a, attr, cmp.Or(r.Severity, store.SeverityInfo),
						"%s %s differs from %s on %d other %s of this model (%s)",
						strings.ReplaceAll(attr, "_", " "), v, newest, len(versions[newest]), plural(len(versions[newest]), "asset"),
						modelName(a, in)))
				}
			}
		}
	}
	return out
}

func modelName(a store.Asset, in Input) string {
	p := a.Product
	if p == "" {
		p, _ = in.Attributes[a.ID]["model"].(string)
	}
	return strings.TrimSpace(a.Manufacturer + " " + p)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// CompareVersions orders version strings naturally: runs of digits
// compare as numbers ("2.10" after "2.9"), the rest as text.
func CompareVersions(a, b string) int {
	for a != "" && b != "" {
		da, ra := leadingRun(a)
		db, rb := leadingRun(b)
		if isDigit(da[0]) && isDigit(db[0]) {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
		} else if c := strings.Compare(strings.ToLower(da), strings.ToLower(db)); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func leadingRun(s string) (string, string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

var healthWords = map[float64]string{1: "Warning", 2: "Critical"}

// isHealthCode reports whether f is a Redfish-style health code (0 OK,
// 1 warning, 2 critical), which health reads whether the catalog defines
// it or not.
func isHealthCode(f string) bool { return f == "health_code" || strings.HasSuffix(f, "_health_code") }

// health finds every health code at warning or critical, and every state
// the catalog counts as its device's health (catalog.Definition.IsHealth:
// a PSU's, fan's, RAID's or battery's status) whose newest value it
// ranks warning or critical: one finding per asset, series and field.
func health(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	var out []store.FindingResult
	for _, a := range assets {
		for _, s := range group(in.Latest[a.ID]) {
			for _, f := range slices.Sorted(maps.Keys(s.fields)) {
				var res store.FindingResult
				var ok bool
				if isHealthCode(f) {
					res, ok = healthCode(r, a, s, f)
				} else {
					res, ok = healthState(r, a, s, f, in.Catalog)
				}
				if ok {
					out = append(out, res)
				}
			}
		}
	}
	return out
}

// healthCode grades a health code: 1 warning, 2 (or more) critical.
func healthCode(r Rule, a store.Asset, s *series, f string) (store.FindingResult, bool) {
	v, _, ok := s.last(f)
	if !ok || v < 1 {
		return store.FindingResult{}, false
	}
	sev := store.SeverityWarning
	if v >= 2 {
		sev = store.SeverityCritical
	}
	if r.Severity != "" {
		sev = r.Severity
	}
	var where []string
	for _, k := range slices.Sorted(maps.Keys(s.tags)) {
		where = append(where, k+" "+s.tags[k])
	}
	what := strings.Join(where, ", ")
	if what == "" {
		what = strings.ReplaceAll(s.measurement, "_", " ")
	}
	part := ""
	if p := strings.TrimSuffix(f, "_health_code"); p != f {
		part = capitalize(strings.ReplaceAll(p, "_", " ")) + " health"
	}
	return r.result(a, tsdb.SeriesKey(s.measurement, s.tags)+" "+f, sev,
		"%s of %s is %s", cmp.Or(part, "Health"), what, healthWords[min(v, 2)]), true
}

// healthSeverities are the catalog's severities that make a finding.
var healthSeverities = map[catalog.Severity]store.Severity{catalog.Warning: store.SeverityWarning, catalog.Critical: store.SeverityCritical}

// healthState grades a state by its definition in cat: "Power supply
// PSU2: Power supply state is Critical (critical)". A field cat does not
// define, or a value its states do not name, says nothing.
func healthState(r Rule, a store.Asset, s *series, f string, cat *catalog.Catalog) (store.FindingResult, bool) {
	d, ok := cat.Lookup(s.measurement, f)
	if !ok || !d.IsHealth() {
		return store.FindingResult{}, false
	}
	v, _, ok := s.last(f)
	if !ok {
		return store.FindingResult{}, false
	}
	st, ok := d.StateOf(v)
	sev := healthSeverities[st.Severity]
	if !ok || sev == "" {
		return store.FindingResult{}, false
	}
	what := strings.ReplaceAll(s.measurement, "_", " ")
	if m, ok := cat.MeasurementInfo(s.measurement); ok && m.Name.EN != "" {
		what = m.Name.EN
	}
	return r.result(a, tsdb.SeriesKey(s.measurement, s.tags)+" "+f, cmp.Or(r.Severity, sev), "%s: %s is %s (%s)",
		capitalize(labelAs(what, s.tags)), d.Name.EN, st.Name.EN, st.Severity), true
}

func reboots(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	window := time.Duration(cmp.Or(r.WindowHours, 24) * float64(time.Hour))
	var out []store.FindingResult
	for _, a := range assets {
		for _, boot := range in.Reboots[a.ID] {
			if boot.Before(in.Now.Add(-window)) || boot.After(in.Now) {
				continue
			}
			if slices.ContainsFunc(r.Maintenance, func(w Window) bool { return w.contains(boot) }) {
				continue
			}
			if in.Maintenance != nil {
				if _, ok := in.Maintenance.Active(a, boot); ok {
					continue // the organization's maintenance window
				}
			}
			out = append(out, r.result(a, boot.UTC().Format(time.RFC3339), cmp.Or(r.Severity, store.SeverityWarning),
				"Rebooted at %s, outside any maintenance window", boot.UTC().Format("2006-01-02 15:04 MST")))
		}
	}
	return out
}

// backupStatus is backup_job's status field: 0 ok, 1 warning, 2 failed,
// 3 running or not run yet.
var backupStatus = map[float64]store.Severity{1: store.SeverityWarning, 2: store.SeverityCritical}

func backupFailed(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	var out []store.FindingResult
	for _, a := range assets {
		for _, s := range group(in.Latest[a.ID]) {
			if s.measurement != "backup_job" {
				continue
			}
			v, at, ok := s.last("status")
			sev := backupStatus[v]
			if !ok || sev == "" {
				continue
			}
			if r.Severity != "" {
				sev = r.Severity
			}
			word := "failed"
			if v == 1 {
				word = "ended with warnings"
			}
			when := ""
			if t, _, ok := s.last("last_run_time"); ok && t > 0 {
				when = " (run at " + time.Unix(int64(t), 0).UTC().Format("2006-01-02 15:04 MST") + ")"
			} else if !at.IsZero() {
				when = " (seen at " + at.UTC().Format("2006-01-02 15:04 MST") + ")"
			}
			out = append(out, r.result(a, tsdb.SeriesKey(s.measurement, s.tags), sev,
				"The last run of %s %s%s", label(s.measurement, s.tags), word, when))
		}
	}
	return out
}

func backupAge(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	var out []store.FindingResult
	for _, a := range assets {
		groups := group(in.Latest[a.ID])
		success := map[string]*series{}
		for _, s := range groups {
			if s.measurement == "backup_last_success" {
				success[tsdb.SeriesKey("", s.tags)] = s
			}
		}
		for _, s := range groups {
			if s.measurement != "backup_job" {
				continue
			}
			subject := tsdb.SeriesKey(s.measurement, s.tags)
			name := label(s.measurement, s.tags)
			ok := false
			var end float64
			if sc := success[tsdb.SeriesKey("", s.tags)]; sc != nil {
				end, _, ok = sc.last("end_time")
			}
			if !ok || end <= 0 {
				lookback := LatestLookback.Hours()
				if sev, _, hit := r.grade(lookback, false); hit {
					out = append(out, r.result(a, subject, sev, "%s has no successful run in the last %s",
						capitalize(name), days(lookback/24)))
				}
				continue
			}
			hours := in.Now.Sub(time.Unix(int64(end), 0)).Hours()
			if sev, t, hit := r.grade(hours, false); hit {
				out = append(out, r.result(a, subject, sev, "The last successful run of %s was %s ago, at %s (%s after %g hours)",
					name, age(hours), time.Unix(int64(end), 0).UTC().Format("2006-01-02 15:04 MST"), sev, t))
			}
		}
	}
	return out
}

func age(hours float64) string {
	if hours < 48 {
		return fmt.Sprintf("%.0f hours", hours)
	}
	return days(hours / 24)
}

func agentSilent(r Rule, in Input) []store.FindingResult {
	var inOU map[string]bool
	if len(r.Assets.OUs) > 0 {
		inOU = map[string]bool{}
		for _, id := range r.Assets.OUs {
			for k := range visibility.Subtree(in.OrgID, id, in.OUs) {
				inOU[k] = true
			}
		}
	}
	var out []store.FindingResult
	for _, ag := range in.Agents {
		if inOU != nil && !inOU[ag.OUID] {
			continue
		}
		minutes := in.Now.Sub(ag.LastSeenAt).Minutes()
		sev, t, ok := r.grade(minutes, false)
		if !ok {
			continue
		}
		out = append(out, store.FindingResult{RuleID: r.ID, Kind: string(r.Kind), AgentID: ag.ID, OUID: ag.OUID,
			Severity: sev, Text: fmt.Sprintf("Agent %s has sent nothing for %s, since %s (%s after %g minutes)",
				cmp.Or(ag.Name, ag.Hostname, ag.ID), silence(minutes), ag.LastSeenAt.UTC().Format("2006-01-02 15:04 MST"), sev, t)})
	}
	return out
}

func silence(minutes float64) string {
	if minutes < 120 {
		return fmt.Sprintf("%.0f minutes", minutes)
	}
	return age(minutes / 60)
}

// problemWords name the outcomes of a monitoring problem in a finding.
var problemWords = map[string]string{
	tsdb.OutcomeCredentialsRejected: "Credentials rejected",
	tsdb.OutcomeProtocolError:       "Protocol error",
}

// monitoringProblems finds the runs of rejected or protocol-failing polls
// that have lasted grace_minutes, from their first poll to their latest:
// one finding per asset and collector, naming the latest poll's class
// and the agent's message.
func monitoringProblems(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	grace := time.Duration(cmpOr(r.GraceMinutes, DefaultGraceMinutes) * float64(time.Minute))
	var out []store.FindingResult
	for _, a := range assets {
		for _, p := range in.Problems[a.ID] {
			word, ok := problemWords[p.Latest.Outcome]
			if !ok || p.Latest.At.Sub(p.Since) < grace {
				continue
			}
			text := fmt.Sprintf("%s (%s)", word, p.Latest.Collector)
			if p.Latest.Message != "" {
				text += ": " + p.Latest.Message
			}
			out = append(out, r.result(a, tsdb.SeriesKey("agent_poll", map[string]string{"collector": p.Latest.Collector}),
				cmp.Or(r.Severity, kinds[MonitoringProblem].severity), "%s", text))
		}
	}
	return out
}

// unreachable finds the runs of polls that did not reach a device and
// have lasted grace_minutes: one finding per asset and collector, saying
// since when and the agent's message (which names the likely cause).
// An asset whose BMC answers while its operating system does not (a
// server powered off) has a finding for the collector that fails only.
func unreachable(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	grace := time.Duration(cmpOr(r.GraceMinutes, DefaultUnreachableGraceMinutes) * float64(time.Minute))
	var out []store.FindingResult
	for _, a := range assets {
		for _, p := range in.Unreachable[a.ID] {
			if p.Latest.At.Sub(p.Since) < grace {
				continue
			}
			text := fmt.Sprintf("Unreachable (%s) since %s", p.Latest.Collector, p.Since.UTC().Format("2006-01-02 15:04 MST"))
			if p.Latest.Message != "" {
				text += ": " + p.Latest.Message
			}
			out = append(out, r.result(a, tsdb.SeriesKey("agent_poll", map[string]string{"collector": p.Latest.Collector}),
				cmp.Or(r.Severity, kinds[Unreachable].severity), "%s", text))
		}
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Fill is one storage series' fill level over time, for reports.
type Fill struct {
	AssetID     string
	Measurement string
	Tags        map[string]string
	Label       string       // "storage /var"
	SizeBytes   int64        // newest size, when the series has one
	Points      []tsdb.Point // percent used, oldest first
}

// Fills groups storage series (StorageMeasurements) per asset and
// series and computes their fill level per time, as the rules do.
func Fills(ss []tsdb.Series) []Fill {
	byAsset := bySeriesAssetOrdered(ss)
	var out []Fill
	for _, id := range byAsset.order {
		for _, s := range group(byAsset.m[id]) {
			if !isStorage(s.measurement) {
				continue
			}
			f := Fill{AssetID: id, Measurement: s.measurement, Tags: s.tags, Label: label(s.measurement, s.tags), Points: s.fills()}
			for _, k := range []string{"size_bytes", "total_bytes", "capacity_bytes"} {
				if v, _, ok := s.last(k); ok && f.SizeBytes == 0 {
					f.SizeBytes = int64(v)
				}
			}
			if len(f.Points) > 0 {
				out = append(out, f)
			}
		}
	}
	return out
}

type orderedSeries struct {
	order []string
	m     map[string][]tsdb.Series
}

func bySeriesAssetOrdered(ss []tsdb.Series) orderedSeries {
	o := orderedSeries{m: map[string][]tsdb.Series{}}
	for _, s := range ss {
		if _, ok := o.m[s.AssetID]; !ok {
			o.order = append(o.order, s.AssetID)
		}
		o.m[s.AssetID] = append(o.m[s.AssetID], s)
	}
	return o
}
