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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	lp "github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/kpilot/kpilot/internal/backoff"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/inventory"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// maxRejections bounds the rejection messages returned in one answer.
const maxRejections = 20

// maxFuture is how far ahead of the server clock a sample may be stamped.
const maxFuture = time.Hour

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
	if r.Header.Get("Content-Encoding") != "gzip" {
		return &HTTPError{Code: http.StatusUnsupportedMediaType, Msg: "Content-Encoding must be gzip"}
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
	batch, err := wire.Decode(body, a.limits.IngestMaxDecompressedBytes)
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
	lines, accepted, rejects, err := rx.reencode(ctx, a.now(), assets, samples)
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
	if err := a.store.TouchAgent(ctx, ag.ID, truncate(version, 64), a.now()); err != nil {
		a.log.Warn("updating agent last seen", "agent_id", ag.ID, "err", err)
	}
	a.m.ingest.WithLabelValues("stored").Inc()
	writeJSON(w, http.StatusOK, res)
	return nil
}

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

// reserved tag keys are set by the server; an agent sending them is refused
// so it cannot write into another tenant's series.
var reserved = map[string]bool{tsdb.AssetTag: true, tsdb.OrgTag: true, tsdb.OUTag: true}

// reencoder turns an agent's line protocol into the server's. The
// well-kept decoder of influxdata/line-protocol/v2 splits each line into
// tokens; every token is checked (names by kpi.ValidName, values by kind)
// and written anew with the tenant tags, so the agent's text is never
// forwarded: no tag or field value can smuggle an extra line or a foreign
// tenant tag. Numbers are copied as the decimal text that was checked
// rather than parsed and formatted again, which is what makes the path
// fast; its buffers are reused from line to line, so the common path does
// not allocate per point.
type reencoder struct {
	out   []byte
	arena []byte // copies of the current line's tag keys and values
	tags  []tagSpan
	// polls is the latest agent_poll per asset and collector: what the
	// portal shows as the asset's status.
	polls map[pollKey]store.AssetPoll
}

type pollKey struct{ asset, collector string }

// assetPolls folds the batch's polls per asset: the latest time, and up
// when any collector (BMC, operating system) reached the device.
func (x *reencoder) assetPolls() []store.AssetPoll {
	by := map[string]store.AssetPoll{}
	for k, p := range x.polls {
		q, ok := by[k.asset]
		if !ok {
			by[k.asset] = p
			continue
		}
		if p.At.After(q.At) {
			q.At = p.At
		}
		q.Up = q.Up || p.Up
		by[k.asset] = q
	}
	out := make([]store.AssetPoll, 0, len(by))
	for _, p := range by {
		out = append(out, p)
	}
	return out
}

// tagSpan is a tag's key and value as arena offsets.
type tagSpan struct {
	k0, k1, v0, v1 int
	escape         bool // the value has characters to escape
}

// reencode returns the re-encoded lines, the number of accepted points
// and a message per refused line. The error is a store failure (the batch
// is retried); bad points are rejections.
func (x *reencoder) reencode(ctx context.Context, now time.Time, assets *assetResolver, samples []byte) ([]byte, int, []string, error) {
	dec := lp.NewDecoderWithBytes(samples)
	// Room for the text plus the three tenant tags (about 120 bytes) per line.
	x.out = make([]byte, 0, len(samples)+bytes.Count(samples, []byte{'\n'})*128)
	var rejects []string
	accepted := 0
	future := now.Add(maxFuture)
	for line := 1; dec.Next(); line++ {
		mark := len(x.out)
		err := x.line(ctx, dec, assets, future)
		if err != nil {
			var se storeError
			if errors.As(err, &se) {
				return nil, 0, nil, se.err
			}
			x.out = x.out[:mark] // drop what was written of the line
			rejects = append(rejects, fmt.Sprintf("line %d: %v", line, err))
			continue
		}
		accepted++
	}
	return x.out, accepted, rejects, nil
}

// storeError marks a store failure, which is not the line's fault.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }

