// Package ingest stores agent batches: a compressed batch in, its points
// re-encoded with the tenant tags into InfluxDB and its inventories and
// facts into the metadata store out. It acknowledges a batch only once
// both have it, so an agent may delete what was acknowledged, and it tells
// the caller by the error's type whether the agent should retry later
// (Busy, Unavailable), split the batch (TooLarge) or drop it (Malformed,
// Refused). The HTTP handler in package api maps these to status codes.
package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/internal/backoff"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// Store is what ingest needs of the metadata store.
type Store interface {
	ClaimBatch(ctx context.Context, agentID, batchID, claimID string, now, expires time.Time) (store.BatchClaim, error)
	RecordBatch(ctx context.Context, agentID, batchID string, at time.Time) error
	ReleaseBatch(ctx context.Context, agentID, batchID, claimID string) error
	EnsureAsset(ctx context.Context, a store.Agent, sourceKey string, identities []string, newPerHour int) (store.Asset, error)
	KnownAssets(ctx context.Context, a store.Agent, sourceKeys []string) (map[string]store.Asset, error)
	Inventory(ctx context.Context, assetID string) (collectedAt time.Time, doc []byte, err error)
	PutInventory(ctx context.Context, assetID string, collectedAt time.Time, doc, changes []byte) (bool, error)
	SetAssetFacts(ctx context.Context, assetID string, f store.AssetFacts) error
	SetAssetPolls(ctx context.Context, polls []store.AssetPoll) error
	SetAgentError(ctx context.Context, id, msg string, at time.Time) error
	TouchAgent(ctx context.Context, id, version string, seen time.Time) error
}

// Writer is what ingest needs of the time-series database. Write stores
// line protocol; a *tsdb.PartialWriteError means some points were refused
// and the others stored, any other error that nothing was.
type Writer interface {
	Write(ctx context.Context, lines []byte) error
}

// Limits bound what one batch may cost the server. Zero values take the
// defaults of DefaultLimits.
type Limits struct {
	MaxBytes             int64 // compressed request body
	MaxDecompressedBytes int64 // after decompression; a gzip bomb stops here
	// Concurrency batches are decoded and written at once; others wait up
	// to QueueWait, then get ErrBusy. A body is read before its batch
	// waits for a turn, so a slow client holds no turn.
	Concurrency int
	QueueWait   time.Duration
	// PerAgent bounds the batches of one agent in the server at once,
	// reading included; more get ErrBusy at once. An agent sends one at a
	// time.
	PerAgent int
	// BodyTimeout bounds the time to read a body; the HTTP handler sets
	// it as the connection's read deadline. A body read too slowly is an
	// *UnavailableError: the agent retries.
	BodyTimeout time.Duration
	// InfluxRetries is how often a failed InfluxDB write is retried within
	// the request (with backoff) before the agent is told to retry later;
	// negative for none.
	InfluxRetries int
	// WriteParts is how many write requests a large batch may be split
	// into when it is the only one in flight (fewer when others are):
	// InfluxDB parses each request on one core.
	WriteParts int
	// NewAssetsPerHour caps the assets one agent may create per hour
	// (limits.new_assets_per_agent_hour); points of further new assets are
	// refused. Negative for no cap.
	NewAssetsPerHour int
}

// DefaultLimits returns the limits used where a field is zero.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 8 << 20, MaxDecompressedBytes: 16 << 20,
		Concurrency: max(4, 2*runtime.GOMAXPROCS(0)), QueueWait: 2 * time.Second, InfluxRetries: 2, WriteParts: 2,
		PerAgent: 2, BodyTimeout: time.Minute, NewAssetsPerHour: 500}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes == 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDecompressedBytes == 0 {
		l.MaxDecompressedBytes = d.MaxDecompressedBytes
	}
	if l.Concurrency == 0 {
		l.Concurrency = d.Concurrency
	}
	if l.WriteParts == 0 {
		l.WriteParts = d.WriteParts
	}
	if l.QueueWait == 0 {
		l.QueueWait = d.QueueWait
	}
	if l.NewAssetsPerHour == 0 {
		l.NewAssetsPerHour = d.NewAssetsPerHour
	}
	if l.PerAgent == 0 {
		l.PerAgent = d.PerAgent
	}
	if l.BodyTimeout == 0 {
		l.BodyTimeout = d.BodyTimeout
	}
	if l.InfluxRetries == 0 {
		l.InfluxRetries = d.InfluxRetries
	} else if l.InfluxRetries < 0 {
		l.InfluxRetries = 0
	}
	return l
}

