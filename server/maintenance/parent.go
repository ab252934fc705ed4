package maintenance

import (
	"context"
	"errors"
	"fmt"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// SetParent makes parentID the asset assetID depends on (the switch or
// firewall it sits behind); "" clears it. Both assets must be visible to
// p and of p's own organization, and p an admin; a parent that is the
// asset or depends on it is refused.
func (s *Service) SetParent(ctx context.Context, p visibility.Principal, who audit.Actor, assetID, parentID string) error {
	a, err := s.ownAsset(ctx, p, assetID)
	if err != nil {
		return err
	}
	if parentID != "" {
		parent, _, err := s.vis.Asset(ctx, p, parentID)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Invalidf("parent_id: no asset %q that you can see", parentID)
		}
		if err != nil {
			return fmt.Errorf("loading asset %s: %w", parentID, err)
		}
		if parent.OrgID != a.OrgID {
			return problem.Invalidf("parent_id: the parent must belong to the asset's own organization")
		}
		if parent.ID == a.ID {
			return problem.Invalidf("parent_id: an asset cannot depend on itself")
		}
	}
	err = s.st.SetAssetParent(ctx, a.OrgID, a.ID, parentID)
	if errors.Is(err, store.ErrInvalid) {
		return problem.Invalidf("parent_id: %s depends on %s already (directly or through others): that would be a cycle", parentID, assetID)
	}
	if err != nil {
		return fmt.Errorf("setting parent of asset %s: %w", assetID, err)
	}
	err = s.rec.Record(ctx, who, audit.Entry{OrgID: a.OrgID, OUID: a.OUID, Action: "asset.parent", TargetType: "asset",
		TargetID: a.ID, Detail: map[string]any{"parent_id": parentID}})
	if err != nil {
		return fmt.Errorf("recording asset.parent: %w", err)
	}
	return nil
}

// Parent returns the asset assetID depends on, "" when none.
func (s *Service) Parent(ctx context.Context, p visibility.Principal, assetID string) (string, error) {
	a, _, err := s.vis.Asset(ctx, p, assetID)
	if errors.Is(err, store.ErrNotFound) {
		return "", problem.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("loading asset %s: %w", assetID, err)
	}
	ps, err := s.st.AssetParents(ctx, a.OrgID)
	if err != nil {
		return "", fmt.Errorf("loading asset parents of %s: %w", a.OrgID, err)
	}
	return ps[a.ID], nil
}
