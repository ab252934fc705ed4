package store

import (
	"context"
	"time"
)

// KPIDefinition is one KPI definition an agent sent for its organization:
// the meaning of a field its user's own profiles or templates produce.
// The store keeps it as it is given; package kpis validates it before and
// reads it after.
type KPIDefinition struct {
	Measurement string
	// Field is "" for the measurement's own name and description.
	Field string
	// Definition is the definition in JSON.
	Definition []byte
	AgentID    string
	UpdatedAt  time.Time
}

// KPIDefinitions keeps the KPI definitions each organization's agents
// sent. An agent's set is replaced as a whole when it sends again, so a
// definition removed from a profile goes away with the next send.
type KPIDefinitions interface {
	// ReplaceAgentKPIDefinitions replaces every definition agentID of
	// orgID sent before with defs (none removes them), stamped now, in one
	// transaction. When the organization would then hold more than max
	// distinct measurement fields (the measurement rows, Field "", are not
	// counted), it changes nothing and is ErrInvalid.
	ReplaceAgentKPIDefinitions(ctx context.Context, orgID, agentID string, defs []KPIDefinition, now time.Time, max int) error
	// KPIDefinitions returns every definition of orgID's agents, by
	// measurement and field, the newest first where several agents sent
	// one.
	KPIDefinitions(ctx context.Context, orgID string) ([]KPIDefinition, error)
}
