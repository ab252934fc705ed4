package tsdb

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// PollProblem is a run of polls of one asset by one collector that
// ended alike: reached the target but could not read it (credentials
// rejected, protocol error: a monitoring problem, not downtime), or did
// not reach it (UnreachableRuns).
type PollProblem struct {
	AssetID string
	// Latest is the newest poll, of the run's outcomes.
	Latest PollStatus
	// Since is the time of the run's first poll: the first poll after the
	// newest one that ended otherwise, and not before the history read.
	Since time.Time
}

// Problem outcomes: what agent_poll's outcome field says of a poll that
// got an answer it could not use.
const (
	OutcomeCredentialsRejected = "credentials_rejected"
	OutcomeProtocolError       = "protocol_error"
	// OutcomeUnreachable is a poll that got no answer.
	OutcomeUnreachable = "unreachable"
)

// problemOutcomes and unreachableOutcomes are the outcome codes (agent_poll's
// outcome field) of the runs PollProblems and UnreachableRuns find.
var (
	problemOutcomes     = []int{3, 4}
	unreachableOutcomes = []int{2}
)

// PollProblems returns the monitoring problems of refs at now: for each
// asset and collector whose newest poll in [now-lookback, now] ended
// credentials_rejected or protocol_error, that poll and the start of the
// run of such polls it ends, looked for back to now-history (history at
// least lookback). Refs with an invalid series id are left out, as in
// LatestPolls. The problems come sorted by asset id and collector.
//
// It reads the newest poll of every asset and collector, then, for the
// assets with a problem only, the newest poll that ended otherwise and
// the first poll after it: usually one statement per 100 assets, and two
// more per problem.
func (i *Influx) PollProblems(ctx context.Context, refs []AssetRef, now time.Time, lookback, history time.Duration) ([]PollProblem, error) {
	return i.pollRuns(ctx, "monitoring problems", problemOutcomes, refs, now, lookback, history)
}

// UnreachableRuns is PollProblems for polls that did not reach the
// device (timeout, refused, no route): the runs of unreachable polls that
// the newest poll of an asset and collector ends, and when they began.
// Points of agents that send no outcome (older ones: up=false meant any
// failure) neither start nor end a run.
func (i *Influx) UnreachableRuns(ctx context.Context, refs []AssetRef, now time.Time, lookback, history time.Duration) ([]PollProblem, error) {
	return i.pollRuns(ctx, "unreachable assets", unreachableOutcomes, refs, now, lookback, history)
}

// otherOutcomes is the condition that an agent_poll point ended with none
// of the outcomes. A point of an agent without the outcome field matches
// neither this nor a run's outcome (InfluxQL has no test for a missing
// field): it neither belongs to a run nor ends one; only the switch from
// an old agent to a new one mixes them.
func otherOutcomes(outcomes []int) string {
	conds := make([]string, len(outcomes))
	for n, o := range outcomes {
		conds[n] = fmt.Sprintf(`"outcome" <> %d`, o)
	}
	return "(" + strings.Join(conds, " AND ") + ")"
}

