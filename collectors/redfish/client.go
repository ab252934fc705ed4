package redfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/kpilot/kpilot/collectors"
)

// logoutTimeout bounds closing a session at shutdown.
const logoutTimeout = 5 * time.Second

// bmc is the connection to one BMC: a gofish client holding one Redfish
// session (or basic auth), kept across polls. A BMC allows only a few
// sessions at once and locks out clients that leak them, so the session
// is opened once, opened again only after the BMC forgot it (401), and
// always deleted before it is replaced or the collector closes.
type bmc struct {
	cfg      *Config
	endpoint string
	hc       *http.Client
	requests atomic.Int64 // HTTP requests sent, for Stats
	answers  atomic.Int64 // HTTP answers received: a BMC that answered is not unreachable

	mu  sync.Mutex
	api *gofish.APIClient // nil until connected
	gen int               // bumped on every new connection
}

func newBMC(cfg *Config, endpoint string) *bmc {
	b := &bmc{cfg: cfg, endpoint: endpoint}
	hc := cfg.httpClient()
	hc.Transport = countingTransport{next: hc.Transport, n: &b.requests, answers: &b.answers}
	b.hc = hc
	return b
}

type countingTransport struct {
	next    http.RoundTripper
	n       *atomic.Int64
	answers *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		t.answers.Add(1)
	}
	return resp, err
}

// client returns the connected client bound to ctx and its generation,
// connecting (and logging in) first when needed.
func (b *bmc) client(ctx context.Context) (*gofish.APIClient, int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.api == nil {
		api, err := gofish.ConnectContext(ctx, gofish.ClientConfig{
			Endpoint:              b.endpoint,
			Username:              b.cfg.Username,
			Password:              b.cfg.Password.Reveal(),
			BasicAuth:             b.cfg.Auth == "basic",
			HTTPClient:            b.hc,
			MaxConcurrentRequests: int64(b.cfg.MaxConcurrentRequests),
			ReuseConnections:      true,
			NoModifyTransport:     true,
		})
		if err != nil {
			return nil, 0, fmt.Errorf("connecting to %s as %s: %w", b.endpoint, b.cfg.Username, explain(err))
		}
		b.api = api
		b.gen++
	}
	return b.api.WithContext(ctx), b.gen, nil
}

// relogin replaces the connection of generation gen (which got a 401)
// with a new one, unless another request already did.
func (b *bmc) relogin(ctx context.Context, gen int) (*gofish.APIClient, int, error) {
	b.mu.Lock()
	if b.gen == gen && b.api != nil {
		b.logoutLocked()
	}
	b.mu.Unlock()
	return b.client(ctx)
}

// Close deletes the session, if one is open.
func (b *bmc) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logoutLocked()
	b.hc.CloseIdleConnections()
}

func (b *bmc) logoutLocked() {
	if b.api == nil {
		return
	}
	if b.cfg.Auth == "session" {
		ctx, cancel := context.WithTimeout(context.Background(), logoutTimeout)
		b.api.WithContext(ctx).Logout()
		cancel()
	}
	b.api = nil
}

// fetcher reads resources of one BMC within one poll. It asks the BMC
// for each URL once per poll: a resource linked from several places (or a
// dead link listed many times) costs one request, and every later reader
// gets the same answer or the same error.
type fetcher struct {
	b      *bmc
	ctx    context.Context
	expand *atomic.Bool // the BMC answers $expand on collections

	mu      sync.Mutex
	api     *gofish.APIClient
	gen     int
	fetched map[string]*fetched // by path and query
}

// fetched is the answer to one URL, or the request still in flight
// (done is closed when it is in).
type fetched struct {
	done chan struct{}
	body []byte
	err  error
}

func newFetcher(ctx context.Context, b *bmc, expand *atomic.Bool) (*fetcher, error) {
	api, gen, err := b.client(ctx)
	if err != nil {
		return nil, err
	}
	return &fetcher{b: b, ctx: ctx, api: api, gen: gen, expand: expand, fetched: map[string]*fetched{}}, nil
}