// MaxRejections bounds the rejection messages a Result or a RefusedError
// carries.
const MaxRejections = 20

// maxPooledLines is the largest buffer (decompressed batch, re-encoded
// lines) kept for the next batch: a default agent batch (5,000 lines)
// needs about 1 and 1.5 MB.
const maxPooledLines = 8 << 20

// touchEvery is the resolution of an agent's last seen time.
const touchEvery = 15 * time.Second

// claimTTL is how long a batch id claimed by a request stays its own: a
// replica that dies while it writes a batch holds the id this long, and
// the agent's retries are answered ErrPending until then. The request
// itself gives up after claimTTL/2, long before its claim could be taken
// over, so two live requests never write one batch.
const claimTTL = 2 * time.Minute

// claimPoll is how often a request that found its batch id claimed by
// another looks for the other's outcome.
const claimPoll = 25 * time.Millisecond

// Status says what became of a batch that was acknowledged.
type Status string

// Statuses of an acknowledged batch.
const (
	Stored    Status = "stored"    // written now
	Duplicate Status = "duplicate" // written before: a retry
)

// Result is what the agent is told of an acknowledged batch.
type Result struct {
	BatchID    string
	Status     Status
	Accepted   int      // points written
	Rejected   int      // points and inventories refused
	Rejections []string // why, at most MaxRejections
}

// ErrBusy: the server already works on as many batches as it allows (of
// all agents, or of this one); the agent should retry in a few seconds.
var ErrBusy = errors.New("the server is busy with other batches; retry later")

// ErrPending: another request (on this server or another replica) is
// storing a batch with the same id and did not finish within QueueWait;
// the agent should retry, and will then be told duplicate or, if the
// other failed, have its batch stored.
var ErrPending = errors.New("a batch with this id is being stored by another request; retry later")

// UnavailableError: the store or InfluxDB cannot take the batch now; the
// agent should retry later. Nothing of the batch is acknowledged.
type UnavailableError struct {
	What string // "store" or "InfluxDB"
	Err  error
}

func (e *UnavailableError) Error() string { return e.What + " is unavailable: " + e.Err.Error() }

func (e *UnavailableError) Unwrap() error { return e.Err }

// TooLargeError: the batch exceeds a size limit; the agent should split
// it.
type TooLargeError struct {
	MaxBytes, MaxDecompressedBytes int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("batch too large: at most %d bytes compressed and %d bytes decompressed", e.MaxBytes, e.MaxDecompressedBytes)
}

// MalformedError: the batch cannot be read (compression, JSON header,
// version, id); it will never be accepted.
type MalformedError struct{ Err error }

func (e *MalformedError) Error() string { return "malformed batch: " + e.Err.Error() }

func (e *MalformedError) Unwrap() error { return e.Err }

// RefusedError: no point and no inventory of the batch can ever be
// stored; the agent should drop it.
type RefusedError struct {
	Rejections []string // at least one, at most MaxRejections
}

func (e *RefusedError) Error() string {
	return "no point of the batch can be stored: " + e.Rejections[0]
}

