// Package server runs kpilot-server: the JSON API for agents and users on
// top of the metadata store and InfluxDB, plus health and metrics
// endpoints for operators.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kpilot/kpilot/internal/debugserve"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kpilot/kpilot/internal/buildinfo"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/api"
	"github.com/kpilot/kpilot/server/assetlabels"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/clientaddr"
	"github.com/kpilot/kpilot/server/housekeeping"
	"github.com/kpilot/kpilot/server/ingest"
	"github.com/kpilot/kpilot/server/kpis"
	"github.com/kpilot/kpilot/server/lease"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/portal"
	"github.com/kpilot/kpilot/server/schedule"
	"github.com/kpilot/kpilot/server/seriesmigrate"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
	"github.com/kpilot/kpilot/server/webhook"
)

// Server is one kpilot-server process.
type Server struct {
	cfg    *Config
	log    *slog.Logger
	store  store.Store
	influx *tsdb.Influx
	reg    registry
	api    *api.API
	checks *checkup.Runner
	hooks  *webhook.Dispatcher
	keeper *housekeeping.Keeper
	sched  *schedule.Runner // mails scheduled reports
	labels *assetlabels.Labeler
	jobs   *lease.Runner
}

// OpenStore opens the configured metadata store, migrating its schema,
// with the secrets key file (created on first start) sealing its secrets.
func OpenStore(ctx context.Context, cfg *Config, log *slog.Logger) (store.Store, error) {
	st, err := openSealedStore(ctx, cfg, log)
	if err != nil {
		return nil, err // not a nil *sqlstore.DB in a non-nil interface
	}
	return st, nil
}

// InfluxOptions are the InfluxDB client options of cfg (the server's,
// and migrate-series').
func InfluxOptions(cfg *Config) tsdb.Options {
	return tsdb.Options{URL: cfg.InfluxDB.URL, Token: cfg.InfluxDB.Token.Reveal(), Org: cfg.InfluxDB.Org,
		Database: cfg.InfluxDB.Database, RetentionPolicy: cfg.InfluxDB.RetentionPolicy, Bucket: cfg.InfluxDB.Bucket,
		Timeout: cfg.InfluxDB.Timeout.D(), QueryTimeout: cfg.InfluxDB.QueryTimeout.D(), Gzip: cfg.InfluxDB.Gzip}
}

// New opens the store and prepares the InfluxDB client (which connects on
// first use). Close releases both.
func New(ctx context.Context, cfg *Config, log *slog.Logger) (*Server, error) {
	return newServer(ctx, cfg, log, prometheus.NewRegistry())
}

// registry is where the server's metrics are registered and gathered
// from for /metrics.
type registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

func newServer(ctx context.Context, cfg *Config, log *slog.Logger, reg registry) (*Server, error) {
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	influx := tsdb.New(InfluxOptions(cfg))
	if in, ok := st.(interface {
		Instrument(prometheus.Registerer) error
	}); ok {
		if err := in.Instrument(reg); err != nil {
			st.Close()
			return nil, fmt.Errorf("registering store metrics: %w", err)
		}
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kpilot_server_build_info", Help: "Build of the running server.",
			ConstLabels: prometheus.Labels{"version": buildinfo.Version}}, func() float64 { return 1 }))
	limits := api.Limits{
		Ingest: ingest.Limits{
			MaxBytes:             cfg.Limits.IngestMaxBytes,
			MaxDecompressedBytes: cfg.Limits.IngestMaxDecompressedBytes,
			Concurrency:          cfg.Limits.IngestConcurrency,
			QueueWait:            cfg.Limits.IngestQueueWait.D(),
			PerAgent:             cfg.Limits.IngestPerAgent,
			BodyTimeout:          cfg.Limits.IngestBodyTimeout.D(),
			InfluxRetries:        retries(cfg.InfluxDB.WriteRetries),
			WriteParts:           cfg.InfluxDB.WriteParts,
			NewAssetsPerHour:     noneIfZero(cfg.Limits.NewAssetsPerAgentHour),
		},
		SessionTTL:         cfg.Sessions.TTL.D(),
		EnrollmentTokenTTL: cfg.Sessions.EnrollmentTokenTTL.D(),
		InvitationTTL:      cfg.Sessions.InvitationTTL.D(),
		PasswordResetTTL:   cfg.Sessions.PasswordResetTTL.D(),
		APITokenTTL:        cfg.Sessions.APITokenTTL.D(),
		KeyGuesses:         cfg.Limits.KeyGuesses,
		LoginFailures:      cfg.Limits.LoginFailures,
		// rate limits on guessing: see docs/sharing.md#rate-limits
		LoginFailuresPerAddress: cfg.Limits.LoginFailuresPerAddress,
		SecretFailures:          cfg.Limits.SecretFailures,
	}
	sender, err := newMailer(cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	builtin, err := catalog.Builtin()
	if err != nil { // a defect of a shipped file, which tests hold to none
		st.Close()
		return nil, err
	}
	catalogs := kpis.New(st, builtin, kpis.Options{Log: log.With("part", "kpis")})
	hooks := newWebhooks(cfg, st, sender, log, reg)
	checks, err := newCheckups(cfg, st, influx, log, reg, checkup.WithNotify(hooks.FindingsChanged), checkup.WithCatalogs(catalogs.For),
		checkup.WithMaintenance(func(ctx context.Context, orgID string) (checkup.Windows, error) {
			return maintenance.Load(ctx, st, orgID)
		}))
	if err != nil {
		st.Close()
		return nil, err
	}
	keeper := housekeeping.New(st, cfg.Retention.Store(), log.With("part", "housekeeping"), reg)
	jobs := lease.New(st, cfg.Jobs.LeasePeriod.D(), log.With("part", "jobs"), reg)
	vis := visibility.NewLoader(st)
	sched := schedule.New(st, influx, vis, sender, cfg.PublicURL, log.With("part", "schedules"))
	return &Server{cfg: cfg, log: log, store: st, influx: influx, reg: reg, checks: checks, hooks: hooks, keeper: keeper,
		jobs: jobs, sched: sched, labels: assetlabels.New(st, influx, log.With("part", "asset_labels")),
		api: api.New(st, influx, limits, log.With("part", "api"), reg, api.WithMail(sender, cfg.PublicURL),
			api.WithCheckups(checks), api.WithWebhooks(hooks), api.WithKPIs(catalogs))}, nil
}

