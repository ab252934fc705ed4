package store

import (
	"context"
	"time"
)

// AssetEdit is what a user changes of an asset (package server/assets);
// a nil field is left as it is. Only what the agent's inventory does not
// set is a user's to edit, so that no poll undoes an edit.
type AssetEdit struct {
	// Name replaces the display name. Agents never set it after creation
	// (a new asset is named after its agent-side id).
	Name *string
	// Category replaces the category and pins it: SetAssetFacts keeps it
	// from then on. "" unpins it and keeps the current value until the
	// next inventory sets the agent's.
	Category *string
	// Location and Notes replace the user's own fields.
	Location, Notes *string
}

// AssetSource is one agent-side id (an agent's target asset id) that
// points at an asset, and when it last did.
type AssetSource struct {
	SourceKey string
	UpdatedAt time.Time
}

// AssetOrigin tells where an asset comes from: the agent that created it
// ("" for an asset entered by hand or from before issue 29) and the
// agent-side ids that find it, the most recently pointed first.
type AssetOrigin struct {
	CreatedByAgent string
	Sources        []AssetSource
}

// AssetEdits changes and deletes assets for users. Each method takes the
// asset's organization and returns ErrNotFound for an asset (or OU) of
// another one; the caller decides who may (package server/assets).
type AssetEdits interface {
	// EditAsset applies e to the asset id of orgID and returns the asset
	// as it is now.
	EditAsset(ctx context.Context, orgID, id string, e AssetEdit) (Asset, error)
	// MoveAsset puts the asset id of orgID into the OU ouID of the same
	// organization, in one transaction with its open and past findings
	// (their OU), and returns the asset as it is now. Its home OU
	// (Asset.HomeOUID) and series id stay: the agent that reports it
	// keeps writing it and its history stays whole.
	MoveAsset(ctx context.Context, orgID, id, ouID string) (Asset, error)
	// DeleteAsset removes the asset id of orgID with everything that is
	// only about it, in one transaction: its inventory and history,
	// agent-side ids and identities, system key, grants, channel
	// assignments, device group memberships and findings. The audit trail
	// keeps its events. Its KPI series are not the store's (see
	// tsdb.Influx.DropAssetSeries).
	DeleteAsset(ctx context.Context, orgID, id string) error
	// AssetOrigin returns where the asset id comes from.
	AssetOrigin(ctx context.Context, id string) (AssetOrigin, error)
}