// Ingester stores agent batches. It is safe for concurrent use.
type Ingester struct {
	store  Store
	tsdb   Writer
	log    *slog.Logger
	limits Limits
	m      metrics
	now    func() time.Time

	slots chan struct{} // Concurrency tokens
	// agents counts each agent's batches in the server (PerAgent).
	agentsMu sync.Mutex
	agents   map[string]int
	assets   assetCache // agent key → asset, briefly
	// lineBufs and decoders keep the re-encoded lines' buffers and the
	// decoders (their body and decompression buffers, their zstd state)
	// between batches, so a steady stream of batches does not allocate and
	// clear megabytes each. Free lists of bounded length rather than
	// sync.Pools: a pool is emptied by every other garbage collection,
	// which ingest's own allocations bring about every few batches.
	lineBufs freeList[*[]byte]
	decoders freeList[*wire.Decoder]
}

// freeList keeps up to its capacity of values for reuse.
type freeList[T any] struct {
	c   chan T
	new func() T
}

func newFreeList[T any](n int, newT func() T) freeList[T] {
	return freeList[T]{c: make(chan T, n), new: newT}
}

// get returns a kept value or a new one.
func (f freeList[T]) get() T {
	select {
	case v := <-f.c:
		return v
	default:
		return f.new()
	}
}

// put keeps v unless the list is full.
func (f freeList[T]) put(v T) {
	select {
	case f.c <- v:
	default:
	}
}

// New returns an Ingester writing to s and w. reg receives the ingest
// metrics (kpilot_server_ingest_…, kpilot_server_influxdb_write_…).
func New(s Store, w Writer, limits Limits, log *slog.Logger, reg prometheus.Registerer) *Ingester {
	in := &Ingester{store: s, tsdb: w, log: log, limits: limits.withDefaults(), m: newMetrics(reg), now: time.Now}
	in.slots = make(chan struct{}, in.limits.Concurrency)
	in.agents = map[string]int{}
	// Bodies are read before a decoding turn: up to PerAgent per agent
	// are in the server, Concurrency of them decoded at once.
	in.lineBufs = newFreeList(in.limits.Concurrency, func() *[]byte { return new([]byte) })
	in.decoders = newFreeList(2*in.limits.Concurrency, func() *wire.Decoder { return new(wire.Decoder) })
	return in
}

// Ingest reads one compressed batch (coding is its Content-Encoding,
// wire.Gzip or wire.Zstd) of agent ag, which reports version, and stores
// it as IngestBatch does. The body is read first, at most MaxBytes (the
// caller bounds the time, see BodyTimeout); then a bounded number of
// batches is decoded and written at once, so memory stays bounded when
// InfluxDB is slow: the rest wait briefly, then get ErrBusy. An agent
// with PerAgent batches in the server gets ErrBusy at once, so that slow
// uploads of one agent hold neither decoding turns nor unbounded memory.
func (in *Ingester) Ingest(ctx context.Context, ag store.Agent, version string, body io.Reader, coding string) (Result, error) {
	leave, ok := in.enter(ag.ID)
	if !ok {
		in.m.ingest.WithLabelValues("busy").Inc()
		return Result{}, ErrBusy
	}
	defer leave()

	br := &bodyReader{r: body, max: in.limits.MaxBytes}
	wd := in.decoders.get()
	defer func() {
		// batch.Samples shares the decoder's buffer: it is kept for the
		// next batch only after this one is done with.
		if wd.Cap() <= maxPooledLines {
			in.decoders.put(wd)
		}
	}()
	if err := wd.ReadBody(br); err != nil {
		if errors.Is(err, errBodyTooLarge) {
			in.m.ingest.WithLabelValues("too_large").Inc()
			return Result{}, &TooLargeError{MaxBytes: in.limits.MaxBytes, MaxDecompressedBytes: in.limits.MaxDecompressedBytes}
		}
		// A body cut off or too slow (BodyTimeout) may arrive whole
		// next time: the agent must keep the batch.
		in.m.ingest.WithLabelValues("body_error").Inc()
		return Result{}, unavailable("the request body", err)
	}

	release, ok := in.slot(ctx)
	if !ok {
		in.m.ingest.WithLabelValues("busy").Inc()
		return Result{}, ErrBusy
	}
	defer release()
	batch, err := wd.DecodeBody(coding, in.limits.MaxDecompressedBytes)
	switch {
	case errors.Is(err, wire.ErrTooLarge):
		in.m.ingest.WithLabelValues("too_large").Inc()
		return Result{}, &TooLargeError{MaxBytes: in.limits.MaxBytes, MaxDecompressedBytes: in.limits.MaxDecompressedBytes}
	case err != nil:
		in.m.ingest.WithLabelValues("refused").Inc()
		return Result{}, &MalformedError{Err: err}
	}
	in.m.batchBytes.WithLabelValues("compressed").Observe(float64(br.n))
	return in.IngestBatch(ctx, ag, version, batch)
}

