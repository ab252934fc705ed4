package findings

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// View is a finding as one caller may see it: the API's answer, which
// encodes it as it is.
type View struct {
	ID       string         `json:"id"`
	RuleID   string         `json:"rule_id"`
	Kind     string         `json:"kind"`
	Severity store.Severity `json:"severity"`
	Subject  string         `json:"subject"`
	Text     string         `json:"text"`
	State    string         `json:"state"`           // open or resolved
	Asset    *Ref           `json:"asset,omitempty"` // nil for an agent's finding
	Agent    *Ref           `json:"agent,omitempty"` // nil for an asset's finding
	// Customer names the finding's organization when it is not the
	// caller's.
	Customer *Ref `json:"customer,omitempty"`
	// OUID is the asset's or agent's OU, for the caller's own
	// organization only: a partner is not told the customer's OUs.
	OUID         string     `json:"ou_id,omitempty"`
	OpenedAt     time.Time  `json:"opened_at"`
	LastSeenAt   time.Time  `json:"last_seen_at"`
	ResolvedAt   *time.Time `json:"resolved_at"`  // in UTC; nil while open
	Acknowledged *Ack       `json:"acknowledged"` // nil until acknowledged
	// SuppressedBy is the parent asset's finding that suppressed this
	// one; MaintenanceID the maintenance window it opened in. A notifier
	// tells of neither.
	SuppressedBy  string `json:"suppressed_by,omitempty"`
	MaintenanceID string `json:"maintenance_window_id,omitempty"`
}

// Ref names an asset, agent or organization.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Ack is the acknowledgement of a finding.
type Ack struct {
	At time.Time `json:"at"`
	// By is the email of the user who acknowledged, for the finding's own
	// organization only: a partner sees the note, not who wrote it.
	By   string `json:"by,omitempty"`
	Note string `json:"note"`
}

// render turns findings into what p may see of them; names maps
// organization ids to names (for findings of other organizations). Asset,
// agent and user names are loaded once each.
func (s *Service) render(ctx context.Context, p visibility.Principal, fs []store.Finding, names map[string]string) ([]View, error) {
	assetNames, agentNames, emails := map[string]string{}, map[string]string{}, map[string]string{}
	agentsOf := map[string]bool{} // organizations whose agents are loaded
	out := make([]View, 0, len(fs))
	for _, f := range fs {
		v := View{ID: f.ID, RuleID: f.RuleID, Kind: f.Kind, Severity: f.Severity, Subject: f.Subject, Text: f.Text,
			State: "open", OpenedAt: f.OpenedAt, LastSeenAt: f.LastSeenAt,
			SuppressedBy: f.SuppressedBy, MaintenanceID: f.MaintenanceID}
		if !f.ResolvedAt.IsZero() {
			at := f.ResolvedAt.UTC()
			v.ResolvedAt = &at
		}
		if !f.Open() {
			v.State = "resolved"
		}
		if f.OrgID != p.OrgID {
			v.Customer = &Ref{ID: f.OrgID, Name: names[f.OrgID]}
		} else {
			v.OUID = f.OUID
		}
		if f.AssetID != "" {
			name, ok := assetNames[f.AssetID]
			if !ok {
				as, err := s.st.Asset(ctx, f.AssetID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return nil, fmt.Errorf("loading asset %s: %w", f.AssetID, err)
				}
				name, assetNames[f.AssetID] = as.Name, as.Name
			}
			v.Asset = &Ref{ID: f.AssetID, Name: name}
		}
		if f.AgentID != "" {
			if !agentsOf[f.OrgID] {
				ags, err := s.st.Agents(ctx, f.OrgID)
				if err != nil {
					return nil, fmt.Errorf("loading agents of %s: %w", f.OrgID, err)
				}
				for _, ag := range ags {
					agentNames[ag.ID] = ag.Name
				}
				agentsOf[f.OrgID] = true
			}
			v.Agent = &Ref{ID: f.AgentID, Name: agentNames[f.AgentID]}
		}
		if !f.AckedAt.IsZero() {
			v.Acknowledged = &Ack{At: f.AckedAt, Note: f.AckNote}
			if f.OrgID == p.OrgID {
				email, ok := emails[f.AckedBy]
				if !ok {
					if u, err := s.st.User(ctx, f.AckedBy); err == nil {
						email = u.Email
					}
					emails[f.AckedBy] = email
				}
				v.Acknowledged.By = email
			}
		}
		out = append(out, v)
	}
	return out, nil
}
