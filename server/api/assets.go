package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/kpilot/kpilot/server/assets"
	"github.com/kpilot/kpilot/server/kpis"
	"github.com/kpilot/kpilot/server/overview"
	"github.com/kpilot/kpilot/server/params"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

type assetJSON struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	OrgID        string    `json:"organization_id"`
	OUID         string    `json:"ou_id"`
	Category     string    `json:"category"`
	Pinned       bool      `json:"category_pinned"` // a user chose Category (PATCH)
	Location     string    `json:"location"`
	Notes        *string   `json:"notes,omitempty"` // the owner's only
	Manufacturer string    `json:"manufacturer"`
	Product      string    `json:"product"`
	Type         string    `json:"type"`
	Version      string    `json:"version"`
	Serial       string    `json:"serial"`
	CreatedAt    time.Time `json:"created_at"`
	// Access says what the caller may see of it: owner, service or
	// reseller; Via why a partner sees it (created, system-key, channel).
	Access string            `json:"access"`
	Via    []store.GrantKind `json:"via,omitempty"`
	// Customer names the asset's organization when it is not the caller's.
	Customer *orgRef `json:"customer,omitempty"`
	// Status is up, down, stale or unknown (see store.Asset.Status), as of
	// LastPollAt.
	Status     string     `json:"status"`
	LastPollAt *time.Time `json:"last_poll_at"`
	// Poll is the outcome of the latest poll and why (null without a
	// poll in the last day): shown to everyone who sees the asset.
	Poll *tsdb.PollStatus `json:"poll"`
	// Health is the worst severity of its current health states (kpis.AssetHealth); one asset's answer only.
	Health string `json:"health,omitempty"`
	// Findings counts its open findings where the caller sees them (overview.AssetFindings); lists only.
	Findings *overview.Severities `json:"findings,omitempty"`
}

type orgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func toAssetJSON(a store.Asset, acc visibility.Access, now time.Time) assetJSON {
	return assetJSON{ID: a.ID, Name: a.Name, OrgID: a.OrgID, OUID: a.OUID, Category: a.Category, Pinned: a.CategoryPinned,
		Manufacturer: a.Manufacturer, Product: a.Product, Type: a.Type, Version: a.Version, Serial: a.Serial,
		CreatedAt: a.CreatedAt, Access: acc.Class.String(), Via: acc.Via,
		Status: a.Status(now), LastPollAt: timePtr(a.LastPollAt), Location: a.Location, Notes: assets.Notes(a, acc)}
}

// visibleAssets returns every asset the caller may see, filtered by the
// category and customer_id query parameters, with the names of the
// organizations they belong to.
func (a *API) visibleAssets(r *http.Request) (visibility.Principal, visibility.Set, []store.Asset, map[string]string, error) {
	p, set, err := a.visibleSet(r)
	if err != nil {
		return p, set, nil, nil, err
	}
	l, err := visibility.List(r.Context(), a.store, p, set)
	if err != nil {
		return p, set, nil, nil, err
	}
	q := r.URL.Query()
	var out []store.Asset
	for _, as := range l.Assets {
		if c := q.Get("category"); c != "" && as.Category != c {
			continue
		}
		if c := q.Get("customer_id"); c != "" && as.OrgID != c {
			continue
		}
		out = append(out, as)
	}
	return p, set, out, l.OrgNames, nil
}

