// Package store is the server's relational metadata: organizations, the OU
// tree, users and their memberships, sessions, agents, enrollment tokens,
// assets and their inventory, partner access, check-up findings, webhooks
// and report schedules. Every row belongs to a tenant (an organization);
// the query layer filters by the caller's visible set (package visibility)
// before it calls the store.
//
// The store is cut into one interface per aggregate (Organizations,
// Accounts, Sessions, Audit, RateLimits, FailureCounts, Keys, Channel, Agents, Assets,
// Checkups, Webhooks, ReportSchedules, Pruner, Leases, KPIDefinitions),
// each in the file named like the sqlstore file that implements it. A part of the server takes
// only the aggregates it uses; Store is all of them, for the wiring.
//
// Implementations (sqlstore on SQLite and PostgreSQL) keep nothing in
// memory that matters for correctness, so any server replica can answer
// any request.
package store

import "errors"

// Errors callers branch on. Methods wrap them with context: test with
// errors.Is.
var (
	// ErrNotFound: the row looked up or changed does not exist, or is not
	// the organization's the call names. The two are not told apart, so a
	// caller cannot learn of another tenant's rows by guessing ids.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a row with the same unique value (an email, a partner
	// id, a membership) exists already.
	ErrConflict = errors.New("already exists")
	// ErrOutsideOU: an agent reported an asset that exists in an OU other
	// than the one the agent was enrolled into.
	ErrOutsideOU = errors.New("asset belongs to an organization unit outside the agent's")
	// ErrNotEmpty: an OU still holds child OUs, assets, agents or users.
	ErrNotEmpty = errors.New("not empty")
	// ErrInvalid: the change would break the model (a cycle in the OU
	// tree, a second default partner, removing a default partner).
	ErrInvalid = errors.New("not allowed")
)

// Store is the whole metadata store: every aggregate, and Close. The
// server opens one Store and hands each part the aggregates it uses.
//
// Implementations are safe for concurrent use, also by several server
// replicas on one database. A method that says "in one transaction"
// changes all or nothing. Times are kept to the millisecond and come back
// in UTC; the zero time stands for "never" or "not yet".
type Store interface {
	Organizations
	Accounts
	Sessions
	Audit
	RateLimits
	FailureCounts
	Keys
	Channel
	ChannelSetups
	Agents
	Assets
	Checkups
	Webhooks
	Notifications
	ReportSchedules
	Pruner
	Leases
	KPIDefinitions
	Maintenance
	AssetEdits

	// Close releases the database; the Store must not be used after.
	Close() error
}
