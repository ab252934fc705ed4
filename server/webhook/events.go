package webhook

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// FindingData is the "data" of a finding.opened event.
type FindingData struct {
	ID       string         `json:"id"`
	RuleID   string         `json:"rule_id"`
	Kind     string         `json:"kind"`
	Severity store.Severity `json:"severity"`
	Subject  string         `json:"subject"`
	Text     string         `json:"text"`
	Asset    *Ref           `json:"asset,omitempty"`
	Agent    *Ref           `json:"agent,omitempty"`
	Customer Ref            `json:"customer"`
	OpenedAt time.Time      `json:"opened_at"`
}

// Ref names an object.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// FindingsOpened publishes finding.opened for each finding: to the
// webhooks of the asset's organization and of the service partners that
// see the asset (the same rule as GET /api/v1/findings); an agent's
// finding to its organization only. Errors are logged: the findings are
// stored already and the next evaluation does not open them again, so a
// failed publish is reported, not retried.
func (d *Dispatcher) FindingsOpened(ctx context.Context, orgID string, fs []store.Finding) {
	if err := d.findingsOpened(ctx, orgID, fs); err != nil {
		d.log.Error("publishing new findings to webhooks", "org", orgID, "err", err)
	}
}

func (d *Dispatcher) findingsOpened(ctx context.Context, orgID string, fs []store.Finding) error {
	cust, err := d.store.Organization(ctx, orgID)
	if err != nil {
		return err
	}
	var service map[string]map[store.ChannelRole]string
	if cust.ChannelConsent {
		ch := visibility.Channel{Customer: cust}
		if ch.Partners, err = d.store.ChannelPartners(ctx, orgID); err != nil {
			return err
		}
		if ch.Assignments, err = d.store.ChannelAssignments(ctx, orgID); err != nil {
			return err
		}
		if ch.Groups, err = d.store.DeviceGroups(ctx, orgID); err != nil {
			return err
		}
		if ch.Assets, err = d.store.Assets(ctx, orgID); err != nil {
			return err
		}
		service = visibility.EffectivePartners(ch)
	}
	agents := map[string]string{}
	var errs []error
	for _, f := range fs {
		data := FindingData{ID: f.ID, RuleID: f.RuleID, Kind: f.Kind, Severity: f.Severity, Subject: f.Subject, Text: f.Text,
			Customer: Ref{ID: cust.ID, Name: cust.Name}, OpenedAt: f.OpenedAt}
		to := []string{orgID}
		if f.AssetID != "" {
			as, err := d.store.Asset(ctx, f.AssetID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			data.Asset = &Ref{ID: as.ID, Name: as.Name}
			if p := service[as.ID][store.RoleService]; p != "" && !slices.Contains(to, p) {
				to = append(to, p)
			}
		}
		if f.AgentID != "" {
			if len(agents) == 0 {
				ags, err := d.store.Agents(ctx, orgID)
				if err != nil {
					return err
				}
				for _, ag := range ags {
					agents[ag.ID] = ag.Name
				}
			}
			data.Agent = &Ref{ID: f.AgentID, Name: agents[f.AgentID]}
		}
		if err := d.Publish(ctx, to, EventFindingOpened, data); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SharingData is the "data" of a sharing event.
type SharingData struct {
	Action              string         `json:"action"`
	CustomerID          string         `json:"organization_id"` // where the change happened
	ActorOrganizationID string         `json:"actor_organization_id,omitempty"`
	TargetType          string         `json:"target_type"`
	TargetID            string         `json:"target_id"`
	Detail              map[string]any `json:"detail,omitempty"`
	At                  time.Time      `json:"at"`
}

// IsSharing reports whether an audit action is a sharing event.
func IsSharing(action string) bool { return slices.Contains(SharingActions, action) }

// Sharing publishes "sharing.<action>" to the organizations involved.
func (d *Dispatcher) Sharing(ctx context.Context, orgIDs []string, data SharingData) {
	var to []string
	for _, id := range orgIDs {
		if id != "" && !slices.Contains(to, id) {
			to = append(to, id)
		}
	}
	if err := d.Publish(ctx, to, SharingPrefix+data.Action, data); err != nil {
		d.log.Error("publishing a sharing event to webhooks", "action", data.Action, "err", err)
	}
}
