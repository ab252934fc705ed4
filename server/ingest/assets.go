package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/store"
)

var errBadAsset = errors.New("invalid asset id")

// refused reports whether err, from assetResolver, refuses the points
// (or inventory) of one asset, rather than being a store failure that
// fails the batch.
func refused(err error) bool {
	return errors.Is(err, store.ErrOutsideOU) || errors.Is(err, errBadAsset) || errors.Is(err, store.ErrNewAssetCap)
}

type assetResult struct {
	asset *store.Asset // shared with the asset cache: never changed
	err   error
}

// assetResolver maps agent-side asset ids to assets, once per batch.
type assetResolver struct {
	in    *Ingester
	agent store.Agent
	now   time.Time // the batch's: one clock reading for all its assets
	cache map[string]assetResult
	last  []byte // the key of the previous sample, usually the next one's too
	lastR assetResult
	// samples is the batch's line protocol: at the first key that neither
	// the batch nor the asset cache knows, prefetch looks up the assets of
	// all its keys at once.
	samples    []byte
	prefetched bool
}

func newAssetResolver(in *Ingester, ag store.Agent) *assetResolver {
	return &assetResolver{in: in, agent: ag, now: in.now(), cache: map[string]assetResult{}}
}

// resolveBytes is resolve for a key the line-protocol decoder returned; a
// cached key costs no allocation.
func (r *assetResolver) resolveBytes(ctx context.Context, key []byte) (*store.Asset, error) {
	if r.last != nil && bytes.Equal(key, r.last) {
		return r.lastR.asset, r.lastR.err
	}
	res, ok := r.cache[string(key)]
	if !ok {
		res.asset, res.err = r.identify(ctx, string(key), nil)
		if res.err != nil && !refused(res.err) {
			return nil, res.err
		}
	}
	r.last, r.lastR = append(r.last[:0], key...), res
	return res.asset, res.err
}

// identify returns the asset of an agent-side key; identities from an
// inventory let the store find a device it knows under another key. The
// asset is nil with an error.
func (r *assetResolver) identify(ctx context.Context, key string, identities []string) (*store.Asset, error) {
	if res, ok := r.cache[key]; ok && len(identities) == 0 {
		return res.asset, res.err
	}
	if !validKey(key) {
		err := fmt.Errorf("%w %q", errBadAsset, key)
		r.cache[key] = assetResult{err: err}
		return nil, err
	}
	if len(identities) == 0 {
		if as := r.in.assets.get(r.agent.ID, key, r.now); as != nil {
			r.cache[key] = assetResult{asset: as}
			return as, nil
		}
		if !r.prefetched {
			r.prefetched = true
			if err := r.prefetch(ctx); err != nil {
				return nil, err // a store failure: the batch is retried
			}
			if res, ok := r.cache[key]; ok {
				return res.asset, res.err
			}
		}
	}
	as, err := r.in.store.EnsureAsset(ctx, r.agent, key, identities, r.in.limits.NewAssetsPerHour)
	if errors.Is(err, store.ErrNewAssetCap) {
		// The reason names the setting that lifts the cap.
		err = fmt.Errorf("%w (limits.new_assets_per_agent_hour = %d)", err, r.in.limits.NewAssetsPerHour)
	}
	if err != nil && !refused(err) {
		return nil, err // a store failure is not cached: the batch is retried
	}
	res := assetResult{err: err}
	if err == nil {
		res.asset = &as
		r.in.assets.put(r.agent.ID, key, res.asset, r.now)
	}
	r.cache[key] = res
	return res.asset, err
}

// validKey reports whether an agent may name an asset key: not empty, at
// most 128 bytes, and not of the form of assets entered by hand.
func validKey(key string) bool {
	return key != "" && len(key) <= 128 && !strings.HasPrefix(key, "manual:")
}

// maxPrefetch bounds the keys prefetch looks up for one batch.
const maxPrefetch = 5000

// prefetch looks up, in one query of the store per 500 keys
// (Store.KnownAssets), the
// assets of the keys in the batch's samples that neither the batch nor
// the asset cache knows. An agent's keys expire from the cache together,
// since one batch put them there: looking them up one by one cost a read
// each, some 40 µs, and an agent of many small devices sends few points
// per asset. Keys the store does not return (new, or refused) are then
// resolved one by one by identify, as without prefetch; what prefetch
// reads of the samples only chooses what to look up, never what a line
// is written with.
func (r *assetResolver) prefetch(ctx context.Context) error {
	var keys []string
	seen := map[string]bool{}
	for k := range assetKeys(r.samples) {
		if seen[string(k)] {
			continue
		}
		key := string(k)
		seen[key] = true
		if _, ok := r.cache[key]; ok || !validKey(key) || r.in.assets.get(r.agent.ID, key, r.now) != nil {
			continue
		}
		if keys = append(keys, key); len(keys) == maxPrefetch {
			break
		}
	}
	if len(keys) < 2 {
		return nil // identify reads the one key itself
	}
	found, err := r.in.store.KnownAssets(ctx, r.agent, keys)
	if err != nil {
		return err
	}
	for k, a := range found {
		r.in.assets.put(r.agent.ID, k, &a, r.now)
		r.cache[k] = assetResult{asset: &a}
	}
	return nil
}

// assetKeys yields the values of the asset tag in line protocol as they
// are written, without unescaping: a value with a backslash is skipped,
// and text that only looks like the tag (inside a string field) yields a
// key that is looked up for nothing.
func assetKeys(samples []byte) iter.Seq[[]byte] {
	tag := []byte("," + wire.AssetTag + "=")
	return func(yield func([]byte) bool) {
		for p := 0; ; {
			i := bytes.Index(samples[p:], tag)
			if i < 0 {
				return
			}
			v0 := p + i + len(tag)
			end := v0
			for end < len(samples) && samples[end] != ',' && samples[end] != ' ' && samples[end] != '\n' && samples[end] != '\\' {
				end++
			}
			if end < len(samples) && samples[end] != '\\' && !yield(samples[v0:end]) {
				return
			}
			p = end
		}
	}
}

// assetCache remembers for a short time which asset an agent's key
// resolved to, so that a steady stream of batches does not look up every
// asset in the store every time. An entry lives assetCacheTTL: an OU moved
// away from an agent stops taking that agent's samples at most that much
// later on every replica. Refusals are not cached.
type assetCache struct {
	// Batches of several agents look assets up at once, hundreds per
	// batch: readers do not wait for each other.
	mu      sync.RWMutex
	entries map[assetCacheKey]assetCacheEntry
}

type assetCacheKey struct{ agent, key string }

type assetCacheEntry struct {
	asset   *store.Asset // never changed once cached
	expires time.Time
}

const (
	assetCacheTTL  = 30 * time.Second
	assetCacheSize = 200_000
)

// get returns the cached asset, or nil.
func (c *assetCache) get(agent, key string, now time.Time) *store.Asset {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[assetCacheKey{agent, key}]
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.asset
}

func (c *assetCache) put(agent, key string, as *store.Asset, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= assetCacheSize {
		c.entries = map[assetCacheKey]assetCacheEntry{} // simple bound: start over
	}
	c.entries[assetCacheKey{agent, key}] = assetCacheEntry{as, now.Add(assetCacheTTL)}
}
