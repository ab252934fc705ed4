package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/server/inventory"
	"github.com/kpilot/kpilot/server/store"
)

// storeInventory keeps the newest inventory snapshot of each asset and,
// when it differs from the one before, what changed. The document's
// identities (UUID, manufacturer and serial) decide which asset it is.
func (in *Ingester) storeInventory(ctx context.Context, assets *assetResolver, inv []kpi.Inventory) ([]string, error) {
	var rejects []string
	for i, doc := range inv {
		if doc.Time.IsZero() || doc.Time.After(in.now().Add(maxFuture)) {
			rejects = append(rejects, fmt.Sprintf("inventory %d: bad time %v", i, doc.Time))
			continue
		}
		as, err := assets.identify(ctx, doc.Asset, inventory.Identities(doc))
		if refused(err) {
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
		changes, err := in.inventoryChanges(ctx, as.ID, doc)
		if errors.Is(err, errOlder) {
			continue // a late copy of an older snapshot: nothing to keep
		}
		if err != nil {
			return nil, err
		}
		newer, err := in.store.PutInventory(ctx, as.ID, doc.Time, data, changes)
		if err != nil {
			return nil, err
		}
		if newer {
			if err := in.store.SetAssetFacts(ctx, as.ID, assetFacts(doc)); err != nil {
				return nil, err
			}
		}
	}
	return rejects, nil
}

var errOlder = errors.New("older than the stored inventory")

// inventoryChanges compares doc with the stored snapshot: nil when
// nothing changed, an empty list for an asset's first snapshot.
func (in *Ingester) inventoryChanges(ctx context.Context, assetID string, doc kpi.Inventory) ([]byte, error) {
	at, prev, err := in.store.Inventory(ctx, assetID)
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
		in.log.Warn("stored inventory unreadable; recording the new one as a first snapshot", "asset_id", assetID, "err", err)
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

// Categories returns the asset categories (a new map each time): the
// manual asset form takes the same ones an inventory may name.
func Categories() map[string]bool { return maps.Clone(categories) }
