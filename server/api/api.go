// Package api is the server's JSON API: agent enrollment and ingest, user
// login, and the asset and KPI reads. Every read starts from the caller's
// visible asset set (package visibility) before it touches KPI data or
// inventory; an asset the caller may not see is answered 404, exactly like
// one that does not exist.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// TSDB is what the API needs of the time-series database.
type TSDB interface {
	Write(ctx context.Context, lines []byte) error
	Series(ctx context.Context, q tsdb.SeriesQuery) ([]tsdb.Series, error)
	Latest(ctx context.Context, orgID, assetID string, lookback time.Duration) ([]tsdb.Series, error)
}

// Limits bound what one request may cost the server.
type Limits struct {
	IngestMaxBytes             int64 // compressed request body
	IngestMaxDecompressedBytes int64 // after gunzip; a gzip bomb stops here
	SessionTTL                 time.Duration
	EnrollmentTokenTTL         time.Duration
}

// API holds the handlers' dependencies.
type API struct {
	store  store.Store
	tsdb   TSDB
	log    *slog.Logger
	limits Limits
	m      apiMetrics
	now    func() time.Time
}

// New returns the API. reg receives the request and ingest metrics.
func New(s store.Store, ts TSDB, limits Limits, log *slog.Logger, reg prometheus.Registerer) *API {
	return &API{store: s, tsdb: ts, log: log, limits: limits, m: newMetrics(reg), now: time.Now}
}

// Register adds the API routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/agents/enroll", a.handle("enroll", a.enroll))
	mux.Handle("POST /api/v1/ingest", a.handle("ingest", a.agentAuth(a.ingest)))
	mux.Handle("GET /api/v1/agents/self", a.handle("agent_self", a.agentAuth(a.agentSelf)))

	mux.Handle("POST /api/v1/login", a.handle("login", a.login))
	mux.Handle("POST /api/v1/logout", a.handle("logout", a.userAuth(a.logout)))
	mux.Handle("GET /api/v1/me", a.handle("me", a.userAuth(a.me)))
	mux.Handle("POST /api/v1/enrollment-tokens", a.handle("enrollment_token", a.userAuth(a.createEnrollmentToken)))

	mux.Handle("GET /api/v1/assets", a.handle("assets", a.userAuth(a.listAssets)))
	mux.Handle("GET /api/v1/assets/{id}", a.handle("asset", a.userAuth(a.getAsset)))
	mux.Handle("GET /api/v1/assets/{id}/series", a.handle("asset_series", a.userAuth(a.assetSeries)))
	mux.Handle("GET /api/v1/assets/{id}/latest", a.handle("asset_latest", a.userAuth(a.assetLatest)))

	mux.Handle("/api/", a.handle("unknown", func(http.ResponseWriter, *http.Request) error { return errNotFound }))
}
