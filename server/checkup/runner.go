package checkup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// TSDB is what the runner reads of InfluxDB.
type TSDB interface {
	LatestMany(ctx context.Context, refs []tsdb.AssetRef, lookback time.Duration) (map[string][]tsdb.Series, error)
	OrgSeries(ctx context.Context, q tsdb.OrgQuery) ([]tsdb.Series, error)
	PollReader
}

// PollReader reads runs of polls that reached a device but could not read
// it (monitoring_problem rules) and runs of polls that did not reach it
// (unreachable rules), as *tsdb.Influx does.
type PollReader interface {
	PollProblems(ctx context.Context, refs []tsdb.AssetRef, now time.Time, lookback, history time.Duration) ([]tsdb.PollProblem, error)
	UnreachableRuns(ctx context.Context, refs []tsdb.AssetRef, now time.Time, lookback, history time.Duration) ([]tsdb.PollProblem, error)
}

// PollLookback is how old an asset's newest poll by a collector may be
// and still tell its state, as the API's latest poll: an agent that
// stopped sending is agent_silent's, and its assets' monitoring problems
// are resolved a day after their last poll.
const PollLookback = 24 * time.Hour

// Store is what the runner reads of the store (organizations with their
// OUs, agents, assets with their inventory) and the findings it keeps.
type Store interface {
	store.Organizations
	store.Agents
	store.Assets
	store.Checkups
	AssetParents(ctx context.Context, orgID string) (map[string]string, error)
}

// Runner evaluates every organization's check-ups on a schedule.
type Runner struct {
	store       Store
	tsdb        TSDB
	polls       PollReader
	defaults    RuleSet
	log         *slog.Logger
	now         func() time.Time
	notify      func(ctx context.Context, orgID string, changed store.Reconciled)
	defaultsDoc []byte
	catalogs    func(ctx context.Context, orgID string) (*catalog.Catalog, error)
	windows     func(ctx context.Context, orgID string) (Windows, error)

	runs     *prometheus.CounterVec
	duration prometheus.Histogram
	opened   prometheus.Counter
	resolved prometheus.Counter
}

// Option configures a Runner.
type Option func(*Runner)

// WithNotify calls f with the findings each evaluation opened and
// resolved (webhooks), when it changed any: each change reaches one
// call, on one replica.
func WithNotify(f func(ctx context.Context, orgID string, changed store.Reconciled)) Option {
	return func(r *Runner) { r.notify = f }
}

// WithCatalogs gives each organization's KPI catalog: the default
// thresholds check-ups apply without a rule, and names and units for the
// findings' texts. Without it only the rules are evaluated. A catalog
// that cannot be read fails the evaluation, like InfluxDB away: its
// findings are not resolved for want of thresholds.
func WithCatalogs(c func(ctx context.Context, orgID string) (*catalog.Catalog, error)) Option {
	return func(r *Runner) { r.catalogs = c }
}

// WithMaintenance gives each organization's maintenance windows: the
// findings that open while one holds for their asset carry its id, so
// that notifications skip them. Without it no finding is marked.
func WithMaintenance(w func(ctx context.Context, orgID string) (Windows, error)) Option {
	return func(r *Runner) { r.windows = w }
}

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// NewRunner returns a runner; defaults are the rules of organizations
// without their own. reg receives the runner's metrics (may be nil).
func NewRunner(s Store, ts TSDB, defaults RuleSet, log *slog.Logger, reg prometheus.Registerer, opts ...Option) *Runner {
	r := &Runner{store: s, tsdb: ts, defaults: defaults, log: log, now: time.Now,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpilot_checkup_evaluations_total",
			Help: "Check-up evaluations of one organization, by result (ok, error)."}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kpilot_checkup_evaluation_duration_seconds",
			Help: "Time to evaluate one organization's check-ups.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 9)}),
		opened: prometheus.NewCounter(prometheus.CounterOpts{Name: "kpilot_checkup_findings_opened_total",
			Help: "Findings check-ups opened."}),
		resolved: prometheus.NewCounter(prometheus.CounterOpts{Name: "kpilot_checkup_findings_resolved_total",
			Help: "Findings check-ups resolved."}),
	}
	if reg != nil {
		reg.MustRegister(r.runs, r.duration, r.opened, r.resolved)
	}
	r.polls = ts
	for _, o := range opts {
		o(r)
	}
	return r
}

