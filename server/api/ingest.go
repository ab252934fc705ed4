package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/kpilot/kpilot/internal/backoff"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/inventory"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// maxRejections bounds the rejection messages returned in one answer.
const maxRejections = 20

// maxPooledLines is the largest buffer (decompressed batch, re-encoded
// lines) kept for the next batch: a default agent batch (5,000 lines)
// needs about 1 and 1.5 MB.
const maxPooledLines = 8 << 20

type ingestResponse struct {
	BatchID   string   `json:"batch_id"`
	Status    string   `json:"status"` // stored or duplicate
	Accepted  int      `json:"accepted"`
	Rejected  int      `json:"rejected"`
	Rejection []string `json:"rejections,omitempty"`
}

// ingest stores one agent batch. It answers 200 only after InfluxDB has
// confirmed the points and the store has the inventory, so the agent may
// delete the batch; 429 with Retry-After when the server already works on
// as many batches as it allows; 503 with Retry-After when InfluxDB or the
// store cannot take it now; 413 when it is too large (the agent splits it);
// 400/422 when it will never be accepted (the agent drops it).
func (a *API) ingest(w http.ResponseWriter, r *http.Request) error {
	ag, _ := r.Context().Value(agentKey).(store.Agent)
	ctx := r.Context()
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != wire.ContentType && ct != wire.ContentTypeV1 {
		return &HTTPError{Code: http.StatusUnsupportedMediaType, Msg: "Content-Type must be " + wire.ContentType}
	}
	// Every answer says which codings the server takes (RFC 7694): an
	// agent sends zstd once it has read that, gzip before.
	w.Header().Set("Accept-Encoding", wire.AcceptEncoding)
	coding := r.Header.Get("Content-Encoding")
	if coding != wire.Gzip && coding != wire.Zstd {
		return &HTTPError{Code: http.StatusUnsupportedMediaType, Msg: "Content-Encoding must be " + wire.Zstd + " or " + wire.Gzip}
	}
	// A bounded number of batches is decoded and written at once, so
	// memory stays bounded when InfluxDB is slow: the rest wait briefly,
	// then are told to come back.
	release, ok := a.ingestSlot(ctx)
	if !ok {
		a.m.ingest.WithLabelValues("busy").Inc()
		return &HTTPError{Code: http.StatusTooManyRequests, RetryAfter: 5 * time.Second,
			Msg: "the server is busy with other batches; retry later"}
	}
	defer release()

	body := &countingReader{r: http.MaxBytesReader(w, r.Body, a.limits.IngestMaxBytes)}
	wd := a.decoders.Get().(*wire.Decoder)
	defer func() {
		// batch.Samples shares the decoder's buffer: it is kept for the
		// next batch only after this one is done with.
		if wd.Cap() <= maxPooledLines {
			a.decoders.Put(wd)
		}
	}()
	batch, err := wd.Decode(body, coding, a.limits.IngestMaxDecompressedBytes)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || errors.Is(err, wire.ErrTooLarge):
		a.m.ingest.WithLabelValues("too_large").Inc()
		return &HTTPError{Code: http.StatusRequestEntityTooLarge,
			Msg: fmt.Sprintf("batch too large: at most %d bytes compressed and %d bytes decompressed",
				a.limits.IngestMaxBytes, a.limits.IngestMaxDecompressedBytes)}
	case err != nil:
		a.m.ingest.WithLabelValues("refused").Inc()
		return badRequest("malformed batch: %v", err)
	}
	a.m.batchBytes.WithLabelValues("compressed").Observe(float64(body.n))
	a.m.batchBytes.WithLabelValues("samples").Observe(float64(len(batch.Samples)))

	seen, err := a.store.BatchSeen(ctx, ag.ID, batch.ID)
	if err != nil {
		return unavailable("store", err)
	}
	if seen {
		a.m.ingest.WithLabelValues("duplicate").Inc()
		writeJSON(w, http.StatusOK, ingestResponse{BatchID: batch.ID, Status: "duplicate"})
		return nil
	}

	res := ingestResponse{BatchID: batch.ID, Status: "stored"}
	assets := &assetResolver{a: a, agent: ag, cache: map[string]assetResult{}}
	// Inventory first: it identifies the device (serial, UUID), so the
	// samples of a renamed target land on the asset it already had.
	invRejects, err := a.storeInventory(ctx, assets, batch.Inventory)
	if err != nil {
		return unavailable("store", err)
	}
	var rx reencoder
	// The decoder only reads the samples: no copy of them is needed.
	samples := unsafe.Slice(unsafe.StringData(batch.Samples), len(batch.Samples))
	buf := a.lineBufs.Get().(*[]byte)
	lines, accepted, rejects, err := rx.reencode(ctx, a.now(), assets, samples, *buf)
	defer func() {
		// The InfluxDB client is done with the lines once Write returned.
		// An outsized batch's buffer is left to the garbage collector.
		if cap(lines) <= maxPooledLines {
			*buf = lines[:0]
			a.lineBufs.Put(buf)
		}
	}()
	if err != nil {
		return unavailable("store", err)
	}
	a.m.batchSamples.Observe(float64(accepted + len(rejects)))
	if err := a.writeSamples(ctx, lines); err != nil {
		var pw *tsdb.PartialWriteError
		if !errors.As(err, &pw) {
			a.m.ingest.WithLabelValues("unavailable").Inc()
			return unavailable("InfluxDB", err)
		}
		rejects = append(rejects, pw.Error())
	}
	rejects = append(rejects, invRejects...)
	res.Accepted, res.Rejected = accepted, len(rejects)
	res.Rejection = rejects[:min(len(rejects), maxRejections)]
	a.m.samples.WithLabelValues("stored").Add(float64(accepted))
	a.m.samples.WithLabelValues("rejected").Add(float64(len(rejects)))

	if len(rejects) > 0 {
		// The agents page shows it: refused data is lost data.
		if err := a.store.SetAgentError(ctx, ag.ID, truncate(fmt.Sprintf("%d points refused; first: %s", len(rejects), rejects[0]), 500), a.now()); err != nil {
			a.log.Warn("recording an agent error", "agent_id", ag.ID, "err", err)
		}
	}
	if accepted == 0 && len(batch.Inventory) == len(invRejects) && len(rejects) > 0 {
		// Nothing in the batch can ever be stored: tell the agent to drop it.
		a.m.ingest.WithLabelValues("refused").Inc()
		a.log.Warn("refused every point of a batch", "agent_id", ag.ID, "batch_id", batch.ID, "first", rejects[0])
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "no point of the batch can be stored: " + rejects[0], "rejections": res.Rejection})
		return nil
	}
	if len(rejects) > 0 {
		a.log.Info("refused points of a batch", "agent_id", ag.ID, "batch_id", batch.ID, "rejected", len(rejects), "first", rejects[0])
	}
	if err := a.store.RecordBatch(ctx, ag.ID, batch.ID, a.now()); err != nil {
		return unavailable("store", err)
	}
	if err := a.store.SetAssetPolls(ctx, rx.assetPolls()); err != nil {
		a.log.Warn("recording asset polls", "agent_id", ag.ID, "err", err)
	}
	version, _ := strings.CutPrefix(r.UserAgent(), "kpilot-agent/")
	version = truncate(version, 64)
	// An agent shipping a backlog sends many batches a second: its last
	// seen time is written at most every touchEvery, and at once when
	// its version changes.
	if now := a.now(); now.Sub(ag.LastSeenAt) >= touchEvery || version != "" && version != ag.Version {
		if err := a.store.TouchAgent(ctx, ag.ID, version, now); err != nil {
			a.log.Warn("updating agent last seen", "agent_id", ag.ID, "err", err)
		}
	}
	a.m.ingest.WithLabelValues("stored").Inc()
	writeJSON(w, http.StatusOK, res)
	return nil
}

