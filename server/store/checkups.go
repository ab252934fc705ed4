package store

import (
	"context"
	"time"
)

// Severity of a check-up finding.
type Severity string

// Severities, from least to most urgent.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info 1, warning 2, critical 3, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// FindingResult is what one check-up rule says about one subject (a
// volume, a backup job, a firmware attribute) of one asset or agent now.
type FindingResult struct {
	RuleID   string
	Kind     string
	AssetID  string // empty for an agent's finding
	AgentID  string // set for an agent's finding
	OUID     string // the asset's or agent's OU
	Subject  string // what of the asset; empty when the asset as a whole
	Severity Severity
	Text     string
	// ParentKey is the Key of the result of the asset's parent (the
	// switch it sits behind) that suppresses this one: the finding is
	// opened with SuppressedBy set to the parent's finding. Not stored.
	ParentKey string
	// MaintenanceID is the maintenance window the asset is in now;
	// stored when the finding opens, and kept while it stays open.
	MaintenanceID string
}

// Key identifies a finding across evaluations.
func (r FindingResult) Key() string {
	return r.RuleID + "\x00" + r.AssetID + "\x00" + r.AgentID + "\x00" + r.Subject
}

// Finding is a FindingResult with its history: opened when a rule first
// said it, refreshed while it keeps saying it, resolved when it stops.
// A finding that comes back after it was resolved is a new finding.
type Finding struct {
	ID    string
	OrgID string // the organization the asset or agent belongs to
	FindingResult
	OpenedAt   time.Time
	LastSeenAt time.Time
	ResolvedAt time.Time // zero while open
	AckedAt    time.Time // zero until acknowledged
	AckedBy    string    // user id
	AckNote    string
	// SuppressedBy is the id of the parent asset's finding that
	// suppressed this one when it opened (a device unreachable behind an
	// unreachable switch): notifications skip it. Empty otherwise.
	SuppressedBy string
}

// Open reports whether the finding still holds.
func (f Finding) Open() bool { return f.ResolvedAt.IsZero() }

// FindingFilter selects findings; OrgID is required.
type FindingFilter struct {
	OrgID    string
	AssetIDs []string // only these assets (nil: any; agent findings only with Agents)
	Agents   bool     // include agent findings
	Open     *bool    // nil: open and resolved
	Since    time.Time
	Limit    int
}

// FindingCount is how many open findings of one severity an asset has.
type FindingCount struct {
	OrgID    string
	AssetID  string
	Severity Severity
	Count    int
}

// CheckupRules is an organization's own check-up rule set.
type CheckupRules struct {
	OrgID     string
	Doc       []byte // the YAML document as the user sent it
	UpdatedBy string
	UpdatedAt time.Time
}

// SuppressionHandover is how long after its parent's finding resolved a
// suppressed finding that still holds is replaced by an unsuppressed one
// (ReconcileFindings): the default unreachable grace, so that devices
// behind a switch that came back have time to answer again.
const SuppressionHandover = 5 * time.Minute

// Reconciled is what one evaluation changed: the findings it opened and
// the findings it resolved (with ResolvedAt set).
type Reconciled struct {
	Opened, Resolved []Finding
}

// Checkups stores each organization's own check-up rules and the findings
// its evaluations open, refresh and resolve.
type Checkups interface {
	// CheckupRules returns an organization's own rules, ErrNotFound when
	// it has none (the server's defaults apply).
	CheckupRules(ctx context.Context, orgID string) (CheckupRules, error)
	// PutCheckupRules replaces them; a nil Doc deletes them.
	PutCheckupRules(ctx context.Context, r CheckupRules) error
	// ReconcileFindings records one evaluation of an organization, in one
	// transaction: results is everything its rules say now. A result
	// without an open finding opens one; an open finding is refreshed
	// (severity, text, OU, last seen); an open finding no result names is
	// resolved. Of results with the same Key the first counts. A result
	// with a ParentKey opens its finding with SuppressedBy set to the
	// open finding of that key, or is held back (not opened) while there
	// is none; a MaintenanceID is stored on opening. A
	// suppressed finding whose result no longer names a parent is
	// resolved and opened anew, unsuppressed, once its parent's finding
	// has been resolved for SuppressionHandover. It returns
	// the findings it opened and those it resolved. Concurrent
	// evaluations of one organization (two replicas) open a finding once
	// and resolve it once: each change is returned by one call only, so
	// what is told of it is told once.
	ReconcileFindings(ctx context.Context, orgID string, results []FindingResult, now time.Time) (Reconciled, error)
	// Findings returns the findings f selects, the newest opened first.
	Findings(ctx context.Context, f FindingFilter) ([]Finding, error)
	// OpenFindingCounts counts the open findings of the assets of the
	// organizations orgIDs per asset and severity, in one query, for
	// overviews of many assets; agents' findings are not counted. The
	// caller keeps the counts of the assets it may see.
	OpenFindingCounts(ctx context.Context, orgIDs []string) ([]FindingCount, error)
	// Finding returns a finding by id, open or resolved.
	Finding(ctx context.Context, id string) (Finding, error)
	// AckFinding acknowledges a finding (again: the newest note wins).
	AckFinding(ctx context.Context, id, userID, note string, at time.Time) error
}
