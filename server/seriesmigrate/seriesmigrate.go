// Package seriesmigrate rewrites KPI series of the schema before issue 28
// (three UUID tags on every point: asset_id, org_id and ou_id) into the
// current one (one tag asset=<series id>, store.Asset.SeriesID). It backs
// `kpilot-server migrate-series`.
//
// The copy is idempotent: a point written again overwrites itself
// (InfluxDB keeps one point per series and time), so a run that stopped
// half-way is resumed by running again. Old series are dropped only when
// asked (Options.DeleteOld) and only after their copy was verified point
// by point. Memory stays bounded: each measurement of each asset is read
// in time chunks of about Options.ChunkPoints points.
package seriesmigrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// Querier runs InfluxQL; *tsdb.Influx is one.
type Querier interface {
	// InfluxQL runs query; purpose names it in errors.
	InfluxQL(ctx context.Context, purpose, query string) ([]tsdb.QLSeries, error)
}

// Influx is what the migration needs of InfluxDB; *tsdb.Influx is one.
type Influx interface {
	Querier
	// Write stores line protocol and returns nil only once InfluxDB
	// confirmed it.
	Write(ctx context.Context, lines []byte) error
}

// Store is what the migration reads of the metadata store.
type Store interface {
	OrganizationIDs(ctx context.Context) ([]string, error)
	Assets(ctx context.Context, orgID string) ([]store.Asset, error)
}

// Defaults of Options.
const (
	DefaultChunkPoints = 20000
	DefaultBatchLines  = 5000
)

// Options tune a run.
type Options struct {
	// DryRun reads the old series and reports what would be copied, and
	// writes and deletes nothing.
	DryRun bool
	// DeleteOld drops an asset's old series once every one of its old
	// points was found in the new schema with the same value, type and
	// time, and InfluxDB counts as many old values as were read.
	DeleteOld bool
	// ChunkPoints is about how many points one read returns (the time
	// span of a chunk adapts to the density met); 0 means
	// DefaultChunkPoints.
	ChunkPoints int
	// BatchLines is the most lines one write carries; 0 means
	// DefaultBatchLines.
	BatchLines int
}

// Summary is what a run did (or, in a dry run, would do).
type Summary struct {
	// Assets is how many assets of the store have old series; Done how
	// many of them were copied (or read, in a dry run) without error.
	Assets, Done int
	// Series and Points count the old series and points copied.
	Series int
	Points int64
	// Deleted counts the assets whose old series were dropped.
	Deleted int
	// Unknown lists the old series' asset ids that no asset of the store
	// has: their points are left alone.
	Unknown []Unknown
	// Elapsed is how long the run took.
	Elapsed time.Duration
}

// Unknown is an asset id of old series that the store does not know.
type Unknown struct {
	AssetID string
	Series  int
	Points  int64
}

