// Package findings holds the rules of who may see and act on check-up
// findings and check-up rules: the organization's own admins set its
// rules and run its check-ups; findings of an asset show to its owner and
// its service partners, an agent's findings to the users of the agent's OU
// and above; only the owner's admins acknowledge. The check-up engine
// itself is package checkup's; who may see an asset is package
// visibility's answer. Failures a caller should read are *problem.Error;
// any other error is internal.
package findings

import (
	"context"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Store is what findings needs of the metadata store.
type Store interface {
	Organization(ctx context.Context, id string) (store.Organization, error)
	OrganizationsByIDs(ctx context.Context, ids []string) ([]store.Organization, error)
	OUs(ctx context.Context, orgID string) ([]store.OU, error)
	User(ctx context.Context, id string) (store.User, error)
	Asset(ctx context.Context, id string) (store.Asset, error)
	Assets(ctx context.Context, orgID string) ([]store.Asset, error)
	AssetsByIDs(ctx context.Context, ids []string) ([]store.Asset, error)
	Agents(ctx context.Context, orgID string) ([]store.Agent, error)

	CheckupRules(ctx context.Context, orgID string) (store.CheckupRules, error)
	PutCheckupRules(ctx context.Context, r store.CheckupRules) error
	Findings(ctx context.Context, f store.FindingFilter) ([]store.Finding, error)
	Finding(ctx context.Context, id string) (store.Finding, error)
	AckFinding(ctx context.Context, id, userID, note string, at time.Time) error
}

// Visibility is what a principal may see: everything (for lists) or one
// asset (visibility.Loader).
type Visibility interface {
	Set(ctx context.Context, p visibility.Principal) (visibility.Set, error)
	Asset(ctx context.Context, p visibility.Principal, assetID string) (store.Asset, visibility.Access, error)
}

// Checkups is the check-up engine (checkup.Runner).
type Checkups interface {
	// Rules returns an organization's rule set and whether it is its own.
	Rules(ctx context.Context, orgID string) (checkup.RuleSet, bool, error)
	// Evaluate runs an organization's check-ups now and returns the
	// findings it opened.
	Evaluate(ctx context.Context, orgID string) ([]store.Finding, error)
	// DefaultsYAML is the document of the server's default rules.
	DefaultsYAML() []byte
}

// Options are the dependencies of a Service besides its store and audit
// trail.
type Options struct {
	Visibility Visibility
	Checkups   Checkups
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Acknowledged is told of each finding acknowledged, after it is
	// stored (webhook.Dispatcher.FindingAcknowledged); may be nil.
	Acknowledged func(ctx context.Context, f store.Finding)
}

// Service applies the rules of findings and check-up rules on a store and
// records every change in the audit trail. It is safe for concurrent use.
type Service struct {
	st     Store
	rec    audit.Recorder
	vis    Visibility
	engine Checkups
	now    func() time.Time
	acked  func(ctx context.Context, f store.Finding)
}

// New returns a Service on st that records to rec.
func New(st Store, rec audit.Recorder, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: st, rec: rec, vis: o.Visibility, engine: o.Checkups, now: o.Now, acked: o.Acknowledged}
}

// Errors a caller may read, with the messages the API has always given.
var (
	// errFindingsClass answers a reseller that asks for the findings of
	// an asset it sees: it may know the asset, not its service data.
	errFindingsClass = problem.New(problem.Forbidden, "check-up findings are shown to the owner and service partners only")
	errAckOwnerOnly  = problem.New(problem.Forbidden,
		"only admins of the asset's own organization may acknowledge findings; partner access is read-only")
)

// OrgAdmin passes admins of p's organization at its top OU and returns the
// organization: check-up rules (and webhooks, and other users' report
// schedules) concern the whole organization, not one OU of it.
func (s *Service) OrgAdmin(ctx context.Context, p visibility.Principal) (store.Organization, error) {
	o, err := s.st.Organization(ctx, p.OrgID)
	if err != nil {
		return o, fmt.Errorf("loading organization %s: %w", p.OrgID, err)
	}
	if !p.AdministersAll(o) {
		return o, problem.ErrWholeOrgOnly
	}
	return o, nil
}

// record writes one audit event; a failure stops the caller, so nothing
// changes unrecorded without an error.
func (s *Service) record(ctx context.Context, who audit.Actor, orgID, action, targetType, targetID string, detail map[string]any) error {
	err := s.rec.Record(ctx, who, audit.Entry{OrgID: orgID, Action: action, TargetType: targetType, TargetID: targetID, Detail: detail})
	if err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}
