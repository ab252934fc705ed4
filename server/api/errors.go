package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/tsdb"
)

// HTTPError is a handler failure: Msg goes to the client, Err only to the
// log, so internal detail (SQL, file paths, InfluxDB answers) never leaks.
type HTTPError struct {
	Code       int
	Msg        string
	Err        error
	RetryAfter time.Duration // sets Retry-After on 429/503
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Msg)
}

func (e *HTTPError) Unwrap() error { return e.Err }

func httpErr(code int, msg string, err error) *HTTPError {
	return &HTTPError{Code: code, Msg: msg, Err: err}
}

func badRequest(format string, args ...any) *HTTPError {
	return &HTTPError{Code: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// unavailable is a 503 for a dependency (what) that failed: the client
// is told to retry later, the cause goes to the log. Two InfluxDB read
// failures are told apart, since a retry would not help or the client
// should know why: a query InfluxDB refused is 502 naming the read, and a
// read InfluxDB did not answer in time is 504.
func unavailable(what string, err error) *HTTPError {
	var qe *tsdb.QueryError
	if errors.As(err, &qe) {
		return &HTTPError{Code: http.StatusBadGateway, Msg: shorten(qe.Error(), 300), Err: err}
	}
	var te *tsdb.TimeoutError
	if errors.As(err, &te) {
		return &HTTPError{Code: http.StatusGatewayTimeout, Msg: te.Error(), Err: err}
	}
	return &HTTPError{Code: http.StatusServiceUnavailable, Msg: what + " is unavailable; retry later",
		Err: err, RetryAfter: 10 * time.Second}
}

// shorten cuts s to at most n bytes at a rune boundary: InfluxDB's
// message is for the reader, not to be relayed at any length.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var errNotFound = &HTTPError{Code: http.StatusNotFound, Msg: "not found"}

// handlerFunc is an HTTP handler that returns its failure.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h: it writes a returned error as JSON {"error": msg}, logs
// server-side failures once, and records request metrics under name.
func (a *API) handle(name string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		err := h(sw, r)
		if err != nil {
			he := asHTTPError(err)
			level := slog.LevelDebug
			if he.Code >= 500 {
				level = slog.LevelError
			}
			a.log.Log(r.Context(), level, "request failed", "handler", name, "method", r.Method,
				"path", r.URL.Path, "status", he.Code, "err", he)
			if he.RetryAfter > 0 {
				sw.Header().Set("Retry-After", strconv.Itoa(int(he.RetryAfter.Seconds())))
			}
			if he.Code == http.StatusUnauthorized {
				sw.Header().Set("WWW-Authenticate", `Bearer realm="kpilot"`)
			}
			writeJSON(sw, he.Code, map[string]string{"error": he.Msg})
		}
		a.m.requests.WithLabelValues(name, strconv.Itoa(sw.code)).Inc()
		a.m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	})
}

// problemStatus is the HTTP status of each kind of domain error.
var problemStatus = map[problem.Kind]int{
	problem.Invalid:      http.StatusBadRequest,
	problem.Unauthorized: http.StatusUnauthorized,
	problem.Forbidden:    http.StatusForbidden,
	problem.NotFound:     http.StatusNotFound,
	problem.Conflict:     http.StatusConflict,
	problem.TooMany:      http.StatusTooManyRequests,
	problem.Unavailable:  http.StatusServiceUnavailable,
	problem.BadGateway:   http.StatusBadGateway,
}

// asHTTPError turns a handler's error into the answer: an HTTPError as it
// is, a domain package's problem.Error with the status of its kind, and
// anything else as an internal error whose detail only the log sees.
func asHTTPError(err error) *HTTPError {
	var he *HTTPError
	if errors.As(err, &he) {
		return he
	}
	var pe *problem.Error
	if errors.As(err, &pe) {
		if code, ok := problemStatus[pe.Kind]; ok {
			return &HTTPError{Code: code, Msg: pe.Msg, Err: err, RetryAfter: pe.RetryAfter}
		}
	}
	return httpErr(http.StatusInternalServerError, "internal error", err)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decodeJSON reads a small JSON request body strictly.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("request body: %v", err)
	}
	return nil
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (the ingest
// body's read deadline).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// apiMetrics are the request metrics; the ingest metrics are package
// ingest's.
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	limited  *prometheus.CounterVec
	mails    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) apiMetrics {
	m := apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_server_http_requests_total", Help: "HTTP requests by handler and status code.",
		}, []string{"handler", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kpilot_server_http_request_duration_seconds", Help: "HTTP request latency by handler.",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_server_rate_limited_total", Help: "Requests refused by a rate limit (login, key guesses, partner ID checks, password resets).",
		}, []string{"limit"}),
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_server_mails_total", Help: "Emails by kind and result (sent, failed).",
		}, []string{"kind", "result"}),
	}
	reg.MustRegister(m.requests, m.duration, m.limited, m.mails)
	return m
}