func (i *Influx) pollRuns(ctx context.Context, what string, outcomes []int, refs []AssetRef, now time.Time, lookback, history time.Duration) ([]PollProblem, error) {
	history = max(history, lookback)
	purpose := fmt.Sprintf("%s of %d assets", what, len(refs))
	inRun := map[string]bool{}
	for _, o := range outcomes {
		inRun[pollOutcomes[o]] = true
	}
	ids := map[string]string{}
	var valid []AssetRef
	for _, r := range refs {
		if r.Validate() == nil {
			ids[r.Series] = r.ID
			valid = append(valid, r)
		}
	}
	type key struct{ series, collector string }
	latest := map[key]PollStatus{}
	var texts []string
	for c := range slices.Chunk(valid, latestChunk) {
		texts = append(texts, newestPollStatement(c, "", now.Add(-lookback), now))
	}
	err := i.concurrently(ctx, purpose, texts, func(_ int, qs []QLSeries) {
		for _, q := range qs {
			if len(q.Values) == 0 {
				continue
			}
			p, ok := pollStatus(q.Columns, q.Values[0], q.Tags["collector"])
			if ok && inRun[p.Outcome] {
				latest[key{q.Tags[AssetTag], p.Collector}] = p
			}
		}
	})
	if err != nil || len(latest) == 0 {
		return nil, err
	}

	// The newest poll that ended otherwise, of the assets with a problem.
	bad := map[string]bool{}
	for k := range latest {
		bad[k.series] = true
	}
	var troubled []AssetRef
	for _, r := range valid {
		if bad[r.Series] {
			troubled = append(troubled, r)
			bad[r.Series] = false // a ref given twice is read once
		}
	}
	start := now.Add(-history)
	other := map[key]time.Time{}
	texts = texts[:0]
	for c := range slices.Chunk(troubled, latestChunk) {
		texts = append(texts, newestPollStatement(c, otherOutcomes(outcomes), start, now))
	}
	err = i.concurrently(ctx, purpose, texts, func(_ int, qs []QLSeries) {
		for _, q := range qs {
			if at, ok := firstTime(q); ok {
				other[key{q.Tags[AssetTag], q.Tags["collector"]}] = at
			}
		}
	})
	if err != nil {
		return nil, err
	}

	// The first poll of each run: after the other one, or the first read.
	keys := slices.SortedFunc(maps.Keys(latest), func(a, b key) int {
		return cmp.Or(strings.Compare(a.series, b.series), strings.Compare(a.collector, b.collector))
	})
	texts = texts[:0]
	for _, k := range keys {
		after, strict := start, false
		if g, ok := other[k]; ok {
			after, strict = g, true
		}
		texts = append(texts, runStartStatement(k.series, k.collector, after, strict, latest[k].At))
	}
	since := make([]time.Time, len(keys))
	err = i.concurrently(ctx, purpose, texts, func(n int, qs []QLSeries) {
		for _, q := range qs {
			if at, ok := firstTime(q); ok {
				since[n] = at
			}
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]PollProblem, 0, len(keys))
	for n, k := range keys {
		s := since[n]
		if s.IsZero() { // written between the reads: the run is as new as it gets
			s = latest[k].At
		}
		out = append(out, PollProblem{AssetID: ids[k.series], Latest: latest[k], Since: s})
	}
	slices.SortStableFunc(out, func(a, b PollProblem) int {
		return cmp.Or(strings.Compare(a.AssetID, b.AssetID), strings.Compare(a.Latest.Collector, b.Latest.Collector))
	})
	return out, nil
}

// newestPollStatement reads the newest agent_poll row of every asset of
// refs and collector in [start, stop] that meets cond ("" for any).
func newestPollStatement(refs []AssetRef, cond string, start, stop time.Time) string {
	if cond != "" {
		cond = " AND " + cond
	}
	return fmt.Sprintf(`SELECT "up"::field, "outcome"::field, "message"::field FROM "agent_poll" WHERE %s%s AND time >= %s AND time <= %s GROUP BY %s, "collector" ORDER BY time DESC LIMIT 1`,
		assetFilter(refs), cond, qlTime(start), qlTime(stop), quoteIdent(AssetTag))
}

// runStartStatement reads the first agent_poll row of one asset and
// collector after after (strict) or from it, up to until. series must be
// a validated series id; the collector is quoted.
func runStartStatement(series, collector string, after time.Time, strict bool, until time.Time) string {
	op := ">="
	if strict {
		op = ">"
	}
	return fmt.Sprintf(`SELECT "up"::field FROM "agent_poll" WHERE %s = %s AND "collector" = %s AND time %s %s AND time <= %s ORDER BY time ASC LIMIT 1`,
		quoteIdent(AssetTag), quoteString(series), quoteString(collector), op, qlTime(after), qlTime(until))
}

// firstTime is the time of q's first row.
func firstTime(q QLSeries) (time.Time, bool) {
	c := slices.Index(q.Columns, "time")
	if c < 0 || len(q.Values) == 0 || c >= len(q.Values[0]) {
		return time.Time{}, false
	}
	at, ok := q.Values[0][c].(time.Time)
	return at, ok
}