// BodyTimeout is the time a request body may take to arrive
// (Limits.BodyTimeout with its default).
func (in *Ingester) BodyTimeout() time.Duration { return in.limits.BodyTimeout }

// enter counts one more batch of agent id in the server, unless it has
// PerAgent already; leave counts it out.
func (in *Ingester) enter(id string) (leave func(), ok bool) {
	in.agentsMu.Lock()
	defer in.agentsMu.Unlock()
	if in.agents[id] >= in.limits.PerAgent {
		return nil, false
	}
	in.agents[id]++
	return func() {
		in.agentsMu.Lock()
		defer in.agentsMu.Unlock()
		if in.agents[id]--; in.agents[id] <= 0 {
			delete(in.agents, id)
		}
	}, true
}

// IngestBatch stores a decoded batch of agent ag: it claims the batch id
// (store.Agents.ClaimBatch), so that of two requests with the same batch,
// on this server or another replica, only one writes it; then the
// inventories (they identify the devices), then the points, re-encoded
// with the tenant tags, into InfluxDB; then it marks the id stored, so a
// retry is answered Duplicate without a second write. A request that
// finds the id claimed by another waits up to QueueWait for the other's
// outcome: Duplicate if it stored the batch, the write if it failed, and
// ErrPending if it is not done. Points and inventories that can never be
// stored are rejections; a batch of nothing else is a *RefusedError. A
// store or InfluxDB failure is an *UnavailableError, after which nothing
// of the batch is acknowledged and the claim is released. It does not
// wait for a slot as Ingest does.
func (in *Ingester) IngestBatch(ctx context.Context, ag store.Agent, version string, batch *wire.Batch) (Result, error) {
	in.m.batchBytes.WithLabelValues("samples").Observe(float64(len(batch.Samples)))
	claimID := uuid.NewString()
	claim, err := in.claim(ctx, ag.ID, batch.ID, claimID)
	if err != nil {
		return Result{}, unavailable("store", err)
	}
	switch claim {
	case store.BatchStored:
		in.m.ingest.WithLabelValues("duplicate").Inc()
		return Result{BatchID: batch.ID, Status: Duplicate}, nil
	case store.BatchPending:
		in.m.ingest.WithLabelValues("pending").Inc()
		return Result{}, ErrPending
	}
	recorded := false
	defer func() {
		if recorded {
			return
		}
		// The request may be cancelled: the release still has to reach
		// the store, or the agent's retry waits for the claim to expire.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := in.store.ReleaseBatch(rctx, ag.ID, batch.ID, claimID); err != nil {
			in.log.Warn("releasing a batch claim; it expires by itself", "agent_id", ag.ID, "batch_id", batch.ID, "err", err)
		}
	}()
	// Done well before the claim could be taken over by another request.
	ctx, cancel := context.WithTimeout(ctx, claimTTL/2)
	defer cancel()

	// The re-encoder and the resolver only read the samples: no copy of
	// them is needed.
	samples := unsafe.Slice(unsafe.StringData(batch.Samples), len(batch.Samples))
	assets := newAssetResolver(in, ag)
	assets.samples = samples // an inventory's look-up may be the first to miss
	// Inventory first: it identifies the device (serial, UUID), so the
	// samples of a renamed target land on the asset it already had.
	invRejects, err := in.storeInventory(ctx, assets, batch.Inventory)
	if err != nil {
		return Result{}, unavailable("store", err)
	}
	var rx reencoder
	buf := in.lineBufs.get()
	lines, accepted, rejects, err := rx.reencode(ctx, in.now(), assets, samples, *buf)
	defer func() {
		// The InfluxDB client is done with the lines once Write returned.
		// An outsized batch's buffer is left to the garbage collector.
		if cap(lines) <= maxPooledLines {
			*buf = lines[:0]
			in.lineBufs.put(buf)
		}
	}()
	if err != nil {
		return Result{}, unavailable("store", err)
	}
	in.m.batchSamples.Observe(float64(accepted + len(rejects)))
	if err := in.writeSamples(ctx, lines); err != nil {
		var pw *tsdb.PartialWriteError
		if !errors.As(err, &pw) {
			in.m.ingest.WithLabelValues("unavailable").Inc()
			return Result{}, unavailable("InfluxDB", err)
		}
		rejects = append(rejects, pw.Error())
	}
	rejects = append(rejects, invRejects...)
	res := Result{BatchID: batch.ID, Status: Stored, Accepted: accepted, Rejected: len(rejects),
		Rejections: rejects[:min(len(rejects), MaxRejections)]}
	in.m.samples.WithLabelValues("stored").Add(float64(accepted))
	in.m.samples.WithLabelValues("rejected").Add(float64(len(rejects)))

	if len(rejects) > 0 {
		// The agents page shows it: refused data is lost data.
		if err := in.store.SetAgentError(ctx, ag.ID, truncate(fmt.Sprintf("%d points refused; first: %s", len(rejects), rejects[0]), 500), in.now()); err != nil {
			in.log.Warn("recording an agent error", "agent_id", ag.ID, "err", err)
		}
	}
	if accepted == 0 && len(batch.Inventory) == len(invRejects) && len(rejects) > 0 {
		// Nothing in the batch can ever be stored: tell the agent to drop it.
		in.m.ingest.WithLabelValues("refused").Inc()
		in.log.Warn("refused every point of a batch", "agent_id", ag.ID, "batch_id", batch.ID, "first", rejects[0])
		return Result{}, &RefusedError{Rejections: res.Rejections}
	}
	if len(rejects) > 0 {
		in.log.Info("refused points of a batch", "agent_id", ag.ID, "batch_id", batch.ID, "rejected", len(rejects), "first", rejects[0])
	}
	if err := in.store.RecordBatch(ctx, ag.ID, batch.ID, in.now()); err != nil {
		return Result{}, unavailable("store", err)
	}
	recorded = true
	if err := in.store.SetAssetPolls(ctx, rx.assetPolls()); err != nil {
		in.log.Warn("recording asset polls", "agent_id", ag.ID, "err", err)
	}
	in.touch(ctx, ag, version)
	in.m.ingest.WithLabelValues("stored").Inc()
	return res, nil
}

