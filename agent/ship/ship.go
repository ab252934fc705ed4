// Package ship sends spooled batches to the server, oldest first, and
// removes each from the spool only after the server has stored it.
package ship

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/backoff"
	"github.com/kpilot/kpilot/internal/buildinfo"
	"github.com/kpilot/kpilot/internal/wire"
)

// Queue is the part of the spool the shipper uses.
type Queue interface {
	Peek() (spool.Entry, error)
	Ack(seq uint64) error
	Notify() <-chan struct{}
}

// Shipper delivers batches from a Queue to POST <server>/api/v1/ingest.
type Shipper struct {
	client  *http.Client
	url     string
	token   string
	q       Queue
	log     *slog.Logger
	backoff backoff.Backoff
	m       metrics
	// zstd is set once the server has said it takes zstd (Accept-Encoding
	// on an answer, RFC 7694) and cleared if it refuses it: until then
	// zstd batches are recoded to gzip, which every server takes.
	zstd atomic.Bool
}

type metrics struct {
	batches     *prometheus.CounterVec
	samples     prometheus.Counter
	requests    *prometheus.CounterVec
	latency     prometheus.Histogram
	lastSuccess prometheus.Gauge
}

// New returns a shipper. reg receives the shipping metrics.
func New(client *http.Client, serverURL, token string, q Queue, log *slog.Logger, reg prometheus.Registerer) *Shipper {
	m := metrics{
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_ship_batches_total",
			Help: "Batches by shipping outcome: sent, retried (kept for a later try), dropped (refused for good), split (too large, sent in halves).",
		}, []string{"result"}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kpilot_agent_ship_samples_total",
			Help: "Samples in batches the server stored.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kpilot_agent_ship_requests_total",
			Help: "Send attempts by outcome: the HTTP status code, or \"error\" when no answer came (network, TLS, timeout).",
		}, []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kpilot_agent_ship_request_duration_seconds",
			Help:    "Duration of send attempts, answered or not.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kpilot_agent_ship_last_success_timestamp_seconds",
			Help: "Unix time of the last batch the server stored.",
		}),
	}
	reg.MustRegister(m.batches, m.samples, m.requests, m.latency, m.lastSuccess)
	for _, r := range []string{"sent", "retried", "dropped", "split"} {
		m.batches.WithLabelValues(r)
	}
	return &Shipper{
		client: client, url: strings.TrimRight(serverURL, "/") + "/api/v1/ingest", token: token,
		q: q, log: log, m: m,
		backoff: backoff.Backoff{Min: time.Second, Max: 5 * time.Minute},
	}
}

// Run delivers batches until ctx is done. Cancellation is not an error.
func (s *Shipper) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		e, err := s.q.Peek()
		if errors.Is(err, spool.ErrEmpty) {
			select {
			case <-ctx.Done():
			case <-s.q.Notify():
			case <-time.After(30 * time.Second):
			}
			continue
		}
		if err != nil {
			s.log.Error("reading spool", "err", err)
			backoff.Sleep(ctx, s.backoff.Next())
			continue
		}
		if wait, ok := s.deliver(ctx, e); !ok {
			backoff.Sleep(ctx, wait)
		}
	}
	return nil
}

// Drain sends what is spooled until the queue is empty, a batch must be
// retried, or ctx is done. The agent calls it at shutdown with a short
// deadline; whatever is left stays on disk for the next start.
func (s *Shipper) Drain(ctx context.Context) {
	for ctx.Err() == nil {
		e, err := s.q.Peek()
		if err != nil {
			return
		}
		if _, ok := s.deliver(ctx, e); !ok {
			return
		}
	}
}

// deliver sends one spooled batch. ok is false when the batch stays in the
// spool and the caller should wait before trying again.
func (s *Shipper) deliver(ctx context.Context, e spool.Entry) (wait time.Duration, ok bool) {
	err := s.send(ctx, e.Data, 0)
	var re *RetryableError
	switch {
	case err == nil:
		s.m.batches.WithLabelValues("sent").Inc()
		s.m.samples.Add(float64(e.Samples))
		s.m.lastSuccess.SetToCurrentTime()
		s.backoff.Reset()
	case errors.As(err, &re):
		if ctx.Err() != nil {
			return 0, false // shutting down: the batch stays spooled
		}
		s.m.batches.WithLabelValues("retried").Inc()
		wait = s.backoff.Next()
		if re.RetryAfter > wait {
			wait = re.RetryAfter
		}
		s.log.Warn("server did not take batch; keeping it spooled", "seq", e.Seq, "retry_in", wait.Round(time.Millisecond), "err", err)
		return wait, false
	default:
		s.m.batches.WithLabelValues("dropped").Inc()
		s.log.Error("server refused batch for good; dropping it", "seq", e.Seq, "err", err)
	}
	if err := s.q.Ack(e.Seq); err != nil {
		s.log.Error("removing batch from spool", "seq", e.Seq, "err", err)
		return s.backoff.Next(), false
	}
	return 0, true
}