func (x *reencoder) line(ctx context.Context, dec *lp.Decoder, assets *assetResolver, future time.Time) error {
	m, err := dec.Measurement()
	if err != nil {
		return err
	}
	if !kpi.ValidName(m) {
		return fmt.Errorf("invalid measurement name %q", m)
	}
	x.arena, x.tags = x.arena[:0], x.tags[:0]
	var asset []byte
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		switch {
		case string(k) == wire.AssetTag:
			asset = v
			continue
		case reserved[string(k)] || !kpi.ValidName(k):
			return fmt.Errorf("tag key %q is not allowed", k)
		}
		ok, esc := checkTagValue(v)
		if !ok {
			return fmt.Errorf("tag %s: value %q has control characters, invalid UTF-8 or a trailing backslash", k, v)
		}
		x.addTag(k, v, esc)
	}
	if len(asset) == 0 {
		return fmt.Errorf("no %s tag", wire.AssetTag)
	}
	as, err := assets.resolveBytes(ctx, asset)
	if err != nil {
		if errors.Is(err, store.ErrOutsideOU) || errors.Is(err, errBadAsset) {
			return err
		}
		return storeError{err}
	}
	// The tenant tags join the agent's, in key order as line protocol wants.
	x.addTag([]byte(tsdb.AssetTag), []byte(as.ID), false) // ids are UUIDs
	x.addTag([]byte(tsdb.OrgTag), []byte(as.OrgID), false)
	x.addTag([]byte(tsdb.OUTag), []byte(as.OUID), false)
	arena := x.arena
	slices.SortFunc(x.tags, func(a, b tagSpan) int { return bytes.Compare(arena[a.k0:a.k1], arena[b.k0:b.k1]) })

	x.out = append(x.out, m...) // a valid name needs no escaping
	for i, t := range x.tags {
		k, v := arena[t.k0:t.k1], arena[t.v0:t.v1]
		if i > 0 && bytes.Equal(k, arena[x.tags[i-1].k0:x.tags[i-1].k1]) {
			return fmt.Errorf("tag key %q appears twice", k)
		}
		if len(v) == 0 {
			continue // line protocol has no empty tag values
		}
		x.out = append(x.out, ',')
		x.out = append(x.out, k...)
		x.out = append(x.out, '=')
		if t.escape {
			x.out = appendTagValue(x.out, v)
		} else {
			x.out = append(x.out, v...)
		}
	}
	sep := byte(' ')
	poll, up := string(m) == "agent_poll", false
	for {
		k, kind, v, err := dec.NextFieldBytes()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		if !kpi.ValidName(k) {
			return fmt.Errorf("field key %q is not allowed", k)
		}
		x.out = append(x.out, sep)
		x.out = append(x.out, k...)
		x.out = append(x.out, '=')
		if x.out, err = appendFieldValue(x.out, kind, v); err != nil {
			return fmt.Errorf("field %s: %w", k, err)
		}
		if poll && kind == lp.Bool && string(k) == "up" {
			up = v[0] == 't' || v[0] == 'T'
		}
		sep = ','
	}
	if sep == ' ' {
		return errors.New("no fields")
	}
	ts, err := dec.Time(lp.Nanosecond, time.Time{})
	switch {
	case err != nil:
		return err
	case ts.IsZero():
		return errors.New("no timestamp (samples carry their collection time)")
	case ts.After(future):
		return fmt.Errorf("timestamp %s is more than %s in the future", ts.UTC().Format(time.RFC3339), maxFuture)
	}
	x.out = append(x.out, ' ')
	x.out = strconv.AppendInt(x.out, ts.UnixNano(), 10)
	x.out = append(x.out, '\n')
	if poll {
		x.notePoll(as.ID, ts, up)
	}
	return nil
}

func (x *reencoder) notePoll(assetID string, at time.Time, up bool) {
	collector := ""
	for _, t := range x.tags {
		if string(x.arena[t.k0:t.k1]) == "collector" {
			collector = string(x.arena[t.v0:t.v1])
		}
	}
	if x.polls == nil {
		x.polls = map[pollKey]store.AssetPoll{}
	}
	k := pollKey{assetID, collector}
	if p, ok := x.polls[k]; !ok || at.After(p.At) {
		x.polls[k] = store.AssetPoll{AssetID: assetID, At: at, Up: up}
	}
}

func (x *reencoder) addTag(k, v []byte, escape bool) {
	t := tagSpan{k0: len(x.arena), escape: escape}
	x.arena = append(x.arena, k...)
	t.k1, t.v0 = len(x.arena), len(x.arena)
	x.arena = append(x.arena, v...)
	t.v1 = len(x.arena)
	x.tags = append(x.tags, t)
}