// claim claims a batch id for claimID. When another request holds it, it
// waits up to QueueWait for that request's outcome.
func (in *Ingester) claim(ctx context.Context, agentID, batchID, claimID string) (store.BatchClaim, error) {
	deadline := time.Now().Add(in.limits.QueueWait)
	for {
		now := in.now()
		c, err := in.store.ClaimBatch(ctx, agentID, batchID, claimID, now, now.Add(claimTTL))
		if err != nil || c != store.BatchPending || time.Now().Add(claimPoll).After(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return c, nil
		case <-time.After(claimPoll):
		}
	}
}

// touch records the agent's last seen time and version. An agent shipping
// a backlog sends many batches a second: its last seen time is written at
// most every touchEvery, and at once when its version changes.
func (in *Ingester) touch(ctx context.Context, ag store.Agent, version string) {
	version = truncate(version, 64)
	if now := in.now(); now.Sub(ag.LastSeenAt) >= touchEvery || version != "" && version != ag.Version {
		if err := in.store.TouchAgent(ctx, ag.ID, version, now); err != nil {
			in.log.Warn("updating agent last seen", "agent_id", ag.ID, "err", err)
		}
	}
}

// slot waits up to QueueWait for one of Concurrency slots.
func (in *Ingester) slot(ctx context.Context) (func(), bool) {
	release := func() { <-in.slots; in.m.inFlight.Dec() }
	select {
	case in.slots <- struct{}{}:
		in.m.inFlight.Inc()
		return release, true
	default:
	}
	t := time.NewTimer(in.limits.QueueWait)
	defer t.Stop()
	select {
	case in.slots <- struct{}{}:
		in.m.inFlight.Inc()
		return release, true
	case <-t.C:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

// writeSamples writes a batch's lines to InfluxDB. When few batches are
// in flight, a large batch goes as up to WriteParts parts at once: InfluxDB
// parses one request on one core, so a lone agent's batch would otherwise
// leave its other cores idle while the agent waits. Every part must be
// confirmed before the batch is; a part that failed fails the batch, and
// the agent's retry writes the other parts again, which InfluxDB takes as
// an overwrite of the same points.
func (in *Ingester) writeSamples(ctx context.Context, lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	n := min(in.limits.WriteParts/max(len(in.slots), 1), bytes.Count(lines, []byte{'\n'})/minPartLines)
	if n <= 1 {
		return in.writePart(ctx, lines)
	}
	parts := splitLines(lines, n)
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { errs[i] = in.writePart(ctx, p) })
	}
	wg.Wait()
	var refused []string
	for _, err := range errs {
		var pw *tsdb.PartialWriteError
		switch {
		case errors.As(err, &pw):
			refused = append(refused, pw.Msg)
		case err != nil:
			return err
		}
	}
	if len(refused) > 0 {
		return &tsdb.PartialWriteError{Msg: strings.Join(refused, "; ")}
	}
	return nil
}

