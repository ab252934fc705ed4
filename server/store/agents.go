package store

import (
	"context"
	"time"
)

// EnrollmentToken lets one agent enroll into an OU, once, before it expires.
type EnrollmentToken struct {
	TokenHash string
	OrgID     string
	OUID      string
	CreatedBy string // user id, or "cli"
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Agent is one enrolled kpilot-agent.
type Agent struct {
	ID         string
	OrgID      string
	OUID       string
	Name       string
	Hostname   string
	Version    string
	TokenHash  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// LastError is the latest problem with the agent's data, at LastErrorAt.
	LastError   string
	LastErrorAt time.Time
}

// Agents stores enrolled kpilot-agents, the single-use enrollment tokens
// that admit them (a token and the agent it made are one aggregate:
// enrolling consumes the one and creates the other atomically), and the
// ids of the batches they sent.
type Agents interface {
	// CreateEnrollmentToken stores t; t.OUID must be an OU of t.OrgID.
	CreateEnrollmentToken(ctx context.Context, t EnrollmentToken) error
	// EnrollAgent consumes an unexpired, unused enrollment token and stores
	// the agent in the token's OU, atomically: of two agents racing with the
	// same token exactly one succeeds. It sets a.ID, a.OrgID, a.OUID and
	// a.CreatedAt. An unknown, expired or used token is ErrNotFound; the
	// three are not told apart.
	EnrollAgent(ctx context.Context, tokenHash string, now time.Time, a *Agent) error
	// AgentByTokenHash returns the agent whose credential has this hash.
	AgentByTokenHash(ctx context.Context, hash string) (Agent, error)
	// Agents returns every agent of an organization, by name.
	Agents(ctx context.Context, orgID string) ([]Agent, error)
	// TouchAgent records that an agent was seen, running version (an empty
	// version keeps the stored one).
	TouchAgent(ctx context.Context, id, version string, seen time.Time) error
	// SetAgentError records the latest problem with an agent's data (a
	// refused point, say); an empty msg keeps the last one.
	SetAgentError(ctx context.Context, id, msg string, at time.Time) error

	// BatchSeen reports whether an agent's batch id was recorded as stored
	// (and not yet pruned, see Retention.Batches); a pending claim is not.
	BatchSeen(ctx context.Context, agentID, batchID string) (bool, error)
	// ClaimBatch takes an agent's batch id for one request (claimID names
	// it) until expires, before the batch is written, atomically: of
	// requests racing with the same id, on one server or several, exactly
	// one gets BatchClaimed. A claim past its expiry (its holder died) is
	// taken over. Otherwise it reports BatchStored or BatchPending.
	ClaimBatch(ctx context.Context, agentID, batchID, claimID string, now, expires time.Time) (BatchClaim, error)
	// RecordBatch marks a batch id stored, claimed or not; recording one
	// twice is harmless.
	RecordBatch(ctx context.Context, agentID, batchID string, at time.Time) error
	// ReleaseBatch drops the pending claim claimID of a batch id after its
	// write failed, so that the agent's retry can take it; a claim taken
	// over by another request, or a stored id, is kept.
	ReleaseBatch(ctx context.Context, agentID, batchID, claimID string) error
}

// BatchClaim is what ClaimBatch found of a batch id.
type BatchClaim string

// What ClaimBatch found.
const (
	BatchClaimed BatchClaim = "claimed" // the caller holds the claim and writes the batch
	BatchStored  BatchClaim = "stored"  // stored before: the request is a retry
	BatchPending BatchClaim = "pending" // another request holds an unexpired claim
)