// listAssets answers every asset the caller may see: its own
// organization's (below its OU) and, for partners, what customers share.
func (a *API) listAssets(w http.ResponseWriter, r *http.Request) error {
	p, set, assets, names, err := a.visibleAssets(r)
	if err != nil {
		return err
	}
	found, err := overview.AssetFindings(r.Context(), a.store, set, assets)
	if err != nil {
		return err
	}
	out := []assetJSON{}
	polls := a.latestPolls(r.Context(), assets...)
	for _, as := range assets {
		j := toAssetJSON(as, set.Access(as), a.now())
		j.Poll, j.Findings = polls[as.ID], found[as.ID]
		if as.OrgID != p.OrgID {
			j.Customer = &orgRef{ID: as.OrgID, Name: names[as.OrgID]}
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": out})
	return nil
}

// overview answers GET /api/v1/overview: a page of the customers the
// caller sees with what needs attention (overview.Customers).
func (a *API) overview(w http.ResponseWriter, r *http.Request) error {
	p, set, err := a.visibleSet(r)
	if err != nil {
		return err
	}
	page, err := overview.Answer(r.Context(), a.store, p, set, a.now(), r.URL.Query())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) getAsset(w http.ResponseWriter, r *http.Request) error {
	p, as, acc, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	j := toAssetJSON(as, acc, a.now())
	j.Poll = a.latestPolls(r.Context(), as)[as.ID]
	j.Health = string(a.kpis.AssetHealth(r.Context(), a.tsdb, as, acc))
	if as.OrgID != p.OrgID {
		o, err := a.store.Organization(r.Context(), as.OrgID)
		if err != nil {
			return err
		}
		j.Customer = &orgRef{ID: o.ID, Name: o.Name}
	}
	out := map[string]any{"asset": j}
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

// latestPolls reads the latest poll outcome of assets; without InfluxDB
// the assets are answered without it.
func (a *API) latestPolls(ctx context.Context, assets ...store.Asset) map[string]*tsdb.PollStatus {
	polls, err := a.tsdb.LatestPolls(ctx, tsdb.Refs(assets...), 24*time.Hour)
	if err != nil {
		a.log.Warn("reading the latest poll outcomes", "err", err)
	}
	return polls
}

// assetSeries answers GET /api/v1/assets/{id}/series?measurement=&field=
// &start=&stop=&every=&fn=. start and stop are RFC 3339 times or durations
// relative to now ("-6h"); every is a Go duration for windowed aggregates.
func (a *API) assetSeries(w http.ResponseWriter, r *http.Request) error {
	_, as, acc, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	cat, err := a.kpis.For(r.Context(), as.OrgID)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if !acc.SeesIn(cat, q.Get("measurement"), q.Get("field")) {
		return &HTTPError{Code: http.StatusForbidden, Msg: "health and service events are shown to the owner and service partners only"}
	}
	sq, err := params.Series(q, tsdb.Ref(as), a.now())
	if err != nil {
		return badRequest("%v", err)
	}
	series, err := a.tsdb.Series(r.Context(), sq)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	// All fields of a measurement asked for: its health readings are
	// service data.
	series = slices.DeleteFunc(series, func(s tsdb.Series) bool { return !acc.SeesIn(cat, s.Measurement, s.Field) })
	writeJSON(w, http.StatusOK, map[string]any{"asset_id": as.ID, "start": sq.Start.UTC(), "stop": sq.Stop.UTC(), "series": kpis.Describe(cat, series)})
	return nil
}

// assetLatest answers the newest value of every series of an asset.
func (a *API) assetLatest(w http.ResponseWriter, r *http.Request) error {
	_, as, acc, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	lookback, err := params.Lookback(r.URL.Query(), 24*time.Hour, time.Minute, 90*24*time.Hour)
	if err != nil {
		return badRequest("%v", err)
	}
	cat, err := a.kpis.For(r.Context(), as.OrgID)
	if err != nil {
		return err
	}
	series, err := a.tsdb.Latest(r.Context(), tsdb.Ref(as), lookback)
	if err != nil {
		return unavailable("InfluxDB", err)
	}
	series = slices.DeleteFunc(series, func(s tsdb.Series) bool { return !acc.SeesIn(cat, s.Measurement, s.Field) })
	writeJSON(w, http.StatusOK, map[string]any{"asset_id": as.ID, "series": kpis.Describe(cat, series)})
	return nil
}
