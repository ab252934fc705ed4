// Package maintenance holds maintenance windows and asset dependencies:
// when an asset, a device group or an OU's subtree is being worked on
// (its downtime is planned, its findings are not notified), and which
// parent asset (the switch or firewall) an asset sits behind, so that a
// dead parent's dependents do not each raise an alarm. Only admins of the
// asset's or OU's own organization change them, within their OU; partner
// access is read-only. Failures a caller should read are *problem.Error;
// any other error is internal.
package maintenance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Store is what the package needs of the metadata store.
type Store interface {
	Organization(ctx context.Context, id string) (store.Organization, error)
	OUs(ctx context.Context, orgID string) ([]store.OU, error)
	Asset(ctx context.Context, id string) (store.Asset, error)
	Assets(ctx context.Context, orgID string) ([]store.Asset, error)
	DeviceGroups(ctx context.Context, orgID string) ([]store.DeviceGroup, error)
	store.Maintenance
}

// Visibility answers whether a principal sees an asset
// (visibility.Loader).
type Visibility interface {
	Asset(ctx context.Context, p visibility.Principal, assetID string) (store.Asset, visibility.Access, error)
}

// Service applies the rules of maintenance windows and dependencies on a
// store and records every change in the audit trail. It is safe for
// concurrent use.
type Service struct {
	st  Store
	rec audit.Recorder
	vis Visibility
	now func() time.Time
}

// New returns a Service; now is the clock (time.Now when nil).
func New(st Store, rec audit.Recorder, vis Visibility, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, rec: rec, vis: vis, now: now}
}

// Filter selects the windows List returns: those covering one asset, or
// those concerning an OU's subtree (the caller's own OU when both are
// empty).
type Filter struct {
	AssetID string
	OUID    string
}

// Create stores a new window of p's organization.
func (s *Service) Create(ctx context.Context, p visibility.Principal, who audit.Actor, w store.MaintenanceWindow) (store.MaintenanceWindow, error) {
	w.OrgID, w.CreatedBy, w.CreatedAt = p.OrgID, p.UserID, s.now()
	w.TimeZone = cmpOr(w.TimeZone, "UTC")
	if err := Validate(w); err != nil {
		return w, err
	}
	ouID, err := s.authorize(ctx, p, w)
	if err != nil {
		return w, err
	}
	if err := s.st.CreateMaintenanceWindow(ctx, &w); err != nil {
		return w, fmt.Errorf("creating maintenance window: %w", err)
	}
	return w, s.record(ctx, who, w, ouID, "maintenance.create")
}

// Update replaces a window's scope, times and name; p must be allowed
// both the old scope and the new.
func (s *Service) Update(ctx context.Context, p visibility.Principal, who audit.Actor, w store.MaintenanceWindow) (store.MaintenanceWindow, error) {
	old, err := s.window(ctx, p, w.ID)
	if err != nil {
		return w, err
	}
	if _, err := s.authorize(ctx, p, old); err != nil {
		return w, err
	}
	w.OrgID, w.CreatedBy, w.CreatedAt = old.OrgID, old.CreatedBy, old.CreatedAt
	w.TimeZone = cmpOr(w.TimeZone, "UTC")
	if err := Validate(w); err != nil {
		return w, err
	}
	ouID, err := s.authorize(ctx, p, w)
	if err != nil {
		return w, err
	}
	if err := s.st.UpdateMaintenanceWindow(ctx, w); err != nil {
		return w, fmt.Errorf("updating maintenance window %s: %w", w.ID, err)
	}
	return w, s.record(ctx, who, w, ouID, "maintenance.update")
}

// Delete deletes a window.
func (s *Service) Delete(ctx context.Context, p visibility.Principal, who audit.Actor, id string) error {
	w, err := s.window(ctx, p, id)
	if err != nil {
		return err
	}
	ouID, err := s.authorize(ctx, p, w)
	if err != nil {
		return err
	}
	if err := s.st.DeleteMaintenanceWindow(ctx, w.OrgID, w.ID); err != nil {
		return fmt.Errorf("deleting maintenance window %s: %w", id, err)
	}
	return s.record(ctx, who, w, ouID, "maintenance.delete")
}