// raw GETs path and returns the body, from the answer of this poll's
// first request for path where there was one. Callers must not change
// the body: it is shared.
func (f *fetcher) raw(path string) ([]byte, error) {
	f.mu.Lock()
	r, ok := f.fetched[path]
	if !ok {
		r = &fetched{done: make(chan struct{})}
		f.fetched[path] = r
	}
	f.mu.Unlock()
	if ok {
		<-r.done // bounded: the request in flight ends with the poll's context
		return r.body, r.err
	}
	r.body, r.err = f.fetch(path)
	close(r.done)
	return r.body, r.err
}

// fetch GETs path, logging in again once when the BMC has forgotten the
// session.
func (f *fetcher) fetch(path string) ([]byte, error) {
	f.mu.Lock()
	api, gen := f.api, f.gen
	f.mu.Unlock()
	body, err := f.get(api, path)
	if statusOf(err) == http.StatusUnauthorized && f.ctx.Err() == nil {
		api, gen, lerr := f.b.relogin(f.ctx, gen)
		if lerr != nil {
			return nil, lerr
		}
		f.mu.Lock()
		f.api, f.gen = api, gen
		f.mu.Unlock()
		body, err = f.get(api, path)
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return body, nil
}

func (f *fetcher) get(api *gofish.APIClient, path string) ([]byte, error) {
	resp, err := api.Get(path)
	if err != nil && f.ctx.Err() == nil && collectors.IsTimeout(err) {
		// This request's timeout, within a poll that goes on.
		return nil, collectors.NoAnswer(f.b.cfg.RequestTimeout.D(), "request_timeout", err)
	}
	if err != nil {
		return nil, explain(err)
	}
	defer resp.Body.Close()
	max := f.b.cfg.MaxResponseBytes
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, explain(err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("answer larger than max_response_bytes (%d)", max)
	}
	return body, nil
}

// problem is one resource that could not be read (or only in part).
type problem struct {
	path string
	err  error
}

func (p problem) Error() string { return p.path + ": " + p.err.Error() }
func (p problem) Unwrap() error { return p.err }

// read GETs path and decodes it into v. Properties of the wrong type are
// dropped and reported through report; a resource that cannot be read is
// returned as an error naming it.
func read[T any](f *fetcher, path string, v *T, report func(error)) (*links, error) {
	l, _, err := readBody(f, path, nil, v, report)
	return l, err
}

// readBody is read, for body when it is not nil (a member inlined in its
// collection), and also returns the dropped properties.
func readBody[T any](f *fetcher, path string, body []byte, v *T, report func(error)) (*links, []string, error) {
	if body == nil {
		var err error
		if body, err = f.raw(path); err != nil {
			return nil, nil, err
		}
	}
	dropped, err := decode(body, v)
	if len(dropped) > 0 {
		report(problem{path, fmt.Errorf("ignored %s", strings.Join(dropped, "; "))})
	}
	if err != nil {
		return nil, dropped, problem{path, err}
	}
	var l links
	_ = json.Unmarshal(body, &l) // links never fail: they tolerate any shape
	return &l, dropped, nil
}

// droppedProperty reports whether the property name (at the top of the
// resource) was dropped as mistyped.
func droppedProperty(dropped []string, name string) bool {
	for _, d := range dropped {
		if strings.HasPrefix(d, name+": ") {
			return true
		}
	}
	return false
}

// statusOf returns the HTTP status of a Redfish error, or 0.
func statusOf(err error) int {
	var re *schemas.Error
	if errors.As(err, &re) {
		return re.HTTPReturnedStatusCode
	}
	return 0
}

// explain shortens gofish errors (which carry the whole answer body) to
// the status and the Redfish message.
func explain(err error) error {
	var re *schemas.Error
	if !errors.As(err, &re) {
		return err
	}
	msg := re.Message
	for _, x := range re.ExtendedInfos {
		if x.Message != "" {
			msg = x.Message
			break
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &httpError{status: re.HTTPReturnedStatusCode, msg: msg, wrapped: re}
}

type httpError struct {
	status  int
	msg     string
	wrapped error
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.status, http.StatusText(e.status))
	switch e.status {
	case http.StatusUnauthorized:
		s += " (check username and password)"
	case http.StatusForbidden:
		s += " (the account lacks the right to read this)"
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

// HTTPStatus returns the status, for collectors.Classify.
func (e *httpError) HTTPStatus() int { return e.status }

func (e *httpError) Unwrap() error { return e.wrapped }
