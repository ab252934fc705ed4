package webhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// FindingData is the "data" of a finding event (finding.*, asset.down,
// asset.up, agent.silent).
type FindingData struct {
	ID         string         `json:"id"`
	RuleID     string         `json:"rule_id"`
	Kind       string         `json:"kind"`
	Severity   store.Severity `json:"severity"`
	Subject    string         `json:"subject"`
	Text       string         `json:"text"`
	Asset      *Ref           `json:"asset,omitempty"`
	Agent      *Ref           `json:"agent,omitempty"`
	OUID       string         `json:"ou_id,omitempty"` // the asset's or agent's organization unit
	Customer   Ref            `json:"customer"`
	OpenedAt   time.Time      `json:"opened_at"`
	ResolvedAt *time.Time     `json:"resolved_at,omitempty"`
	// Acknowledged is when and with what note, not by whom: partners
	// receive it too, and they see no one's name.
	Acknowledged *AckData `json:"acknowledged,omitempty"`
	// SuppressedBy is the id of the parent asset's finding that
	// suppressed this one (a device behind a dead switch); Maintenance
	// the maintenance window it opened in. Receivers that page people
	// skip both.
	SuppressedBy string `json:"suppressed_by,omitempty"`
	Maintenance  string `json:"maintenance_window_id,omitempty"`
}

// AckData is a finding's acknowledgement.
type AckData struct {
	At   time.Time `json:"at"`
	Note string    `json:"note"`
}

// Ref names an object.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// findingEvent is one event about one finding.
type findingEvent struct {
	event   string
	finding store.Finding
	key     string // the dedupe key; event and finding id when empty
}

// dedupeKey makes each event of a finding one delivery per channel and
// recipient, whichever replica queues it; an acknowledgement is one per
// acknowledgement (a new note is told again).
func (e findingEvent) dedupeKey() string {
	switch {
	case e.key != "":
		return e.key
	case e.event == EventFindingAcknowledged:
		return e.event + ":" + e.finding.ID + ":" + e.finding.AckedAt.UTC().Format(time.RFC3339Nano)
	}
	return e.event + ":" + e.finding.ID
}

// eventsOf lists the events of what one evaluation changed: every
// opened finding is finding.opened, every resolved one finding.resolved;
// an unreachable finding is also asset.down when it opens and asset.up
// when it is resolved, and an agent_silent finding agent.silent when it
// opens.
func eventsOf(changed store.Reconciled) []findingEvent {
	var out []findingEvent
	for _, f := range changed.Opened {
		out = append(out, findingEvent{event: EventFindingOpened, finding: f})
		switch f.Kind {
		case kindUnreachable:
			out = append(out, findingEvent{event: EventAssetDown, finding: f})
		case kindAgentSilent:
			out = append(out, findingEvent{event: EventAgentSilent, finding: f})
		}
	}
	for _, f := range changed.Resolved {
		out = append(out, findingEvent{event: EventFindingResolved, finding: f})
		if f.Kind == kindUnreachable {
			out = append(out, findingEvent{event: EventAssetUp, finding: f})
		}
	}
	return out
}

// The check-up kinds whose findings are also events of their own
// (checkup.Unreachable, checkup.AgentSilent; package checkup is not
// imported, it imports nothing of webhooks).
const (
	kindUnreachable = "unreachable"
	kindAgentSilent = "agent_silent"
)

// FindingsChanged publishes the events of what one check-up evaluation
// changed (eventsOf): to the webhooks of the asset's organization and of
// the service partners that see the asset (the same rule as GET
// /api/v1/findings); an agent's finding to its organization only. Errors
// are logged: the findings are stored already and the next evaluation
// does not change them again, so a failed publish is reported, not
// retried.
func (d *Dispatcher) FindingsChanged(ctx context.Context, orgID string, changed store.Reconciled) {
	if err := d.publishFindings(ctx, orgID, eventsOf(changed)); err != nil {
		d.log.Error("publishing finding events to webhooks", "org", orgID, "err", err)
	}
}

// FindingAcknowledged publishes finding.acknowledged for a finding just
// acknowledged (AckedAt and AckNote set), to the same receivers.
func (d *Dispatcher) FindingAcknowledged(ctx context.Context, f store.Finding) {
	if err := d.publishFindings(ctx, f.OrgID, []findingEvent{{event: EventFindingAcknowledged, finding: f}}); err != nil {
		d.log.Error("publishing an acknowledged finding to webhooks", "org", f.OrgID, "finding", f.ID, "err", err)
	}
}

func (d *Dispatcher) publishFindings(ctx context.Context, orgID string, events []findingEvent) error {
	if len(events) == 0 {
		return nil
	}
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
	var ous []store.OU
	var errs []error
	for _, e := range events {
		f := e.finding
		data := FindingData{ID: f.ID, RuleID: f.RuleID, Kind: f.Kind, Severity: f.Severity, Subject: f.Subject, Text: f.Text,
			OUID: f.OUID, Customer: Ref{ID: cust.ID, Name: cust.Name}, OpenedAt: f.OpenedAt, SuppressedBy: f.SuppressedBy, Maintenance: f.MaintenanceID}
		if !f.ResolvedAt.IsZero() {
			data.ResolvedAt = &f.ResolvedAt
		}
		if !f.AckedAt.IsZero() {
			data.Acknowledged = &AckData{At: f.AckedAt, Note: f.AckNote}
		}
		m := &findingMeta{finding: f, key: e.dedupeKey()}
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
			m.category = as.Category
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
		if ous == nil {
			if ous, err = d.store.OUs(ctx, orgID); err != nil {
				return err
			}
		}
		m.ous = ous
		if err := d.mutes(ctx, e.event, m); err != nil {
			return err
		}
		if opening(e.event) && m.mutedNow {
			continue
		}
		if err := d.publish(ctx, to, e.event, data, m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mutes fills in what the Muter says of m's finding, and for a closing
// event the channels told of its opening.
func (d *Dispatcher) mutes(ctx context.Context, event string, m *findingMeta) error {
	f := m.finding
	if d.opts.Muter != nil && f.AssetID != "" && (opening(event) || closing(event)) {
		var err error
		if m.mutedNow, err = d.opts.Muter.Muted(ctx, f.OrgID, f.AssetID, d.now()); err != nil {
			return fmt.Errorf("asking whether asset %s is muted: %w", f.AssetID, err)
		}
		if closing(event) {
			if m.mutedAtOpen, err = d.opts.Muter.Muted(ctx, f.OrgID, f.AssetID, f.OpenedAt); err != nil {
				return fmt.Errorf("asking whether asset %s was muted: %w", f.AssetID, err)
			}
		}
	}
	if !closing(event) {
		return nil
	}
	told, err := d.store.FindingDeliveries(ctx, f.ID)
	if err != nil {
		return err
	}
	m.notified = map[string]bool{}
	for _, v := range told {
		if opening(v.Event) && v.State != store.DeliverySuppressed {
			m.notified[v.WebhookID] = true
		}
	}
	return nil
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
