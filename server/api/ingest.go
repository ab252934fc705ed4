package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	lp "github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
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
// delete the batch; 503 with Retry-After when InfluxDB cannot take it now;
// 413 when it is too large (the agent splits it); 400/422 when it will
// never be accepted (the agent drops it).
func (a *API) ingest(w http.ResponseWriter, r *http.Request) error {
	ag, _ := r.Context().Value(agentKey).(store.Agent)
	ctx := r.Context()
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != wire.ContentType {
		return &HTTPError{Code: http.StatusUnsupportedMediaType, Msg: "Content-Type must be " + wire.ContentType}
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		return &HTTPError{Code: http.StatusUnsupportedMediaType, Msg: "Content-Encoding must be gzip"}
	}
	body := http.MaxBytesReader(w, r.Body, a.limits.IngestMaxBytes)
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
	lines, accepted, rejects, err := a.reencode(ctx, assets, batch.Samples)
	if err != nil {
		return unavailable("store", err)
	}
	if err := a.tsdb.Write(ctx, lines); err != nil {
		var pw *tsdb.PartialWriteError
		if !errors.As(err, &pw) {
			a.m.ingest.WithLabelValues("unavailable").Inc()
			return unavailable("InfluxDB", err)
		}
		rejects = append(rejects, pw.Error())
	}
	invRejects, err := a.storeInventory(ctx, assets, batch.Inventory)
	if err != nil {
		return unavailable("store", err)
	}
	rejects = append(rejects, invRejects...)
	res.Accepted, res.Rejected = accepted, len(rejects)
	res.Rejection = rejects[:min(len(rejects), maxRejections)]
	a.m.samples.WithLabelValues("stored").Add(float64(accepted))
	a.m.samples.WithLabelValues("rejected").Add(float64(len(rejects)))

	if accepted == 0 && len(batch.Inventory) == len(invRejects) && len(rejects) > 0 {
		// Nothing in the batch can ever be stored: tell the agent to drop it.
		a.m.ingest.WithLabelValues("refused").Inc()
		a.log.Warn("refused every point of a batch", "agent_id", ag.ID, "batch_id", batch.ID, "first", rejects[0])
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "no point of the batch can be stored: " + rejects[0], "rejections": res.Rejection})
		return nil
	}
	if err := a.store.RecordBatch(ctx, ag.ID, batch.ID, a.now()); err != nil {
		return unavailable("store", err)
	}
	version, _ := strings.CutPrefix(r.UserAgent(), "kpilot-agent/")
	if err := a.store.TouchAgent(ctx, ag.ID, truncate(version, 64), a.now()); err != nil {
		a.log.Warn("updating agent last seen", "agent_id", ag.ID, "err", err)
	}
	a.m.ingest.WithLabelValues("stored").Inc()
	writeJSON(w, http.StatusOK, res)
	return nil
}

func unavailable(what string, err error) *HTTPError {
	return &HTTPError{Code: http.StatusServiceUnavailable, Msg: what + " is unavailable; retry later",
		Err: err, RetryAfter: 10 * time.Second}
}

// reserved tag keys are set by the server; an agent sending them is refused
// so it cannot write into another tenant's series.
var reserved = map[string]bool{tsdb.AssetTag: true, tsdb.OrgTag: true, tsdb.OUTag: true}