// RetryableError is a failure that may succeed later: the network, a 5xx,
// a 429, or a 401 (a credential problem an admin can fix without the data
// being lost).
type RetryableError struct {
	RetryAfter time.Duration // from the server's Retry-After, 0 if none
	Err        error
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// maxSplitDepth bounds how often a batch the server finds too large is
// halved (2^6 = 64 parts).
const maxSplitDepth = 6

// errTooLarge is the 413 answer, handled by splitting.
var errTooLarge = errors.New("server answered 413 Request Entity Too Large")

func (s *Shipper) send(ctx context.Context, data []byte, depth int) error {
	err := s.post(ctx, data)
	if !errors.Is(err, errTooLarge) {
		return err
	}
	if depth >= maxSplitDepth {
		return fmt.Errorf("batch still too large after splitting it %d times: %w", depth, err)
	}
	halves, serr := split(data)
	if serr != nil {
		return fmt.Errorf("%w; splitting it: %v", err, serr)
	}
	s.m.batches.WithLabelValues("split").Inc()
	for _, h := range halves {
		if err := s.send(ctx, h, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// post sends one gzip-compressed batch and classifies the answer. Why each
// class is what it is:
//   - 2xx: stored; the server acknowledges only after InfluxDB confirmed.
//   - 429, 503, other 5xx, network errors: the server or InfluxDB is busy or
//     down; the same batch can succeed later, so keep it and back off,
//     honouring Retry-After.
//   - 401: the credential is unknown or revoked. Dropping would lose data
//     that becomes deliverable once an admin re-enables the agent, so retry.
//   - 413: too large; the caller splits the batch.
//   - other 4xx: the batch itself is refused (malformed, or assets the agent
//     may not write) and will be refused again; drop it so it does not
//     block the queue.
//   - 415 to a zstd batch: the server does not take zstd (an older one, or
//     one replaced by one); it is sent again at once as gzip.
//   - 415 otherwise: the server does not read this batch format yet (an
//     agent upgraded before its server); keep the batch until it does.
func (s *Shipper) post(ctx context.Context, data []byte) error {
	coding := wire.Coding(data)
	if coding == wire.Zstd && !s.zstd.Load() {
		recoded, err := wire.Recode(data, wire.Gzip)
		if err != nil {
			return fmt.Errorf("recoding batch to gzip: %w", err)
		}
		data, coding = recoded, wire.Gzip
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Content-Encoding", coding)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("User-Agent", UserAgent())
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		s.m.latency.Observe(time.Since(start).Seconds())
		s.m.requests.WithLabelValues("error").Inc()
		return &RetryableError{Err: fmt.Errorf("sending batch: %w", err)}
	}
	defer resp.Body.Close()
	defer func() {
		s.m.latency.Observe(time.Since(start).Seconds())
		s.m.requests.WithLabelValues(strconv.Itoa(resp.StatusCode)).Inc()
	}()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := serverMessage(body)
	if ae := resp.Header.Get("Accept-Encoding"); ae != "" {
		s.zstd.Store(wire.Accepts(ae, wire.Zstd))
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnsupportedMediaType && coding == wire.Zstd:
		s.zstd.Store(false)
		s.log.Info("server does not take zstd; sending gzip", "answer", msg)
		return s.post(ctx, data)
	case code == http.StatusUnsupportedMediaType:
		return &RetryableError{RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
			Err: fmt.Errorf("server answered %s (upgrade the server to a version that reads this agent's batches): %s", resp.Status, msg)}
	case code == http.StatusRequestEntityTooLarge:
		return errTooLarge
	case code == http.StatusTooManyRequests || code >= 500 || code == http.StatusUnauthorized:
		return &RetryableError{RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
			Err: fmt.Errorf("server answered %s: %s", resp.Status, msg)}
	default:
		return fmt.Errorf("server answered %s: %s", resp.Status, msg)
	}
}

// UserAgent names the agent and its version; the server shows the version
// per agent.
func UserAgent() string { return "kpilot-agent/" + buildinfo.Version }

func serverMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(body))
}

// retryAfter parses delay-seconds or an HTTP date, capped at one hour so a
// wrong header cannot park the agent for days.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := time.ParseDuration(strings.TrimSpace(h) + "s"); err == nil {
		d = secs
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	return max(0, min(d, time.Hour))
}

// split halves a batch: samples by line, inventory by document. The halves
// get IDs derived from the parent's, so a retried split is deduplicated by
// the server just as the whole batch would be.
func split(data []byte) ([][]byte, error) {
	b, err := wire.Decode(bytes.NewReader(data), 1<<40)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(b.Samples, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines)+len(b.Inventory) < 2 {
		return nil, errors.New("a single sample cannot be split")
	}
	parent := uuid.MustParse(b.ID)
	hl, hi := len(lines)/2, len(b.Inventory)/2
	parts := []*wire.Batch{
		{Version: wire.Version, ID: uuid.NewSHA1(parent, []byte("0")).String(),
			Samples: strings.Join(lines[:hl], ""), Inventory: b.Inventory[:hi]},
		{Version: wire.Version, ID: uuid.NewSHA1(parent, []byte("1")).String(),
			Samples: strings.Join(lines[hl:], ""), Inventory: b.Inventory[hi:]},
	}
	out := make([][]byte, 0, 2)
	for _, p := range parts {
		enc, err := p.MarshalAs(wire.Coding(data))
		if err != nil {
			return nil, err
		}
		out = append(out, enc)
	}
	return out, nil
}