// Rules returns an organization's rule set and whether it is its own
// (false: the server's defaults).
func (r *Runner) Rules(ctx context.Context, orgID string) (RuleSet, bool, error) {
	own, err := r.store.CheckupRules(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return r.defaults, false, nil
	}
	if err != nil {
		return RuleSet{}, false, err
	}
	rs, err := Parse(own.Doc)
	if err != nil {
		return RuleSet{}, true, fmt.Errorf("stored rules of organization %s: %w", orgID, err)
	}
	return rs, true, nil
}

// RunOnce evaluates every organization once. One organization's failure
// (InfluxDB down, broken stored rules) does not stop the others; their
// errors are joined.
func (r *Runner) RunOnce(ctx context.Context) error {
	ids, err := r.store.OrganizationIDs(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := r.Evaluate(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Evaluate evaluates one organization's check-ups now and records the
// findings; it returns those it opened. Nothing is recorded when any
// input cannot be read: a finding is resolved only by data that shows it
// no longer holds, never by InfluxDB being away.
func (r *Runner) Evaluate(ctx context.Context, orgID string) ([]store.Finding, error) {
	start := time.Now()
	changed, err := r.evaluate(ctx, orgID)
	r.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		r.runs.WithLabelValues("error").Inc()
		return nil, fmt.Errorf("check-ups of organization %s: %w", orgID, err)
	}
	r.runs.WithLabelValues("ok").Inc()
	r.opened.Add(float64(len(changed.Opened)))
	r.resolved.Add(float64(len(changed.Resolved)))
	if len(changed.Opened)+len(changed.Resolved) > 0 {
		r.log.Info("check-ups changed findings", "org", orgID, "opened", len(changed.Opened), "resolved", len(changed.Resolved))
		if r.notify != nil {
			r.notify(ctx, orgID, changed)
		}
	}
	return changed.Opened, nil
}

func (r *Runner) evaluate(ctx context.Context, orgID string) (store.Reconciled, error) {
	rs, _, err := r.Rules(ctx, orgID)
	if err != nil {
		return store.Reconciled{}, err
	}
	in, err := r.Input(ctx, orgID, rs)
	if err != nil {
		return store.Reconciled{}, err
	}
	if len(in.Assets) == 0 && len(in.Agents) == 0 {
		// Nothing to check (a partner organization): skip the write,
		// unless findings are left open from assets since deleted.
		open := true
		left, err := r.store.Findings(ctx, store.FindingFilter{OrgID: orgID, Agents: true, Open: &open, Limit: 1})
		if err != nil || len(left) == 0 {
			return store.Reconciled{}, err
		}
	}
	return r.store.ReconcileFindings(ctx, orgID, Evaluate(rs, in), in.Now)
}

// Input gathers what rs needs of one organization.
func (r *Runner) Input(ctx context.Context, orgID string, rs RuleSet) (Input, error) {
	in := Input{Now: r.now(), OrgID: orgID, Attributes: map[string]map[string]any{}}
	var err error
	if r.catalogs != nil {
		if in.Catalog, err = r.catalogs(ctx, orgID); err != nil {
			return in, fmt.Errorf("KPI catalog: %w", err)
		}
	}
	if in.Assets, err = r.store.Assets(ctx, orgID); err != nil {
		return in, err
	}
	if in.OUs, err = r.store.OUs(ctx, orgID); err != nil {
		return in, err
	}
	if in.Agents, err = r.store.Agents(ctx, orgID); err != nil {
		return in, err
	}
	if len(in.Assets) == 0 {
		return in, nil
	}
	if in.Parents, err = r.store.AssetParents(ctx, orgID); err != nil {
		return in, err
	}
	if r.windows != nil {
		if in.Maintenance, err = r.windows(ctx, orgID); err != nil {
			return in, fmt.Errorf("maintenance windows: %w", err)
		}
	}
	need := map[Kind]bool{}
	history, window, grace, downGrace := 0.0, 0.0, 0.0, 0.0
	for _, rule := range rs.Rules {
		if rule.Disabled {
			continue
		}
		need[rule.Kind] = true
		if rule.Kind == StorageForecast {
			history = max(history, cmpOr(rule.HistoryDays, 14))
		}
		if rule.Kind == UnexpectedReboot {
			window = max(window, cmpOr(rule.WindowHours, 24))
		}
		if rule.Kind == MonitoringProblem {
			grace = max(grace, cmpOr(rule.GraceMinutes, DefaultGraceMinutes))
		}
		if rule.Kind == Unreachable {
			downGrace = max(downGrace, cmpOr(rule.GraceMinutes, DefaultUnreachableGraceMinutes))
		}
	}
	if need[FirmwareDrift] {
		for _, a := range in.Assets {
			_, doc, err := r.store.Inventory(ctx, a.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return in, err
			}
			var inv struct {
				Attributes map[string]any `json:"attributes"`
			}
			if err := json.Unmarshal(doc, &inv); err != nil {
				return in, fmt.Errorf("inventory of asset %s: %w", a.ID, err)
			}
			in.Attributes[a.ID] = inv.Attributes
		}
	}
	refs := make([]tsdb.AssetRef, len(in.Assets))
	for i, a := range in.Assets {
		refs[i] = tsdb.Ref(a)
	}
	if need[StorageUsed] || need[Health] || need[BackupFailed] || need[BackupAge] || need[KPIThreshold] || hasThresholds(in.Catalog) {
		if in.Latest, err = r.tsdb.LatestMany(ctx, refs, LatestLookback); err != nil {
			return in, err
		}
	}
	if need[MonitoringProblem] {
		ps, err := r.polls.PollProblems(ctx, refs, in.Now, PollLookback, PollLookback+time.Duration(grace*float64(time.Minute)))
		if err != nil {
			return in, err
		}
		in.Problems = map[string][]tsdb.PollProblem{}
		for _, p := range ps {
			in.Problems[p.AssetID] = append(in.Problems[p.AssetID], p)
		}
	}
	if need[Unreachable] {
		ps, err := r.polls.UnreachableRuns(ctx, refs, in.Now, PollLookback, PollLookback+time.Duration(downGrace*float64(time.Minute)))
		if err != nil {
			return in, err
		}
		in.Unreachable = map[string][]tsdb.PollProblem{}
		for _, p := range ps {
			in.Unreachable[p.AssetID] = append(in.Unreachable[p.AssetID], p)
		}
	}
	if history > 0 {
		span := time.Duration(history * 24 * float64(time.Hour))
		// About 56 windows: four a day over two weeks.
		every := max(time.Hour, (span / 56).Truncate(time.Hour))
		ss, err := r.tsdb.OrgSeries(ctx, tsdb.OrgQuery{Assets: refs, Measurements: StorageMeasurements, Fields: StorageFields,
			Start: in.Now.Add(-span), Stop: in.Now, Every: every, Fn: "mean"})
		if err != nil {
			return in, err
		}
		in.Storage = bySeriesAsset(ss)
	}
	if window > 0 {
		ss, err := r.tsdb.OrgSeries(ctx, tsdb.OrgQuery{Assets: refs, Measurements: []string{"reboot"}, Fields: []string{"last_seen_up"},
			Start: in.Now.Add(-time.Duration(window * float64(time.Hour))), Stop: in.Now.Add(time.Second)})
		if err != nil {
			return in, err
		}
		in.Reboots = map[string][]time.Time{}
		for _, s := range ss {
			for _, p := range s.Points {
				in.Reboots[s.AssetID] = append(in.Reboots[s.AssetID], p.Time)
			}
		}
		for id := range in.Reboots {
			slices.SortFunc(in.Reboots[id], time.Time.Compare)
			in.Reboots[id] = slices.Compact(in.Reboots[id])
		}
	}
	return in, nil
}

func bySeriesAsset(ss []tsdb.Series) map[string][]tsdb.Series {
	out := map[string][]tsdb.Series{}
	for _, s := range ss {
		out[s.AssetID] = append(out[s.AssetID], s)
	}
	return out
}

func cmpOr(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// DefaultsYAML is the document of the runner's default rules: the
// embedded defaults.yaml, or the server's rules file.
func (r *Runner) DefaultsYAML() []byte {
	if r.defaultsDoc != nil {
		return r.defaultsDoc
	}
	return DefaultsYAML()
}

// WithDefaultsDoc keeps the document the defaults were parsed from (the
// server's checkups.rules_file), comments and all, for GET ?format=yaml.
func WithDefaultsDoc(doc []byte) Option { return func(r *Runner) { r.defaultsDoc = doc } }