// touchEvery is the resolution of an agent's last seen time.
const touchEvery = 15 * time.Second

// ingestSlot waits up to IngestQueueWait for one of IngestConcurrency
// slots.
func (a *API) ingestSlot(ctx context.Context) (func(), bool) {
	release := func() { <-a.ingestSlots; a.m.inFlight.Dec() }
	select {
	case a.ingestSlots <- struct{}{}:
		a.m.inFlight.Inc()
		return release, true
	default:
	}
	t := time.NewTimer(a.limits.IngestQueueWait)
	defer t.Stop()
	select {
	case a.ingestSlots <- struct{}{}:
		a.m.inFlight.Inc()
		return release, true
	case <-t.C:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

// writeSamples writes to InfluxDB, retrying a failure that may pass (a
// timeout, a restart, a 5xx) a few times within the request before the
// agent is told to retry later. A partial write is not retried: the
// refused points would be refused again.
func (a *API) writeSamples(ctx context.Context, lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	b := backoff.Backoff{Min: 200 * time.Millisecond, Max: 2 * time.Second}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := a.tsdb.Write(ctx, lines)
		a.m.influxWrite.Observe(time.Since(start).Seconds())
		var pw *tsdb.PartialWriteError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &pw):
			a.m.influxErrors.WithLabelValues("partial").Inc()
			return err
		}
		a.m.influxErrors.WithLabelValues("unavailable").Inc()
		if attempt > a.limits.InfluxRetries || !backoff.Sleep(ctx, b.Next()) {
			return err
		}
		a.log.Debug("retrying InfluxDB write", "attempt", attempt+1, "err", err)
	}
}

