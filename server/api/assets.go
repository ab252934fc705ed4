package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

type assetJSON struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	OUID         string    `json:"ou_id"`
	Category     string    `json:"category"`
	Manufacturer string    `json:"manufacturer"`
	Product      string    `json:"product"`
	Serial       string    `json:"serial"`
	CreatedAt    time.Time `json:"created_at"`
}

func toAssetJSON(a store.Asset) assetJSON {
	return assetJSON{ID: a.ID, Name: a.Name, OUID: a.OUID, Category: a.Category,
		Manufacturer: a.Manufacturer, Product: a.Product, Serial: a.Serial, CreatedAt: a.CreatedAt}
}

// visibleSet resolves the caller's visibility. Every read path starts here.
func (a *API) visibleSet(r *http.Request) (visibility.Principal, visibility.Set, error) {
	p := principalFrom(r.Context())
	ous, err := a.store.OUs(r.Context(), p.OrgID)
	if err != nil {
		return p, visibility.Set{}, err
	}
	return p, visibility.Resolve(p, ous), nil
}

func (a *API) listAssets(w http.ResponseWriter, r *http.Request) error {
	p, set, err := a.visibleSet(r)
	if err != nil {
		return err
	}
	all, err := a.store.Assets(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	out := []assetJSON{}
	for _, as := range set.Filter(all) {
		out = append(out, toAssetJSON(as))
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": out})
	return nil
}

// visibleAsset loads the asset named in the path if the caller may see it.
// Invisible and missing assets get the same 404.
func (a *API) visibleAsset(r *http.Request) (visibility.Principal, store.Asset, error) {
	p, set, err := a.visibleSet(r)
	if err != nil {
		return p, store.Asset{}, err
	}
	as, err := a.store.Asset(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !set.CanSee(as)) {
		return p, store.Asset{}, errNotFound
	}
	return p, as, err
}

func (a *API) getAsset(w http.ResponseWriter, r *http.Request) error {
	_, as, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	out := map[string]any{"asset": toAssetJSON(as)}
	at, doc, err := a.store.Inventory(r.Context(), as.ID)
	switch {
	case err == nil:
		out["inventory"] = json.RawMessage(doc)
		out["inventory_collected_at"] = at
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// assetSeries answers GET /api/v1/assets/{id}/series?measurement=&field=
// &start=&stop=&every=&fn=. start and stop are RFC 3339 times or durations
// relative to now ("-6h"); every is a Go duration for windowed aggregates.
func (a *API) assetSeries(w http.ResponseWriter, r *http.Request) error {
	p, as, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	now := a.now()
	start, err := parseTime(q.Get("start"), now.Add(-time.Hour), now)
	if err != nil {
		return badRequest("start: %v", err)
	}
	stop, err := parseTime(q.Get("stop"), now, now)
	if err != nil {
		return badRequest("stop: %v", err)
	}
	sq := tsdb.SeriesQuery{OrgID: p.OrgID, AssetID: as.ID, Measurement: q.Get("measurement"),
		Field: q.Get("field"), Start: start, Stop: stop, Fn: q.Get("fn")}
	if e := q.Get("every"); e != "" {
		if sq.Every, err = time.ParseDuration(e); err != nil {
			return badRequest("every %q: not a duration", e)
		}
		if sq.Fn == "" {
			sq.Fn = "mean"
		}
	}
	if err := sq.Validate(); err != nil {
		return badRequest("%v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	series, err := a.tsdb.Series(r.Context(), sq)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset_id": as.ID, "start": start.UTC(), "stop": stop.UTC(), "series": nonNil(series)})
	return nil
}

// assetLatest answers the newest value of every series of an asset.
func (a *API) assetLatest(w http.ResponseWriter, r *http.Request) error {
	p, as, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	lookback := 24 * time.Hour
	if l := r.URL.Query().Get("lookback"); l != "" {
		d, err := time.ParseDuration(l)
		if err != nil || d < time.Minute || d > 90*24*time.Hour {
			return badRequest("lookback %q: a duration from 1m to 2160h", l)
		}
		lookback = d
	}
	series, err := a.tsdb.Latest(r.Context(), p.OrgID, as.ID, lookback)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset_id": as.ID, "series": nonNil(series)})
	return nil
}

func nonNil(s []tsdb.Series) []tsdb.Series {
	if s == nil {
		return []tsdb.Series{}
	}
	return s
}

// parseTime reads an RFC 3339 time or a duration relative to now.
func parseTime(s string, def, now time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, errors.New("use an RFC 3339 time (2026-01-02T15:04:05Z), now, or a duration relative to now (-6h)")
}