// reencode parses the agent's line protocol and writes every acceptable
// point anew with the tenant tags. The agent's text is never forwarded, so
// no tag or field value can smuggle an extra line or a foreign tenant tag.
// The returned error is a store failure; bad points are rejects.
func (a *API) reencode(ctx context.Context, assets *assetResolver, samples string) ([]byte, int, []string, error) {
	dec := lp.NewDecoderWithBytes([]byte(samples))
	var enc lp.Encoder
	enc.SetPrecision(lp.Nanosecond)
	enc.SetLax(false)
	var rejects []string
	accepted := 0
	type tag struct{ k, v string }
	type field struct {
		k string
		v lp.Value
	}
	for line := 1; dec.Next(); line++ {
		var tags []tag
		var fields []field
		var asset string
		m, err := dec.Measurement()
		if err == nil && !kpi.ValidName(string(m)) {
			err = fmt.Errorf("invalid measurement name %q", m)
		}
		for err == nil {
			var k, v []byte
			k, v, err = dec.NextTag()
			if err != nil || k == nil {
				break
			}
			switch key := string(k); {
			case key == wire.AssetTag:
				asset = string(v)
			case reserved[key] || !kpi.ValidName(key):
				err = fmt.Errorf("tag key %q is not allowed", key)
			default:
				tags = append(tags, tag{key, string(v)})
			}
		}
		for err == nil {
			var k []byte
			var v lp.Value
			k, v, err = dec.NextField()
			if err != nil || k == nil {
				break
			}
			if !kpi.ValidName(string(k)) {
				err = fmt.Errorf("field key %q is not allowed", k)
				break
			}
			if v.Kind() == lp.String {
				v = lp.MustNewValue(string(v.StringV())) // copy: the decoder reuses its buffer
			}
			fields = append(fields, field{string(k), v})
		}
		var ts time.Time
		if err == nil {
			ts, err = dec.Time(lp.Nanosecond, time.Time{})
		}
		switch {
		case err != nil:
		case asset == "":
			err = fmt.Errorf("no %s tag", wire.AssetTag)
		case ts.IsZero():
			err = errors.New("no timestamp (samples carry their collection time)")
		case ts.After(a.now().Add(maxFuture)):
			err = fmt.Errorf("timestamp %s is more than %s in the future", ts.UTC().Format(time.RFC3339), maxFuture)
		case len(fields) == 0:
			err = errors.New("no fields")
		}
		if err != nil {
			rejects = append(rejects, fmt.Sprintf("line %d: %v", line, err))
			continue
		}
		as, rerr := assets.resolve(ctx, asset)
		if rerr != nil {
			if !errors.Is(rerr, store.ErrOutsideOU) {
				return nil, 0, nil, rerr
			}
			rejects = append(rejects, fmt.Sprintf("line %d: %v", line, rerr))
			continue
		}
		tags = append(tags, tag{tsdb.AssetTag, as.ID}, tag{tsdb.OrgTag, as.OrgID}, tag{tsdb.OUTag, as.OUID})
		slices.SortFunc(tags, func(x, y tag) int { return strings.Compare(x.k, y.k) })
		enc.StartLine(string(m))
		for _, t := range tags {
			if t.v != "" {
				enc.AddTag(t.k, t.v)
			}
		}
		for _, f := range fields {
			enc.AddField(f.k, f.v)
		}
		enc.EndLine(ts)
		if err := enc.Err(); err != nil {
			// The encoder has already removed the partial line; record the
			// rejection and go on with the rest of the batch.
			rejects = append(rejects, fmt.Sprintf("line %d: %v", line, err))
			enc.ClearErr()
			continue
		}
		accepted++
	}
	return bytes.Clone(enc.Bytes()), accepted, rejects, nil
}

// storeInventory keeps the newest inventory snapshot of each asset.
func (a *API) storeInventory(ctx context.Context, assets *assetResolver, inv []kpi.Inventory) ([]string, error) {
	var rejects []string
	for i, doc := range inv {
		as, err := assets.resolve(ctx, doc.Asset)
		if errors.Is(err, store.ErrOutsideOU) || errors.Is(err, errBadAsset) {
			rejects = append(rejects, fmt.Sprintf("inventory %d: %v", i, err))
			continue
		}
		if err != nil {
			return nil, err
		}
		if doc.Time.IsZero() || doc.Time.After(a.now().Add(maxFuture)) {
			rejects = append(rejects, fmt.Sprintf("inventory %d: bad time %v", i, doc.Time))
			continue
		}
		data, err := json.Marshal(doc)
		if err != nil {
			rejects = append(rejects, fmt.Sprintf("inventory %d: %v", i, err))
			continue
		}
		if err := a.store.PutInventory(ctx, as.ID, doc.Time, data); err != nil {
			return nil, err
		}
		if err := a.store.SetAssetFacts(ctx, as.ID, assetFacts(doc)); err != nil {
			return nil, err
		}
	}
	return rejects, nil
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
}

func (r *assetResolver) resolve(ctx context.Context, key string) (store.Asset, error) {
	if res, ok := r.cache[key]; ok {
		return res.asset, res.err
	}
	if key == "" || len(key) > 128 {
		return store.Asset{}, fmt.Errorf("%w %q", errBadAsset, key)
	}
	as, err := r.a.store.EnsureAsset(ctx, r.agent, key)
	if err != nil && !errors.Is(err, store.ErrOutsideOU) {
		return as, err // a store failure is not cached: the batch is retried
	}
	r.cache[key] = assetResult{as, err}
	return as, err
}