// countingReader counts the compressed bytes of a request body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func unavailable(what string, err error) *HTTPError {
	return &HTTPError{Code: http.StatusServiceUnavailable, Msg: what + " is unavailable; retry later",
		Err: err, RetryAfter: 10 * time.Second}
}

// storeInventory keeps the newest inventory snapshot of each asset and,
// when it differs from the one before, what changed. The document's
// identities (UUID, manufacturer and serial) decide which asset it is.
func (a *API) storeInventory(ctx context.Context, assets *assetResolver, inv []kpi.Inventory) ([]string, error) {
	var rejects []string
	for i, doc := range inv {
		if doc.Time.IsZero() || doc.Time.After(a.now().Add(maxFuture)) {
			rejects = append(rejects, fmt.Sprintf("inventory %d: bad time %v", i, doc.Time))
			continue
		}
		as, err := assets.identify(ctx, doc.Asset, inventory.Identities(doc))
		if errors.Is(err, store.ErrOutsideOU) || errors.Is(err, errBadAsset) {
			rejects = append(rejects, fmt.Sprintf("inventory %d: %v", i, err))
			continue
		}
		if err != nil {
			return nil, err
		}
		data, err := json.Marshal(doc)
		if err != nil {
			rejects = append(rejects, fmt.Sprintf("inventory %d: %v", i, err))
			continue
		}
		changes, err := a.inventoryChanges(ctx, as.ID, doc)
		if errors.Is(err, errOlder) {
			continue // a late copy of an older snapshot: nothing to keep
		}
		if err != nil {
			return nil, err
		}
		newer, err := a.store.PutInventory(ctx, as.ID, doc.Time, data, changes)
		if err != nil {
			return nil, err
		}
		if newer {
			if err := a.store.SetAssetFacts(ctx, as.ID, assetFacts(doc)); err != nil {
				return nil, err
			}
		}
	}
	return rejects, nil
}

var errOlder = errors.New("older than the stored inventory")

// inventoryChanges compares doc with the stored snapshot: nil when
// nothing changed, an empty list for an asset's first snapshot.
func (a *API) inventoryChanges(ctx context.Context, assetID string, doc kpi.Inventory) ([]byte, error) {
	at, prev, err := a.store.Inventory(ctx, assetID)
	if errors.Is(err, store.ErrNotFound) {
		return []byte("[]"), nil
	}
	if err != nil {
		return nil, err
	}
	if !doc.Time.After(at) {
		return nil, errOlder
	}
	var old kpi.Inventory
	if err := json.Unmarshal(prev, &old); err != nil {
		a.log.Warn("stored inventory unreadable; recording the new one as a first snapshot", "asset_id", assetID, "err", err)
		return []byte("[]"), nil
	}
	diff := inventory.Diff(old, doc)
	if len(diff) == 0 {
		return nil, nil
	}
	return json.Marshal(diff)
}

