// Package assets holds the rules by which a customer's admins edit, move
// and delete their assets (issue 31). Only admins of the asset's own
// organization at its OU or above may; partner access stays read-only,
// also for assets a partner created with an OU key (it asks the customer,
// whose asset it is). Failures a caller should read are *problem.Error;
// any other error is internal.
//
// Edit: the display name, the category, and the user's own location and
// notes. The agent's inventory sets
// manufacturer, product, serial and version at every poll, so those are
// shown, not edited; the name is never set by an agent after creation,
// and a category a user chose is pinned against the inventory's.
//
// Move: into another OU of the organization, by an admin of both OUs (an
// admin at or above each). The asset keeps its home OU, whose agents
// write it (store.Asset.HomeOUID), and its series id, so its agent keeps
// reporting and its history stays whole. Partners see assets through
// grants and channel assignments of the asset itself, never through an
// OU, so a move changes what the customer's users see and nothing of
// what partners see.
//
// Delete: refused while an agent still reports the asset (it would be
// created again at its next batch), with a message that names the agent
// and the target to remove; otherwise the asset's metadata goes in one
// transaction and its KPI series are dropped from InfluxDB where InfluxDB
// allows it.
package assets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// Store is what the rules need of the metadata store.
type Store interface {
	OUs(ctx context.Context, orgID string) ([]store.OU, error)
	Agents(ctx context.Context, orgID string) ([]store.Agent, error)
	EditAsset(ctx context.Context, orgID, id string, e store.AssetEdit) (store.Asset, error)
	MoveAsset(ctx context.Context, orgID, id, ouID string) (store.Asset, error)
	DeleteAsset(ctx context.Context, orgID, id string) error
	AssetOrigin(ctx context.Context, id string) (store.AssetOrigin, error)
	Inventory(ctx context.Context, assetID string) (collectedAt time.Time, doc []byte, err error)
}

// Series drops a deleted asset's KPI series (tsdb.Influx).
type Series interface {
	DropAssetSeries(ctx context.Context, ref tsdb.AssetRef) error
}

// AssetVisibility is the single-asset check of package visibility.
type AssetVisibility interface {
	Asset(ctx context.Context, p visibility.Principal, assetID string) (store.Asset, visibility.Access, error)
}

// Options are a Service's dependencies besides its store and audit trail.
type Options struct {
	Visibility AssetVisibility
	Series     Series
	// Categories are the categories a user may choose.
	Categories map[string]bool
	Now        func() time.Time // time.Now when nil
	Log        *slog.Logger
}

// Service applies the rules and records every change in the audit trail.
// It is safe for concurrent use.
type Service struct {
	st  Store
	rec audit.Recorder
	o   Options
}

// New returns a Service on st that records to rec.
func New(st Store, rec audit.Recorder, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, rec: rec, o: o}
}

// owned loads the asset id if p administers it: an admin of the asset's
// organization at its OU or above. An asset p does not see is not found.
func (s *Service) owned(ctx context.Context, p visibility.Principal, id string) (store.Asset, error) {
	as, acc, err := s.o.Visibility.Asset(ctx, p, id)
	if err != nil {
		return as, notFound(err, "asset "+id)
	}
	if acc.Class != visibility.Owner {
		return as, problem.ErrReadOnly
	}
	if !p.IsAdmin() {
		return as, problem.ErrAdminOnly
	}
	return as, nil
}

// notFound turns store.ErrNotFound into the caller's 404.
func notFound(err error, what string) error {
	if problem.KindOf(err) != 0 {
		return err
	}
	if errors.Is(err, store.ErrNotFound) {
		return problem.ErrNotFound
	}
	return fmt.Errorf("loading %s: %w", what, err)
}

// Change is a user's change of an asset (JSON as the API takes it); a
// field left out (null) stays as it is.
type Change struct {
	Name *string `json:"name"`
	// Category pins a category; "" gives the choice back to the agent's
	// inventory.
	Category *string `json:"category"`
	// Location says where the device is (one line, read by everyone who
	// sees the asset); Notes are for the owner's users. "" clears them.
	Location *string `json:"location"`
	Notes    *string `json:"notes"`
	// OUID moves the asset into another OU (see Service.Change).
	OUID *string `json:"ou_id"`
}

