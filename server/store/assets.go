package store

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ErrNewAssetCap: the agent created as many assets in the last hour as it
// may (see Assets.EnsureAsset).
var ErrNewAssetCap = errors.New("the agent's cap on new assets per hour is reached")

// Asset is a hardware or software component in one OU.
type Asset struct {
	ID        string
	OrgID     string
	OUID      string
	SourceKey string // the agent-side asset id that first reported it
	// SeriesID tags the asset's points in InfluxDB: "<organization
	// number>.<asset number>", unique across the server, set at creation
	// and never changed (a move to another OU keeps its history whole).
	SeriesID     string
	Name         string
	Category     string
	Manufacturer string
	Product      string
	Type         string
	Version      string
	Serial       string
	CreatedByOrg string // a partner that created it with the OU key
	CreatedAt    time.Time
	// Identities are stored with the asset by CreateAsset (see package
	// server/inventory); they are not read back.
	Identities []string
	// LastPollAt and LastPollUp are the latest agent poll of the asset
	// (zero before the first): whether the device answered.
	LastPollAt time.Time
	LastPollUp bool
	// HomeOUID is the OU whose agents may write the asset (EnsureAsset):
	// the OU it was created in, kept when a user moves it (AssetEdits).
	HomeOUID string
	// CategoryPinned: a user chose Category; SetAssetFacts keeps it.
	CategoryPinned bool
	// Location (where the device is) and Notes are a user's; no agent
	// writes them (AssetEdits).
	Location, Notes string
}

// SeriesID is the series id of asset number assetNo of organization
// number orgNo.
func SeriesID(orgNo, assetNo int64) string {
	return strconv.FormatInt(orgNo, 10) + "." + strconv.FormatInt(assetNo, 10)
}

// StaleAfter is how long after its last poll an asset, and after its last
// delivery an agent, counts as stale: three default poll intervals with
// room for a batch's flush delay.
const StaleAfter = 15 * time.Minute

// Status says whether the asset's device answered its latest poll as of
// now: up, down, stale (no poll for StaleAfter) or unknown (never polled,
// such as an asset entered by hand before its agent reports).
func (a Asset) Status(now time.Time) string {
	switch {
	case a.LastPollAt.IsZero():
		return "unknown"
	case now.Sub(a.LastPollAt) > StaleAfter:
		return "stale"
	case a.LastPollUp:
		return "up"
	default:
		return "down"
	}
}

// AssetPoll is the latest poll result of an asset in one ingested batch.
type AssetPoll struct {
	AssetID string
	At      time.Time
	Up      bool
}

// InventoryChange is one inventory snapshot that differed from the one
// before it: Changes is a JSON list of inventory.Change, empty for the
// first snapshot of an asset.
type InventoryChange struct {
	CollectedAt time.Time
	Changes     []byte
}

// AssetFacts are the fields of an asset that its inventory sets.
type AssetFacts struct {
	Category     string // server, storage, backup, network, power, printer, software
	Manufacturer string
	Product      string
	Serial       string
}

// Assets stores the components of each organization: the assets, the
// agent-side ids and identities that find them, their latest inventory
// with its history, and their latest poll. Lookups by asset id are not
// scoped: the caller checks the asset's organization against what the
// principal may see (package visibility).
type Assets interface {
	// EnsureAsset returns the asset of the agent's organization that the
	// agent-side id sourceKey reports, creating it in the agent's OU on
	// first sight (a creator that loses a race finds the winner's asset
	// instead). identities (strongest first, see package server/inventory)
	// name the device itself: when an asset of the organization already
	// has one of them, sourceKey is pointed at that asset (a re-installed
	// agent, a renamed target, an asset a partner entered by hand), and the
	// asset gains the others.
	//
	// An agent writes only into assets of its own OU: if the asset that
	// sourceKey or an identity finds has another home OU (Asset.HomeOUID:
	// above, below or beside the agent's), EnsureAsset returns
	// ErrOutsideOU and changes nothing. So agents of two OUs never share an asset through a key,
	// while a re-installed agent of the same OU finds its predecessor's.
	//
	// A new asset is created only while the agent created fewer than
	// newPerHour assets in the hour before (no cap when newPerHour is 0 or
	// less); beyond, EnsureAsset returns an error wrapping ErrNewAssetCap
	// that says how many, and creates nothing. Assets that exist are found
	// regardless. The count is the store's, so it holds across restarts
	// and replicas.
	EnsureAsset(ctx context.Context, a Agent, sourceKey string, identities []string, newPerHour int) (Asset, error)
	// KnownAssets is EnsureAsset without identities for many keys at once
	// (a query per few hundred keys), for the keys whose asset exists and has the agent's OU as its
	// home: what EnsureAsset would return for each of them. Other keys
	// (unknown, empty, or of another OU's asset) are left out of the map;
	// EnsureAsset creates or refuses them one by one.
	KnownAssets(ctx context.Context, a Agent, sourceKeys []string) (map[string]Asset, error)
	// CreateAsset stores an asset entered by hand (not reported by an
	// agent) and sets a.ID, a.CreatedAt and, when empty, a.SourceKey.
	// a.OUID must be an OU of a.OrgID; an identity (a.Identities) another
	// asset of the organization has is ErrConflict. If grant is not nil it
	// is stored with the asset, in the same transaction (a partner creating
	// with an OU key), for the new asset and its organization.
	CreateAsset(ctx context.Context, a *Asset, grant *Grant) error
	// Asset returns an asset by id.
	Asset(ctx context.Context, id string) (Asset, error)
	// Assets returns every asset of an organization, by name.
	Assets(ctx context.Context, orgID string) ([]Asset, error)
	// AssetsByIDs returns the assets that exist among ids, by name; unknown
	// ids are left out.
	AssetsByIDs(ctx context.Context, ids []string) ([]Asset, error)
	// SetAssetFacts records what an inventory says about an asset: each
	// non-empty field of f replaces the stored one, except a category a
	// user pinned (AssetEdits.EditAsset).
	SetAssetFacts(ctx context.Context, assetID string, f AssetFacts) error
	// SetAssetPolls records the latest poll of assets; a poll older than
	// the stored one is ignored.
	SetAssetPolls(ctx context.Context, polls []AssetPoll) error

	// PutInventory replaces the latest inventory document of an asset if
	// collectedAt is newer than the stored one and then, when changes is
	// not nil, adds it to the asset's inventory history, in one
	// transaction. It reports whether the document was newer.
	PutInventory(ctx context.Context, assetID string, collectedAt time.Time, doc, changes []byte) (bool, error)
	// Inventory returns the latest inventory document of an asset and when
	// it was collected; ErrNotFound before the first.
	Inventory(ctx context.Context, assetID string) (collectedAt time.Time, doc []byte, err error)
	// InventoryHistory returns up to limit history entries of an asset
	// collected before before (any time when zero), newest first.
	InventoryHistory(ctx context.Context, assetID string, before time.Time, limit int) ([]InventoryChange, error)
}
