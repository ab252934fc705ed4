package sharing

import (
	"context"
	"errors"
	"fmt"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// maxGroupAssets bounds a device group.
const maxGroupAssets = 10000

var (
	errTooManyAssets = problem.Invalidf("asset_ids: at most %d", maxGroupAssets)
	errNoSuchAsset   = problem.New(problem.NotFound, "asset_ids: no such asset in this organization")
)

// Groups returns the device groups of p's customer organization.
func (s *Service) Groups(ctx context.Context, p visibility.Principal) ([]store.DeviceGroup, error) {
	if err := customerReader(p); err != nil {
		return nil, err
	}
	gs, err := s.st.DeviceGroups(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading device groups: %w", err)
	}
	return gs, nil
}

// CreateGroup adds a device group of assets of p's customer organization;
// an asset of another organization is not found.
func (s *Service) CreateGroup(ctx context.Context, p visibility.Principal, who audit.Actor, name string, assetIDs []string) (store.DeviceGroup, error) {
	name, err := input.Name("name", name)
	if err != nil {
		return store.DeviceGroup{}, err
	}
	if len(assetIDs) > maxGroupAssets {
		return store.DeviceGroup{}, errTooManyAssets
	}
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return store.DeviceGroup{}, err
	}
	g := store.DeviceGroup{OrgID: p.OrgID, Name: name, AssetIDs: assetIDs}
	err = s.st.CreateDeviceGroup(ctx, &g)
	if errors.Is(err, store.ErrNotFound) {
		return g, errNoSuchAsset
	}
	if err != nil {
		return g, fmt.Errorf("creating device group: %w", err)
	}
	return g, s.record(ctx, who, p.OrgID, "device_group.create", "device_group", g.ID, map[string]any{"name": name, "assets": len(g.AssetIDs)})
}

// SetGroupMembers replaces the assets of the device group id; they must
// all be the customer's own.
func (s *Service) SetGroupMembers(ctx context.Context, p visibility.Principal, who audit.Actor, id string, assetIDs []string) error {
	if len(assetIDs) > maxGroupAssets {
		return errTooManyAssets
	}
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return err
	}
	err := s.st.SetDeviceGroupMembers(ctx, p.OrgID, id, assetIDs)
	if errors.Is(err, store.ErrNotFound) {
		// The store does not say which is missing: the group or an asset.
		gs, lerr := s.st.DeviceGroups(ctx, p.OrgID)
		if lerr != nil {
			return fmt.Errorf("loading device groups: %w", lerr)
		}
		for _, g := range gs {
			if g.ID == id {
				return errNoSuchAsset
			}
		}
		return problem.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("setting members of device group %s: %w", id, err)
	}
	return s.record(ctx, who, p.OrgID, "device_group.members", "device_group", id, map[string]any{"assets": len(assetIDs)})
}

// DeleteGroup removes the device group id; its assignments go with it.
func (s *Service) DeleteGroup(ctx context.Context, p visibility.Principal, who audit.Actor, id string) error {
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return err
	}
	err := s.st.DeleteDeviceGroup(ctx, p.OrgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return problem.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("deleting device group %s: %w", id, err)
	}
	return s.record(ctx, who, p.OrgID, "device_group.delete", "device_group", id, nil)
}