// newWebhooks prepares the webhook dispatcher (config validated already).
func newWebhooks(cfg *Config, st store.Store, sender mail.Sender, log *slog.Logger, reg prometheus.Registerer) *webhook.Dispatcher {
	o := webhook.Options{MaxAttempts: cfg.Webhooks.MaxAttempts, Timeout: cfg.Webhooks.Timeout.D(), Mail: sender, PublicURL: cfg.PublicURL,
		// Only Muted is asked of it: no audit trail or visibility needed.
		Muter: maintenance.New(st, nil, nil, nil)}
	for _, n := range cfg.Webhooks.AllowedNetworks {
		if p, err := netip.ParsePrefix(n); err == nil {
			o.AllowedNetworks = append(o.AllowedNetworks, p)
		}
	}
	return webhook.New(st, o, log.With("part", "webhooks"), reg)
}

// newCheckups prepares the check-up runner with the configured default
// rules (checkups.rules_file, else the built-in ones).
func newCheckups(cfg *Config, st store.Store, influx *tsdb.Influx, log *slog.Logger, reg prometheus.Registerer, opts ...checkup.Option) (*checkup.Runner, error) {
	defaults := checkup.DefaultRules()
	if f := cfg.Checkups.RulesFile; f != "" {
		doc, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("checkups.rules_file: %w", err)
		}
		if defaults, err = checkup.Parse(doc); err != nil {
			return nil, fmt.Errorf("checkups.rules_file %s: %w", f, err)
		}
		opts = append(opts, checkup.WithDefaultsDoc(doc))
	}
	return checkup.NewRunner(st, influx, defaults, log.With("part", "checkups"), reg, opts...), nil
}

// retries maps influxdb.write_retries to ingest.Limits, where 0 means the
// default and a negative number none.
func retries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// noneIfZero maps a count of the config, where 0 means none, to one of
// ingest.Limits, where 0 takes the default and a negative value means none.
func noneIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// newMailer returns the SMTP sender, or the outbox when no SMTP host is
// configured.
func newMailer(cfg *Config, log *slog.Logger) (mail.Sender, error) {
	m := cfg.Mail
	if m.SMTP.Host != "" {
		return mail.NewSMTP(m.From, mail.SMTPOptions{Host: m.SMTP.Host, Port: m.SMTP.Port, TLS: m.SMTP.TLS,
			Username: m.SMTP.Username, Password: m.SMTP.Password.Reveal(), CAFile: m.SMTP.CAFile, Timeout: m.SMTP.Timeout.D()})
	}
	o, err := mail.NewOutbox(m.From, m.OutboxDir)
	if err != nil {
		return nil, err
	}
	log.Info("mail goes to the outbox directory (no mail.smtp.host set)", "dir", o.Dir())
	return o, nil
}

// Store returns the metadata store (for the admin commands).
func (s *Server) Store() store.Store { return s.store }

// Handler returns the server's HTTP handler: the JSON API under /api/,
// the web portal and the health checks; /metrics only with metrics_token
// (else on metrics_listen alone, see MetricsHandler).
func (s *Server) Handler() (http.Handler, error) {
	apiMux := http.NewServeMux()
	s.api.Register(apiMux)
	// Users reach the portal over HTTPS when the server serves TLS or sits
	// behind a proxy that does (public_url https://…): cookies are Secure.
	secure := s.cfg.TLSCertFile != "" || strings.HasPrefix(s.cfg.PublicURL, "https://")
	web, err := portal.New(apiMux, portal.Options{Secure: secure, Log: s.log.With("part", "portal")})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", apiMux)
	web.Register(mux)
	// Not the portal's page either: a plain 404 says nothing is here.
	mux.Handle("/metrics", http.NotFoundHandler())
	if tok := s.cfg.MetricsToken.Reveal(); tok != "" {
		mux.Handle("GET /metrics", requireBearer(tok, s.MetricsHandler()))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, buildinfo.String("kpilot-server"))
	})
	trusted, err := clientaddr.Parse(s.cfg.TrustedProxies) // validated with the config
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	return trusted.Middleware(mux), nil
}

