package store

import "context"

// Keys stores the secrets a partner presents to act for a customer: an OU
// key lets it create assets in that OU, a system key lets it see one asset.
// Admins read keys back, so the store keeps them; a key presented is found
// by its hash and compared in constant time.
type Keys interface {
	// OUKey returns the OU's key, making one on first use.
	OUKey(ctx context.Context, ouID string) (string, error)
	// RotateOUKey replaces the OU's key with a new one, which it returns;
	// the old one stops working.
	RotateOUKey(ctx context.Context, ouID string) (string, error)
	// OUByKey returns the OU of a key; any other string is ErrNotFound.
	OUByKey(ctx context.Context, key string) (OU, error)
	// SystemKey returns the asset's system key, making one on first use.
	SystemKey(ctx context.Context, assetID string) (string, error)
	// RotateSystemKey replaces the asset's system key with a new one,
	// which it returns; the old one stops working.
	RotateSystemKey(ctx context.Context, assetID string) (string, error)
	// AssetBySystemKey returns the asset of a system key; any other string
	// is ErrNotFound.
	AssetBySystemKey(ctx context.Context, key string) (Asset, error)
}