// window returns a window of p's organization; another's is not found.
func (s *Service) window(ctx context.Context, p visibility.Principal, id string) (store.MaintenanceWindow, error) {
	w, err := s.st.MaintenanceWindow(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && w.OrgID != p.OrgID {
		return w, problem.ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("loading maintenance window %s: %w", id, err)
	}
	return w, nil
}

// authorize passes admins of w's scope in their own organization and
// returns the OU the change concerns (for the audit trail). What p does
// not see is not found; what p sees through partner access is read-only.
func (s *Service) authorize(ctx context.Context, p visibility.Principal, w store.MaintenanceWindow) (string, error) {
	switch {
	case w.AssetID != "":
		a, err := s.ownAsset(ctx, p, w.AssetID)
		return a.OUID, err
	case w.GroupID != "":
		o, err := s.st.Organization(ctx, p.OrgID)
		if err != nil {
			return "", fmt.Errorf("loading organization %s: %w", p.OrgID, err)
		}
		if !p.AdministersAll(o) {
			return "", problem.New(problem.Forbidden, "device groups span the organization: only admins of its top OU set their windows")
		}
		gs, err := s.st.DeviceGroups(ctx, p.OrgID)
		if err != nil {
			return "", fmt.Errorf("loading device groups of %s: %w", p.OrgID, err)
		}
		if !slices.ContainsFunc(gs, func(g store.DeviceGroup) bool { return g.ID == w.GroupID }) {
			return "", problem.Invalidf("invalid maintenance window: group_id: no device group %q in this organization", w.GroupID)
		}
		return "", nil
	default:
		ous, err := s.st.OUs(ctx, p.OrgID)
		if err != nil {
			return "", fmt.Errorf("loading OUs of %s: %w", p.OrgID, err)
		}
		if !visibility.Subtree(p.OrgID, p.OUID, ous)[w.OUID] {
			return "", problem.ErrNotFound
		}
		if !p.IsAdmin() {
			return "", problem.ErrAdminOnly
		}
		return w.OUID, nil
	}
}

// ownAsset returns an asset p administers: visible, of p's organization,
// and p an admin (of the asset's OU or above, as visibility implies).
func (s *Service) ownAsset(ctx context.Context, p visibility.Principal, id string) (store.Asset, error) {
	a, _, err := s.vis.Asset(ctx, p, id)
	if errors.Is(err, store.ErrNotFound) {
		return a, problem.ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("loading asset %s: %w", id, err)
	}
	if a.OrgID != p.OrgID {
		return a, problem.ErrReadOnly
	}
	if !p.IsAdmin() {
		return a, problem.ErrAdminOnly
	}
	return a, nil
}

// List returns the windows f selects that p may see, oldest first.
func (s *Service) List(ctx context.Context, p visibility.Principal, f Filter) ([]store.MaintenanceWindow, error) {
	if f.AssetID != "" {
		a, _, err := s.vis.Asset(ctx, p, f.AssetID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, problem.ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("loading asset %s: %w", f.AssetID, err)
		}
		sc, ws, err := s.load(ctx, a.OrgID)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(ws, func(w store.MaintenanceWindow) bool { return !sc.Covers(w, a) }), nil
	}
	ouID := cmpOr(f.OUID, p.OUID)
	sc, ws, err := s.load(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	if sc.OUs == nil { // no windows: load read no OUs
		if sc.OUs, err = s.st.OUs(ctx, p.OrgID); err != nil {
			return nil, fmt.Errorf("loading OUs of %s: %w", p.OrgID, err)
		}
	}
	mine := visibility.Subtree(p.OrgID, p.OUID, sc.OUs)
	if !mine[ouID] {
		return nil, problem.ErrNotFound
	}
	below := visibility.Subtree(p.OrgID, ouID, sc.OUs)
	assets, err := s.st.Assets(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading assets of %s: %w", p.OrgID, err)
	}
	assets = slices.DeleteFunc(assets, func(a store.Asset) bool { return !below[a.OUID] })
	// A window concerns the OU when it covers an asset of its subtree,
	// or is of an OU of the subtree (which may hold no asset yet).
	return slices.DeleteFunc(ws, func(w store.MaintenanceWindow) bool {
		return !below[w.OUID] && !slices.ContainsFunc(assets, func(a store.Asset) bool { return sc.Covers(w, a) })
	}), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// load reads an organization's windows and what they are matched against.
func (s *Service) load(ctx context.Context, orgID string) (Scope, []store.MaintenanceWindow, error) {
	sc := Scope{OrgID: orgID}
	ws, err := s.st.MaintenanceWindows(ctx, orgID)
	if err != nil || len(ws) == 0 {
		return sc, ws, err
	}
	if sc.OUs, err = s.st.OUs(ctx, orgID); err != nil {
		return sc, nil, fmt.Errorf("loading OUs of %s: %w", orgID, err)
	}
	if sc.Groups, err = s.st.DeviceGroups(ctx, orgID); err != nil {
		return sc, nil, fmt.Errorf("loading device groups of %s: %w", orgID, err)
	}
	return sc, ws, nil
}

// Matcher answers, for one organization, which window holds for an
// asset at a time; Windows builds it with one read of the store.
type Matcher struct {
	scope   Scope
	windows []store.MaintenanceWindow
}

// NewMatcher returns the Matcher of windows ws, matched against sc.
func NewMatcher(sc Scope, ws []store.MaintenanceWindow) Matcher {
	return Matcher{scope: sc, windows: ws}
}

// Windows returns the Matcher of an organization's windows, for the
// check-up runner and availability, which ask about many assets at once.
func (s *Service) Windows(ctx context.Context, orgID string) (Matcher, error) {
	return Load(ctx, s.st, orgID)
}

// Load is Windows without a Service: what the check-up runner needs,
// reading st only.
func Load(ctx context.Context, st Store, orgID string) (Matcher, error) {
	sc, ws, err := (&Service{st: st}).load(ctx, orgID)
	return Matcher{scope: sc, windows: ws}, err
}

// Active returns the window that holds for a at at, the oldest first.
func (m Matcher) Active(a store.Asset, at time.Time) (store.MaintenanceWindow, bool) {
	for _, w := range m.windows {
		if _, _, ok := Occurrence(w, at); ok && m.scope.Covers(w, a) {
			return w, true
		}
	}
	return store.MaintenanceWindow{}, false
}

// Planned returns the stretches of [from, to) that windows cover for a,
// merged and in time order: its planned downtime, should it be down.
func (m Matcher) Planned(a store.Asset, from, to time.Time) [][2]time.Time {
	var all [][2]time.Time
	for _, w := range m.windows {
		if m.scope.Covers(w, a) {
			all = append(all, Occurrences(w, from, to)...)
		}
	}
	slices.SortFunc(all, func(x, y [2]time.Time) int { return x[0].Compare(y[0]) })
	var out [][2]time.Time
	for _, iv := range all {
		if n := len(out); n > 0 && !iv[0].After(out[n-1][1]) {
			out[n-1][1] = maxTime(out[n-1][1], iv[1])
			continue
		}
		out = append(out, iv)
	}
	return out
}

// Active returns the window of orgID that holds for an asset at at.
func (s *Service) Active(ctx context.Context, orgID, assetID string, at time.Time) (store.MaintenanceWindow, bool, error) {
	a, err := s.st.Asset(ctx, assetID)
	if errors.Is(err, store.ErrNotFound) || err == nil && a.OrgID != orgID {
		return store.MaintenanceWindow{}, false, nil
	}
	if err != nil {
		return store.MaintenanceWindow{}, false, fmt.Errorf("loading asset %s: %w", assetID, err)
	}
	m, err := s.Windows(ctx, orgID)
	if err != nil {
		return store.MaintenanceWindow{}, false, err
	}
	w, ok := m.Active(a, at)
	return w, ok, nil
}

// Muted reports whether notifications about an asset are to be held back
// at at: a maintenance window of its organization holds for it. An
// unknown asset is not muted. This is the notification dispatcher's hook.
func (s *Service) Muted(ctx context.Context, orgID, assetID string, at time.Time) (bool, error) {
	_, ok, err := s.Active(ctx, orgID, assetID, at)
	return ok, err
}

func (s *Service) record(ctx context.Context, who audit.Actor, w store.MaintenanceWindow, ouID, action string) error {
	detail := map[string]any{"asset_id": w.AssetID, "ou_id": w.OUID, "group_id": w.GroupID, "name": w.Name,
		"recurrence": w.Recurrence, "timezone": w.TimeZone}
	err := s.rec.Record(ctx, who, audit.Entry{OrgID: w.OrgID, OUID: ouID, Action: action, TargetType: "maintenance_window",
		TargetID: w.ID, Detail: detail})
	if err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}