// MetricsHandler serves the server's own metrics (Prometheus text).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
}

// requireBearer passes requests with "Authorization: Bearer <token>" to
// next and answers others 401. The hashes are compared, in constant time,
// so neither the token's bytes nor its length leak through timing.
func requireBearer(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kpilot metrics"`)
			http.Error(w, "metrics need the metrics_token as a bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ready reports whether InfluxDB answers; the store is checked at start.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.influx.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		http.Error(w, "InfluxDB unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// shutdownTimeout is how long in-flight requests (an ingest waiting for
// InfluxDB) may take to finish after SIGTERM. An unfinished ingest is not
// acknowledged, so the agent keeps and resends its batch.
const shutdownTimeout = 20 * time.Second

// Run serves until ctx is done, then shuts down gracefully. Cancellation is
// not an error.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a given listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	h, err := s.Handler()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	if s.cfg.MetricsListen != "" {
		m, err := s.metricsServer(errc)
		if err != nil {
			return err
		}
		defer m.Close()
	}
	if s.cfg.DebugListen != "" {
		dbg, err := s.debugServer()
		if err != nil {
			return err
		}
		defer dbg.Close()
	}
	var jobs sync.WaitGroup
	defer jobs.Wait() // after stopBG: each job ends its cycle and releases its lease
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	for _, j := range s.periodicJobs() {
		jobs.Go(func() { s.jobs.Run(bg, j) })
	}
	jobs.Go(func() { s.warnOldSeries(bg) })
	go func() {
		if s.cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	scheme := "http"
	if s.cfg.TLSCertFile != "" {
		scheme = "https"
	}
	s.log.Info("server listening", "url", scheme+"://"+ln.Addr().String(), "version", buildinfo.Version)
	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// warnOldSeries logs once when InfluxDB still holds series of the
// schema before issue 28, which reads no longer find. It never stops the
// server: InfluxDB may be down at start, and the data is still there.
func (s *Server) warnOldSeries(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	found, err := seriesmigrate.OldSeriesPresent(ctx, s.influx)
	if err != nil {
		s.log.Debug("could not check InfluxDB for old-schema series", "err", err)
		return
	}
	if found {
		s.log.Warn("InfluxDB holds series of the old schema (tags asset_id, org_id, ou_id) that reads no longer find: " +
			"run kpilot-server migrate-series (see docs/install.md)")
	}
}

// periodicJobs are the server's background jobs. Each runs on one
// replica at a time, the holder of its lease (package lease).
func (s *Server) periodicJobs() []lease.Job {
	jobs := []lease.Job{
		{Name: "webhooks", Every: 15 * time.Second, Cycle: s.hooks.SendDue, Wake: s.hooks.Woken()},
		{Name: "notification_repeats", Every: time.Minute, Cycle: s.hooks.RepeatDue},
		{Name: "report_schedules", Every: time.Minute, Cycle: func(ctx context.Context) error {
			return s.sched.RunDue(ctx, time.Now())
		}},
		// Names for dashboards that read InfluxDB directly; the lease
		// runner logs a failed cycle, and the next one writes them all.
		{Name: "asset_labels", Every: assetlabels.Every, Cycle: s.labels.Once},
	}
	if every := s.cfg.Checkups.Interval.D(); every > 0 {
		jobs = append(jobs, lease.Job{Name: "checkups", Every: every, Cycle: s.checks.RunOnce})
	}
	if every := s.cfg.Retention.Interval.D(); every > 0 {
		jobs = append(jobs, lease.Job{Name: "housekeeping", Every: every, Cycle: func(ctx context.Context) error {
			_, _ = s.keeper.Once(ctx) // logs and counts its errors itself
			return nil
		}})
	}
	return jobs
}

// metricsServer serves /metrics on metrics_listen; a failure to serve
// after the start goes to errc and stops the server.
func (s *Server) metricsServer(errc chan<- error) (*http.Server, error) {
	ln, err := net.Listen("tcp", s.cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("metrics_listen %s: %w", s.cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serving metrics: %w", err)
		}
	}()
	s.log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return srv, nil
}

// debugServer serves net/http/pprof on debug_listen.
func (s *Server) debugServer() (*http.Server, error) {
	return debugserve.Listen(s.cfg.DebugListen, s.log)
}

// Close releases the store and the InfluxDB client.
func (s *Server) Close() error {
	s.influx.Close()
	return s.store.Close()
}