// Bounds of the user's own fields.
const (
	maxLocation = 200
	maxNotes    = 2000
)

// Change applies c to the asset id for p, an admin of it, and returns
// the asset as it is now. Every field is checked before anything
// changes. A move needs p to administer both the asset's OU and the new
// one (an admin at or above each); an OU p does not administer is
// answered like one that does not exist.
func (s *Service) Change(ctx context.Context, p visibility.Principal, who audit.Actor, id string, c Change) (store.Asset, error) {
	as, err := s.owned(ctx, p, id)
	if err != nil {
		return as, err
	}
	ch, detail, err := s.edit(as, c)
	if err != nil {
		return as, err
	}
	var ous []store.OU
	if c.OUID != nil {
		if ous, err = s.st.OUs(ctx, p.OrgID); err != nil {
			return as, fmt.Errorf("loading OUs of %s: %w", p.OrgID, err)
		}
		if !visibility.Subtree(p.OrgID, p.OUID, ous)[*c.OUID] {
			return as, problem.Newf(problem.NotFound, "ou_id: not an organization unit you administer")
		}
	}
	if ch.Name != nil || ch.Category != nil || ch.Location != nil || ch.Notes != nil {
		if as, err = s.st.EditAsset(ctx, as.OrgID, as.ID, ch); err != nil {
			return as, notFound(err, "asset "+id)
		}
		if err := s.record(ctx, who, as, as.OUID, "asset.edit", detail); err != nil {
			return as, err
		}
	}
	if c.OUID != nil && *c.OUID != as.OUID {
		return s.move(ctx, who, as, ous, *c.OUID)
	}
	return as, nil
}

// edit checks the name, category, location and notes of c and returns
// what changes of as, with the audit detail.
func (s *Service) edit(as store.Asset, c Change) (store.AssetEdit, map[string]any, error) {
	var ch store.AssetEdit
	detail := map[string]any{}
	if c.Name != nil {
		name, err := input.Name("name", *c.Name)
		if err != nil {
			return ch, nil, err
		}
		if name != as.Name {
			ch.Name, detail["name"] = &name, map[string]string{"before": as.Name, "after": name}
		}
	}
	if c.Category != nil {
		cat := strings.ToLower(strings.TrimSpace(*c.Category))
		if cat != "" && !s.o.Categories[cat] {
			return ch, nil, problem.Invalidf("category %q: one of server, storage, backup, network, power, printer, software, licence, or empty for the agent's", *c.Category)
		}
		// A change, or the same value pinned or given back.
		if cat != as.Category && cat != "" || (cat == "") == as.CategoryPinned {
			ch.Category, detail["category"] = &cat, map[string]string{"before": as.Category, "after": cat}
		}
	}
	if c.Location != nil {
		loc := strings.TrimSpace(*c.Location)
		if utf8.RuneCountInString(loc) > maxLocation || strings.ContainsAny(loc, "\x00\r\n") {
			return ch, nil, problem.Invalidf("location: at most %d characters on one line", maxLocation)
		}
		if loc != as.Location {
			ch.Location, detail["location"] = &loc, map[string]string{"before": as.Location, "after": loc}
		}
	}
	if c.Notes != nil {
		notes := strings.TrimSpace(strings.ReplaceAll(*c.Notes, "\r\n", "\n"))
		if utf8.RuneCountInString(notes) > maxNotes || strings.ContainsRune(notes, 0) {
			return ch, nil, problem.Invalidf("notes: at most %d characters", maxNotes)
		}
		if notes != as.Notes {
			ch.Notes, detail["notes"] = &notes, true // changed; the text stays out of the trail
		}
	}
	return ch, detail, nil
}

// Notes are an asset's notes as a principal with access acc reads them:
// the owner's users do; partners do not (nil).
func Notes(a store.Asset, acc visibility.Access) *string {
	if acc.Class != visibility.Owner {
		return nil
	}
	return &a.Notes
}

// record writes one audit event about asset as in the OU ouID.
func (s *Service) record(ctx context.Context, who audit.Actor, as store.Asset, ouID, action string, detail map[string]any) error {
	err := s.rec.Record(ctx, who, audit.Entry{OrgID: as.OrgID, OUID: ouID, Action: action, TargetType: "asset", TargetID: as.ID, Detail: detail})
	if err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}