// categories are the asset categories the portal groups assets by
// (DESIGN.md, "Domain model").
var categories = map[string]bool{"server": true, "storage": true, "backup": true, "network": true,
	"power": true, "printer": true, "software": true, "licence": true}

// assetFacts takes category, manufacturer, model and serial from an
// inventory; an unknown category or a value that is not a short string
// is ignored.
func assetFacts(doc kpi.Inventory) store.AssetFacts {
	str := func(k string) string {
		v, ok := doc.Attributes[k].(string)
		if !ok || len(v) > 200 {
			return ""
		}
		return strings.TrimSpace(v)
	}
	f := store.AssetFacts{Manufacturer: str("manufacturer"), Product: str("model"), Serial: str("serial")}
	if c := str("category"); categories[c] {
		f.Category = c
	}
	return f
}

var errBadAsset = errors.New("invalid asset id")

type assetResult struct {
	asset store.Asset
	err   error
}

// assetResolver maps agent-side asset ids to assets, once per batch.
type assetResolver struct {
	a     *API
	agent store.Agent
	cache map[string]assetResult
	last  []byte // the key of the previous sample, usually the next one's too
	lastR assetResult
}

// resolveBytes is resolve for a key the line-protocol decoder returned; a
// cached key costs no allocation.
func (r *assetResolver) resolveBytes(ctx context.Context, key []byte) (*store.Asset, error) {
	if r.last != nil && bytes.Equal(key, r.last) {
		return &r.lastR.asset, r.lastR.err
	}
	res, ok := r.cache[string(key)]
	if !ok {
		res.asset, res.err = r.identify(ctx, string(key), nil)
		if res.err != nil && !errors.Is(res.err, store.ErrOutsideOU) && !errors.Is(res.err, errBadAsset) {
			return nil, res.err
		}
	}
	r.last, r.lastR = append(r.last[:0], key...), res
	return &r.lastR.asset, res.err
}

// identify returns the asset of an agent-side key; identities from an
// inventory let the store find a device it knows under another key.
func (r *assetResolver) identify(ctx context.Context, key string, identities []string) (store.Asset, error) {
	if res, ok := r.cache[key]; ok && len(identities) == 0 {
		return res.asset, res.err
	}
	if key == "" || len(key) > 128 || strings.HasPrefix(key, "manual:") {
		err := fmt.Errorf("%w %q", errBadAsset, key)
		r.cache[key] = assetResult{err: err}
		return store.Asset{}, err
	}
	if len(identities) == 0 {
		if as, ok := r.a.assets.get(r.agent.ID, key, r.a.now()); ok {
			r.cache[key] = assetResult{asset: as}
			return as, nil
		}
	}
	as, err := r.a.store.EnsureAsset(ctx, r.agent, key, identities)
	if err != nil && !errors.Is(err, store.ErrOutsideOU) {
		return as, err // a store failure is not cached: the batch is retried
	}
	if err == nil {
		r.a.assets.put(r.agent.ID, key, as, r.a.now())
	}
	r.cache[key] = assetResult{as, err}
	return as, err
}

// assetCache remembers for a short time which asset an agent's key
// resolved to, so that a steady stream of batches does not look up every
// asset in the store every time. An entry lives assetCacheTTL: an OU moved
// away from an agent stops taking that agent's samples at most that much
// later on every replica. Refusals are not cached.
type assetCache struct {
	mu      sync.Mutex
	entries map[assetCacheKey]assetCacheEntry
}

type assetCacheKey struct{ agent, key string }

type assetCacheEntry struct {
	asset   store.Asset
	expires time.Time
}

const (
	assetCacheTTL  = 30 * time.Second
	assetCacheSize = 200_000
)

func (c *assetCache) get(agent, key string, now time.Time) (store.Asset, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[assetCacheKey{agent, key}]
	if !ok || now.After(e.expires) {
		return store.Asset{}, false
	}
	return e.asset, true
}

func (c *assetCache) put(agent, key string, as store.Asset, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= assetCacheSize {
		c.entries = map[assetCacheKey]assetCacheEntry{} // simple bound: start over
	}
	c.entries[assetCacheKey{agent, key}] = assetCacheEntry{as, now.Add(assetCacheTTL)}
}