// minPartLines is the fewest lines worth a write request of their own.
const minPartLines = 1000

// splitLines cuts lines into n parts of about equal size at line ends.
func splitLines(lines []byte, n int) [][]byte {
	parts := make([][]byte, 0, n)
	for i := n; i > 1 && len(lines) > 0; i-- {
		cut := len(lines) / i
		nl := bytes.IndexByte(lines[cut:], '\n')
		if nl < 0 {
			break
		}
		parts = append(parts, lines[:cut+nl+1])
		lines = lines[cut+nl+1:]
	}
	if len(lines) > 0 {
		parts = append(parts, lines)
	}
	return parts
}

// writePart writes to InfluxDB, retrying a failure that may pass (a
// timeout, a restart, a 5xx) a few times within the request before the
// agent is told to retry later. A partial write is not retried: the
// refused points would be refused again.
func (in *Ingester) writePart(ctx context.Context, lines []byte) error {
	b := backoff.Backoff{Min: 200 * time.Millisecond, Max: 2 * time.Second}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := in.tsdb.Write(ctx, lines)
		in.m.influxWrite.Observe(time.Since(start).Seconds())
		var pw *tsdb.PartialWriteError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &pw):
			in.m.influxErrors.WithLabelValues("partial").Inc()
			return err
		}
		in.m.influxErrors.WithLabelValues("unavailable").Inc()
		if attempt > in.limits.InfluxRetries || !backoff.Sleep(ctx, b.Next()) {
			return err
		}
		in.log.Debug("retrying InfluxDB write", "attempt", attempt+1, "err", err)
	}
}

func unavailable(what string, err error) *UnavailableError {
	return &UnavailableError{What: what, Err: err}
}

var errBodyTooLarge = errors.New("request body too large")

// bodyReader counts the compressed bytes of a batch and stops, with
// errBodyTooLarge, after more than max.
type bodyReader struct {
	r      io.Reader
	n, max int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.n > b.max {
		return 0, errBodyTooLarge
	}
	if rest := b.max - b.n + 1; int64(len(p)) > rest {
		p = p[:rest] // one byte more than allowed tells a body too large
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n, errBodyTooLarge
	}
	return n, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
