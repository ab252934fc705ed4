package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/exposition"
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
	var every time.Duration
	if e := r.URL.Query().Get("every"); e != "" {
		if every, err = time.ParseDuration(e); err != nil || every < time.Minute {
			return badRequest("every %q: a duration of at least 1m", e)
		}
		if stop.Sub(start)/every > 1000 {
			return badRequest("every %q: at most 1000 windows per query", e)
		}
	}
	obs, reboots, err := a.tsdb.AvailabilityData(r.Context(), tsdb.Ref(as), start, stop)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	segs := availability.Timeline(obs, reboots, 0)
	out := map[string]any{"asset_id": as.ID, "summary": availability.Summarize(segs, reboots, start, stop)}
	if every > 0 {
		periods := []availability.Report{}
		for t := start; t.Before(stop); t = t.Add(every) {
			periods = append(periods, availability.Summarize(segs, reboots, t, minTime(t.Add(every), stop)))
		}
		out["periods"] = periods
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
	unit, now := cmp.Or(r.URL.Query().Get("period"), availability.Day), a.now()
	from, err := availability.DefaultStart(unit, now)
	if err != nil {
		return badRequest("%v", err)
	}
	start, stop, err := a.period(r, from.Sub(now), maxAvailabilitySpan)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("start") == "" {
		start = from // aligned to the calendar, not to a.period's now
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

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
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

type inventoryChangeJSON struct {
	CollectedAt time.Time       `json:"collected_at"`
	First       bool            `json:"first,omitempty"` // the asset's first snapshot
	Changes     json.RawMessage `json:"changes"`
}

// assetInventoryHistory answers GET /api/v1/assets/{id}/inventory/history
// ?before=&limit=: the snapshots that changed something, newest first;
// next_before pages on.
func (a *API) assetInventoryHistory(w http.ResponseWriter, r *http.Request) error {
	_, as, _, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := limitParam(q, 50, 500)
	if err != nil {
		return err
	}
	var before time.Time
	if b := q.Get("before"); b != "" {
		if before, err = time.Parse(time.RFC3339Nano, b); err != nil {
			return badRequest("before %q: an RFC 3339 time", b)
		}
	}
	hist, err := a.store.InventoryHistory(r.Context(), as.ID, before, limit)
	if err != nil {
		return err
	}
	out := make([]inventoryChangeJSON, 0, len(hist))
	for _, h := range hist {
		out = append(out, inventoryChangeJSON{CollectedAt: h.CollectedAt, First: string(h.Changes) == "[]", Changes: h.Changes})
	}
	res := map[string]any{"asset_id": as.ID, "history": out}
	if len(hist) == limit {
		res["next_before"] = hist[len(hist)-1].CollectedAt.Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
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
	refs := make([]tsdb.AssetRef, 0, len(assets))
	shown := make([]exposition.Asset, 0, len(assets))
	for _, as := range assets {
		refs = append(refs, tsdb.Ref(as))
		shown = append(shown, exposition.Asset{Asset: as, Customer: names[as.OrgID], Access: set.Access(as)})
	}
	latest, err := a.tsdb.LatestMany(r.Context(), refs, lookback)
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
