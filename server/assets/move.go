package assets

import (
	"context"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/store"
)

// move puts as into the OU to (of ous), which the caller checked p
// administers, and records it for the admins of both OUs.
func (s *Service) move(ctx context.Context, who audit.Actor, as store.Asset, ous []store.OU, to string) (store.Asset, error) {
	out, err := s.st.MoveAsset(ctx, as.OrgID, as.ID, to)
	if err != nil {
		return as, notFound(err, "asset "+as.ID)
	}
	names := map[string]string{}
	for _, u := range ous {
		names[u.ID] = u.Name
	}
	return out, s.record(ctx, who, out, CommonOU(ous, as.OUID, to), "asset.move", map[string]any{"name": as.Name,
		"from_ou_id": as.OUID, "from_ou": names[as.OUID], "to_ou_id": to, "to_ou": names[to]})
}

// CommonOU returns the lowest OU of ous that holds both a and b (either
// one itself): the admins who could move an asset between them, whom
// the audit event of the move is for. "" when they share none.
func CommonOU(ous []store.OU, a, b string) string {
	parent := make(map[string]string, len(ous))
	for _, u := range ous {
		parent[u.ID] = u.ParentID
	}
	above := map[string]bool{}
	for id, n := a, 0; id != "" && n <= len(ous); id, n = parent[id], n+1 {
		above[id] = true
	}
	for id, n := b, 0; id != "" && n <= len(ous); id, n = parent[id], n+1 {
		if above[id] {
			return id
		}
	}
	return ""
}
