package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/store"
)

// inventoryColumns are the inventory report's columns: the asset's
// identity from the store, its configuration from the latest inventory.
var inventoryColumns = []Column{
	{Key: "customer", Label: "Customer"},
	{Key: "ou", Label: "OU"},
	{Key: "asset_id", Label: "Asset ID"},
	{Key: "asset", Label: "Asset"},
	{Key: "category", Label: "Category"},
	{Key: "manufacturer", Label: "Manufacturer"},
	{Key: "model", Label: "Model"},
	{Key: "serial", Label: "Serial"},
	{Key: "version", Label: "Firmware / OS"},
	{Key: "cpu_count", Label: "CPUs", Kind: Count},
	{Key: "memory_bytes", Label: "Memory", Kind: Quantity, Unit: catalog.Bytes},
	{Key: "status", Label: "Status"},
	{Key: "last_poll_at", Label: "Last poll", Kind: Time},
}

// InventorySource is what the inventory report reads of the store.
type InventorySource interface {
	// Inventory returns an asset's latest inventory document, or
	// store.ErrNotFound when none was collected.
	Inventory(ctx context.Context, assetID string) (collectedAt time.Time, doc []byte, err error)
}

// Inventory builds the inventory report: per asset of sc its identity,
// its configuration from the latest inventory (where the store has no
// model or version) and its status at now.
func Inventory(ctx context.Context, src InventorySource, sc Scope, now time.Time) (Table, error) {
	t := Table{Title: "Inventory report", Scope: sc.Label, Generated: now, Columns: inventoryColumns}
	for _, as := range sc.Assets {
		attrs, err := inventoryAttributes(ctx, src, as.ID)
		if err != nil {
			return t, err
		}
		model := as.Product
		if model == "" {
			model = attrString(attrs, "model")
		}
		version := as.Version
		for _, k := range []string{"os_version", "firmware_version", "bios_version", "firmware"} {
			if version == "" {
				version = attrString(attrs, k)
			}
		}
		t.Rows = append(t.Rows, []any{sc.Customers[as.OrgID], sc.OU(as), as.ID, as.Name, as.Category, as.Manufacturer,
			model, as.Serial, version, attrInt(attrs, "cpu_count"), attrInt(attrs, "memory_bytes"),
			as.Status(now), as.LastPollAt})
	}
	return t, nil
}

// inventoryAttributes is the attributes of an asset's latest inventory,
// or nil when none was collected.
func inventoryAttributes(ctx context.Context, src InventorySource, assetID string) (map[string]any, error) {
	_, doc, err := src.Inventory(ctx, assetID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading the inventory of %s: %w", assetID, err)
	}
	var inv struct {
		Attributes map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal(doc, &inv); err != nil {
		return nil, fmt.Errorf("inventory of %s: %w", assetID, err)
	}
	return inv.Attributes, nil
}

func attrString(m map[string]any, k string) string {
	if s, ok := m[k].(string); ok {
		return s
	}
	return ""
}

// attrInt is a whole-number attribute, or nil (an empty cell).
func attrInt(m map[string]any, k string) any {
	if f, ok := m[k].(float64); ok && f >= 0 {
		return int64(f)
	}
	return nil
}