// checkTagValue refuses what line protocol cannot carry in a tag value:
// control characters, invalid UTF-8, and a trailing backslash (which would
// escape the separator after it). It also reports whether the value has
// characters that need escaping.
func checkTagValue(v []byte) (ok, escape bool) {
	if len(v) > 0 && v[len(v)-1] == '\\' {
		return false, false
	}
	ascii := true
	for _, c := range v {
		switch {
		case c < 0x20 || c == 0x7f:
			return false, false
		case c == ',' || c == '=' || c == ' ':
			escape = true
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || utf8.Valid(v), escape
}

// appendTagValue escapes the characters that end a tag value.
func appendTagValue(dst, v []byte) []byte {
	for _, c := range v {
		if c == ',' || c == '=' || c == ' ' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

// appendFieldValue checks a field value token and appends its canonical
// line-protocol form.
func appendFieldValue(dst []byte, kind lp.ValueKind, v []byte) ([]byte, error) {
	switch kind {
	case lp.Float, lp.Int, lp.Uint:
		// Only plain decimal text is taken (no hex floats, no "Inf"), and
		// the text sent on is exactly what was checked.
		if !decimal(v, kind) {
			return dst, fmt.Errorf("invalid number %q", v)
		}
		if kind == lp.Uint && !fitsInt64(v) {
			return dst, fmt.Errorf("unsigned value %s is over 9223372036854775807, which InfluxDB 1.x cannot store", v)
		}
		dst = append(dst, v...)
		if kind != lp.Float {
			// Unsigned values are written as integers: InfluxDB 1.x has no
			// unsigned type, and one field keeps one type either way.
			dst = append(dst, 'i')
		}
		return dst, nil
	case lp.Bool:
		switch string(v) {
		case "t", "T", "true", "True", "TRUE":
			return append(dst, "true"...), nil
		case "f", "F", "false", "False", "FALSE":
			return append(dst, "false"...), nil
		}
		return dst, fmt.Errorf("invalid bool %q", v)
	case lp.String:
		// Only the quote and the backslash are escaped: InfluxDB reads other
		// characters inside the quotes as they are (a "\n" escape, which
		// the line-protocol encoder writes, would be stored as two
		// characters).
		if !utf8.Valid(v) {
			return dst, errors.New("string is not valid UTF-8")
		}
		dst = append(dst, '"')
		for _, c := range v {
			if c == '"' || c == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
		return append(dst, '"'), nil
	}
	return dst, fmt.Errorf("unknown value kind %v", kind)
}

// fitsInt64 reports whether the digits v are at most the largest int64.
func fitsInt64(v []byte) bool {
	if len(v) < 19 {
		return true
	}
	_, err := lp.NewValueFromBytes(lp.Int, v)
	return err == nil
}

// decimal reports whether v is a number of the kind in plain decimal
// notation: [-]digits for Int, digits for Uint, and for Float
// [-]digits[.digits][(e|E)[+|-]digits] (either side of the point may be
// empty, not both). Values that may be out of range are parsed to be sure.
func decimal(v []byte, kind lp.ValueKind) bool {
	i := 0
	if i < len(v) && v[i] == '-' && kind != lp.Uint {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			n++
		}
		return n
	}
	n := digits()
	if kind != lp.Float {
		if n == 0 || i != len(v) {
			return false
		}
		if n < 19 {
			return true
		}
		_, err := lp.NewValueFromBytes(kind, v) // near the limits of 64 bits
		return err == nil
	}
	if i < len(v) && v[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return false
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if digits() == 0 || i != len(v) {
			return false
		}
		_, err := lp.NewValueFromBytes(kind, v) // an exponent may overflow
		return err == nil
	}
	return i == len(v)
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
func (r *assetResolver) resolveBytes(ctx context.Context, key []byte) (store.Asset, error) {
	if r.last != nil && bytes.Equal(key, r.last) {
		return r.lastR.asset, r.lastR.err
	}
	res, ok := r.cache[string(key)]
	if !ok {
		res.asset, res.err = r.identify(ctx, string(key), nil)
		if res.err != nil && !errors.Is(res.err, store.ErrOutsideOU) && !errors.Is(res.err, errBadAsset) {
			return res.asset, res.err
		}
	}
	r.last, r.lastR = append(r.last[:0], key...), res
	return res.asset, res.err
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