// Run copies the old series of every asset of every organization of st
// into the new schema, then counts the old series whose asset is unknown.
// It logs one line per asset and the summary. An error names the asset
// (and the chunk); Run goes on with the next asset unless InfluxDB is
// unavailable or ctx is done, and returns every error joined.
func Run(ctx context.Context, st Store, db Influx, log *slog.Logger, o Options) (Summary, error) {
	start := time.Now()
	if o.ChunkPoints <= 0 {
		o.ChunkPoints = DefaultChunkPoints
	}
	if o.BatchLines <= 0 {
		o.BatchLines = DefaultBatchLines
	}
	m := &migrator{db: db, o: o}
	var sum Summary
	old, err := oldAssetIDs(ctx, db, 0)
	if err != nil {
		return sum, err
	}
	targets, err := assetsWithOldSeries(ctx, st, old)
	if err != nil {
		return sum, err
	}
	sum.Assets = len(targets)
	var errs []error
	for _, a := range targets {
		delete(old, a.ID)
		r, err := m.asset(ctx, a.ID, a.SeriesID, !o.DryRun, o.DeleteOld && !o.DryRun)
		sum.Series += r.series
		sum.Points += r.points
		if err != nil {
			errs = append(errs, fmt.Errorf("asset %s (series %s): %w", a.ID, a.SeriesID, err))
			if fatal(ctx, err) {
				break
			}
			continue
		}
		sum.Done++
		if r.deleted {
			sum.Deleted++
		}
		log.Info(progressMsg(o.DryRun), "asset_id", a.ID, "series_id", a.SeriesID, "series", r.series,
			"points", r.points, "old_deleted", r.deleted, "assets_done", sum.Done, "assets", sum.Assets, "points_total", sum.Points)
	}
	if len(errs) == 0 || !fatal(ctx, errs[len(errs)-1]) {
		for _, id := range sortedKeys(old) {
			r, err := m.asset(ctx, id, "", false, false)
			if err != nil {
				errs = append(errs, fmt.Errorf("counting the series of unknown asset %s: %w", id, err))
				if fatal(ctx, err) {
					break
				}
			}
			sum.Unknown = append(sum.Unknown, Unknown{AssetID: id, Series: r.series, Points: r.points})
			log.Warn("old series of an asset the store does not know, left alone", "asset_id", id, "series", r.series, "points", r.points)
		}
	}
	sum.Elapsed = time.Since(start)
	log.Info("migrate-series done", "dry_run", o.DryRun, "assets", sum.Assets, "assets_done", sum.Done, "series", sum.Series,
		"points", sum.Points, "assets_deleted", sum.Deleted, "unknown_assets", len(sum.Unknown),
		"errors", len(errs), "elapsed", sum.Elapsed.Round(time.Millisecond))
	return sum, errors.Join(errs...)
}

func progressMsg(dryRun bool) string {
	if dryRun {
		return "asset would be migrated (dry run)"
	}
	return "asset migrated"
}

// fatal reports whether an error stops the whole run: the next asset
// would fail the same way.
func fatal(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, tsdb.ErrUnavailable)
}

// assetsWithOldSeries returns the store's assets whose id is in old, in
// the order of their organizations' ids and then by name.
func assetsWithOldSeries(ctx context.Context, st Store, old map[string]struct{}) ([]store.Asset, error) {
	orgs, err := st.OrganizationIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing organizations: %w", err)
	}
	var out []store.Asset
	for _, org := range orgs {
		assets, err := st.Assets(ctx, org)
		if err != nil {
			return nil, fmt.Errorf("listing the assets of organization %s: %w", org, err)
		}
		for _, a := range assets {
			if _, ok := old[a.ID]; ok {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// OldSeriesPresent reports whether InfluxDB holds any series of the
// schema before issue 28. It asks for one tag value only, so it is cheap
// enough for the server's start.
func OldSeriesPresent(ctx context.Context, q Querier) (bool, error) {
	ids, err := oldAssetIDs(ctx, q, 1)
	return len(ids) > 0, err
}

// oldAssetIDs returns the asset_id tag values InfluxDB holds (at most
// limit per measurement when limit > 0).
func oldAssetIDs(ctx context.Context, q Querier, limit int) (map[string]struct{}, error) {
	text := "SHOW TAG VALUES WITH KEY = " + quoteIdent(tsdb.LegacyAssetTag)
	if limit > 0 {
		text += fmt.Sprintf(" LIMIT %d", limit)
	}
	res, err := q.InfluxQL(ctx, "migrate-series: listing old asset ids", text)
	if err != nil {
		return nil, err
	}
	ids := map[string]struct{}{}
	for _, s := range res {
		vi := columnIndex(s.Columns, "value")
		for _, row := range s.Values {
			if vi >= 0 && vi < len(row) {
				if v, ok := row[vi].(string); ok && v != "" {
					ids[v] = struct{}{}
				}
			}
		}
	}
	return ids, nil
}
