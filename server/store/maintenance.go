package store

import (
	"context"
	"time"
)

// MaintenanceWindow is a time in which an asset, the assets of a device
// group or every asset of an OU's subtree are being worked on: their
// downtime is planned and their findings are not notified. Exactly one of
// AssetID, GroupID and OUID is set. A
// one-off window has StartsAt and EndsAt; a recurring one has Recurrence
// (a cron expression for its starts, read in TimeZone) and Duration.
type MaintenanceWindow struct {
	ID         string
	OrgID      string
	AssetID    string
	OUID       string
	GroupID    string
	Name       string
	StartsAt   time.Time // one-off: first instant inside
	EndsAt     time.Time // one-off: first instant after
	Recurrence string    // recurring: five-field cron expression
	Duration   time.Duration
	TimeZone   string // IANA name the recurrence is read in; "UTC" by default
	CreatedBy  string // user id
	CreatedAt  time.Time
}

// Maintenance stores the maintenance windows and the asset dependencies
// (which parent asset, a switch or firewall, an asset sits behind).
type Maintenance interface {
	// CreateMaintenanceWindow stores w and sets its ID.
	CreateMaintenanceWindow(ctx context.Context, w *MaintenanceWindow) error
	// UpdateMaintenanceWindow replaces a window's times, name and scope;
	// ErrNotFound when w.ID is not a window of w.OrgID.
	UpdateMaintenanceWindow(ctx context.Context, w MaintenanceWindow) error
	// DeleteMaintenanceWindow deletes a window of orgID; ErrNotFound
	// when there is none.
	DeleteMaintenanceWindow(ctx context.Context, orgID, id string) error
	// MaintenanceWindow returns a window by id.
	MaintenanceWindow(ctx context.Context, id string) (MaintenanceWindow, error)
	// MaintenanceWindows returns every window of an organization, oldest
	// first.
	MaintenanceWindows(ctx context.Context, orgID string) ([]MaintenanceWindow, error)

	// SetAssetParent makes parentID the parent of assetID, both assets
	// of orgID (ErrNotFound otherwise); an empty parentID clears it. It
	// refuses with ErrInvalid a parent that is the asset or depends on it,
	// checked in the same transaction as the write.
	SetAssetParent(ctx context.Context, orgID, assetID, parentID string) error
	// AssetParents returns the parent of each asset of orgID that has one.
	AssetParents(ctx context.Context, orgID string) (map[string]string, error)
}
