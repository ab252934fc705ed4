package webhook

import (
	"context"

	"github.com/kpilot/kpilot/server/store"
)

// PartnerLookup finds a partner organization by its public partner ID.
type PartnerLookup func(ctx context.Context, partnerID string) (store.Organization, error)

// SharingEvent passes a stored audit event, if it is a sharing event, on
// to the webhooks of the organizations involved: where it happened, the
// acting partner, and the partner it concerns (the target, or named in the
// detail by organization id or by partner ID, which lookup resolves). The
// API token an actor used stays out of the payload.
func (d *Dispatcher) SharingEvent(ctx context.Context, e store.AuditEvent, detail map[string]any, lookup PartnerLookup) {
	if !IsSharing(e.Action) {
		return
	}
	to := []string{e.OrgID, e.ActorOrgID}
	if e.TargetType == "partner" {
		to = append(to, e.TargetID)
	}
	if id, ok := detail["partner_org_id"].(string); ok {
		to = append(to, id)
	}
	if pid, ok := detail["partner_id"].(string); ok {
		if o, err := lookup(ctx, pid); err == nil {
			to = append(to, o.ID)
		}
	}
	data := map[string]any{}
	for k, v := range detail {
		if k != "api_token_id" {
			data[k] = v
		}
	}
	d.Sharing(ctx, to, SharingData{Action: e.Action, CustomerID: e.OrgID, ActorOrganizationID: e.ActorOrgID,
		TargetType: e.TargetType, TargetID: e.TargetID, Detail: data, At: e.At})
}
