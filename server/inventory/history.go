package inventory

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

// HistoryPage is one page of an asset's inventory history: the snapshots
// that changed something, newest first. NextBefore, when set, is the
// before of the next page.
type HistoryPage struct {
	AssetID    string         `json:"asset_id"`
	History    []HistoryEntry `json:"history"`
	NextBefore string         `json:"next_before,omitempty"`
}

// HistoryEntry is one snapshot's changes.
type HistoryEntry struct {
	CollectedAt time.Time       `json:"collected_at"`
	First       bool            `json:"first,omitempty"` // the asset's first snapshot
	Changes     json.RawMessage `json:"changes"`
}

// HistoryReader reads an asset's changed snapshots before a time (all
// when zero), newest first, at most limit (store.Assets.InventoryHistory).
type HistoryReader func(ctx context.Context, assetID string, before time.Time, limit int) ([]store.InventoryChange, error)

// History reads one page of limit snapshots of an asset before before.
func History(ctx context.Context, read HistoryReader, assetID string, before time.Time, limit int) (HistoryPage, error) {
	hist, err := read(ctx, assetID, before, limit)
	if err != nil {
		return HistoryPage{}, err
	}
	page := HistoryPage{AssetID: assetID, History: make([]HistoryEntry, 0, len(hist))}
	for _, h := range hist {
		page.History = append(page.History, HistoryEntry{CollectedAt: h.CollectedAt, First: string(h.Changes) == "[]", Changes: h.Changes})
	}
	if len(hist) == limit && limit > 0 {
		page.NextBefore = hist[len(hist)-1].CollectedAt.Format(time.RFC3339Nano)
	}
	return page, nil
}
