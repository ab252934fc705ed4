package assets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// ReportedWithin is how recently an asset must have been polled for its
// agent to count as still reporting it: longer than the poll intervals
// agents use (a minute to a quarter hour) with a batch's delay, so a
// slow collector is not taken for a removed one.
const ReportedWithin = time.Hour

// Deleted is what a delete did.
type Deleted struct {
	Asset store.Asset
	// SeriesDropped: its KPI series were dropped from InfluxDB. When
	// false, SeriesNote says why; the points then stay until InfluxDB's
	// retention removes them, read by no one (a series id is never
	// given to another asset).
	SeriesDropped bool
	SeriesNote    string
}

// Delete removes the asset id for p, an admin of it. While an agent
// still reports the asset (a poll or an inventory within
// ReportedWithin) it is refused
// as a conflict that names the agent and its target: deleted, the asset
// would come back at the agent's next batch.
func (s *Service) Delete(ctx context.Context, p visibility.Principal, who audit.Actor, id string) (Deleted, error) {
	as, err := s.owned(ctx, p, id)
	if err != nil {
		return Deleted{}, err
	}
	last, err := s.lastReport(ctx, as)
	if err != nil {
		return Deleted{}, err
	}
	if !last.IsZero() && s.o.Now().Sub(last) < ReportedWithin {
		return Deleted{}, s.stillReported(ctx, as, last)
	}
	if err := s.st.DeleteAsset(ctx, as.OrgID, as.ID); err != nil {
		return Deleted{}, notFound(err, "asset "+id)
	}
	out := Deleted{Asset: as, SeriesDropped: true}
	if s.o.Series == nil {
		out.SeriesDropped, out.SeriesNote = false, "no time-series database configured"
	} else if err := s.o.Series.DropAssetSeries(ctx, tsdb.Ref(as)); err != nil {
		// The asset is gone already; its points are not worth failing
		// the delete for.
		out.SeriesDropped, out.SeriesNote = false, "its KPI series stay until InfluxDB's retention removes them"
		s.o.Log.Warn("deleted asset: dropping its series", "asset", as.ID, "series", as.SeriesID, "err", err)
	}
	return out, s.record(ctx, who, as, as.OUID, "asset.delete", map[string]any{"name": as.Name, "series_id": as.SeriesID,
		"series_dropped": out.SeriesDropped})
}

// lastReport is when an agent last reported as: its latest poll or, for
// an agent that sends inventory without polls, its latest inventory.
func (s *Service) lastReport(ctx context.Context, as store.Asset) (time.Time, error) {
	at, _, err := s.st.Inventory(ctx, as.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return at, fmt.Errorf("reading the inventory of asset %s: %w", as.ID, err)
	}
	if as.LastPollAt.After(at) {
		at = as.LastPollAt
	}
	return at, nil
}

// stillReported is the conflict of deleting an asset an agent reported
// at last.
func (s *Service) stillReported(ctx context.Context, as store.Asset, last time.Time) error {
	origin, err := s.st.AssetOrigin(ctx, as.ID)
	if err != nil {
		return notFound(err, "origin of asset "+as.ID)
	}
	agents, err := s.st.Agents(ctx, as.OrgID)
	if err != nil {
		return fmt.Errorf("loading agents of %s: %w", as.OrgID, err)
	}
	var names []string
	for _, ag := range agents {
		if ag.ID == origin.CreatedByAgent {
			names = []string{ag.Name}
			break
		}
		if ag.OUID == as.HomeOUID { // the agents that may write it
			names = append(names, ag.Name)
		}
	}
	target := ""
	for _, src := range origin.Sources {
		if !strings.HasPrefix(src.SourceKey, "manual:") {
			target = src.SourceKey
			break
		}
	}
	who := "an agent"
	if len(names) > 0 {
		who = fmt.Sprintf("agent %q", strings.Join(names, `" or "`))
	}
	what := "the target that reports it"
	if target != "" {
		what = fmt.Sprintf("target %q", target)
	}
	return problem.Newf(problem.Conflict, "%s still reports this asset (last %s); remove %s from its configuration: an hour after its last report, from %s, the asset can be deleted",
		who, last.UTC().Format("2006-01-02 15:04 UTC"), what, last.Add(ReportedWithin).UTC().Format("2006-01-02 15:04 UTC"))
}
