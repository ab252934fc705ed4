package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/exposition"
	"github.com/kpilot/kpilot/server/inventory"
	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/params"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// maxAvailabilitySpan bounds one availability query (its raw
// observations are read into memory: a year of 1-minute polls is about
// half a million).
const maxAvailabilitySpan = 400 * 24 * time.Hour

// period parses start and stop (params.Period) as a 400 if wrong.
func (a *API) period(r *http.Request, defStart time.Duration, maxSpan time.Duration) (time.Time, time.Time, error) {
	start, stop, err := params.Period(r.URL.Query(), a.now(), defStart, maxSpan)
	if err != nil {
		return start, stop, badRequest("%v", err)
	}
	return start, stop, nil
}

// assetAvailability answers GET /api/v1/assets/{id}/availability
// ?start=&stop=&every=: availability, downtime, outages and reboots of
// the period, and with every also per window of that length.
func (a *API) assetAvailability(w http.ResponseWriter, r *http.Request) error {
	_, as, _, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	start, stop, err := a.period(r, -24*time.Hour, maxAvailabilitySpan)
	if err != nil {
		return err
	}
	every, err := params.Every(r.URL.Query(), start, stop)
	if err != nil {
		return badRequest("%v", err)
	}
	obs, reboots, err := a.tsdb.AvailabilityData(r.Context(), tsdb.Ref(as), start, stop)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	segs, err := maintenance.MarkPlanned(r.Context(), a.store, as, availability.Timeline(obs, reboots, 0), start, stop)
	if err != nil {
		return err
	}
	out := map[string]any{"asset_id": as.ID, "summary": availability.Summarize(segs, reboots, start, stop)}
	if every > 0 {
		out["periods"] = availability.SummarizeEvery(segs, reboots, start, stop, every)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// assetUsage answers GET /api/v1/assets/{id}/usage?period=&start=&stop=:
// usage time over the period and per calendar day, week or month.
func (a *API) assetUsage(w http.ResponseWriter, r *http.Request) error {
	_, as, _, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	unit, start, stop, err := params.Usage(r.URL.Query(), a.now(), maxAvailabilitySpan)
	if err != nil {
		return badRequest("%v", err)
	}
	obs, reboots, err := a.tsdb.AvailabilityData(r.Context(), tsdb.Ref(as), start, stop)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	power, uptime, err := a.tsdb.UsageData(r.Context(), tsdb.Ref(as), start, stop)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	segs := availability.UsageTimeline(power, uptime, availability.Timeline(obs, reboots, 0))
	sum, periods, err := availability.UsagePeriods(segs, unit, start, stop)
	if err != nil {
		return badRequest("%v", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset_id": as.ID, "period": unit, "summary": sum, "periods": periods})
	return nil
}

// assetInventory answers the latest inventory snapshot of an asset.
func (a *API) assetInventory(w http.ResponseWriter, r *http.Request) error {
	_, as, _, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	at, doc, err := a.store.Inventory(r.Context(), as.ID)
	if errors.Is(err, store.ErrNotFound) {
		// Nothing collected yet (or an asset entered by hand).
		writeJSON(w, http.StatusOK, map[string]any{"asset_id": as.ID, "collected_at": nil, "inventory": nil})
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset_id": as.ID, "collected_at": at, "inventory": json.RawMessage(doc)})
	return nil
}

// assetInventoryHistory answers GET /api/v1/assets/{id}/inventory/history
// ?before=&limit=: the snapshots that changed something, newest first;
// next_before pages on.
func (a *API) assetInventoryHistory(w http.ResponseWriter, r *http.Request) error {
	_, as, _, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(r.URL.Query(), 50, 500)
	if err != nil {
		return err
	}
	before, err := params.Before(r.URL.Query())
	if err != nil {
		return badRequest("%v", err)
	}
	page, err := inventory.History(r.Context(), a.store.InventoryHistory, as.ID, before, limit)
	return reply(w, http.StatusOK, page, err)
}

// exposition answers GET /api/v1/metrics: the latest KPIs of every asset
// the caller may see, in the Prometheus text format or OpenMetrics
// (package exposition names and types them by each organization's KPI
// catalog), for a customer's or partner's Prometheus that scrapes with an
// API token.
func (a *API) exposition(w http.ResponseWriter, r *http.Request) error {
	lookback, err := params.Lookback(r.URL.Query(), 15*time.Minute, time.Minute, 24*time.Hour)
	if err != nil {
		return badRequest("%v", err)
	}
	_, set, assets, names, err := a.visibleAssets(r)
	if err != nil {
		return err
	}
	shown := each(assets, func(as store.Asset) exposition.Asset {
		return exposition.Asset{Asset: as, Customer: names[as.OrgID], Access: set.Access(as)}
	})
	latest, err := a.tsdb.LatestMany(r.Context(), tsdb.Refs(assets...), lookback)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	if err := a.kpis.Visible(r.Context(), assets, set.Access, latest); err != nil { // service data by each org's catalog
		return err
	}
	catalogs, err := exposition.CatalogsFor(r.Context(), shown, a.kpis.For)
	if err != nil {
		return err
	}
	format := expfmt.NegotiateAccept(r.Header, exposition.Formats()...)
	w.Header().Set("Content-Type", string(format))
	w.Header().Set("Cache-Control", "no-store")
	return exposition.Write(w, format, exposition.Families(shown, latest, catalogs))
}
