package store

import "context"

// ChannelSetup is one customer's whole channel set-up, as a partner's
// visibility needs it.
type ChannelSetup struct {
	Partners    []ChannelPartner
	Assignments []ChannelAssignment
	Groups      []DeviceGroup
	Assets      []Asset
}

// ChannelSetups loads many customers' channel set-ups at once, for a
// partner's list pages over hundreds of customers.
type ChannelSetups interface {
	// ChannelSetups returns the set-up of each of customerIDs with a few
	// queries for all of them (not a few per customer), by customer id;
	// each list is ordered as ChannelPartners, ChannelAssignments,
	// DeviceGroups and Assets order theirs. A customer without anything
	// has no entry.
	ChannelSetups(ctx context.Context, customerIDs []string) (map[string]ChannelSetup, error)
}
