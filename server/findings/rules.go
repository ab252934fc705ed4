package findings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Rules is the check-up rule set that applies to an organization.
type Rules struct {
	// Own is true for the organization's own rules, false for the
	// server's defaults.
	Own bool
	// UpdatedAt and UpdatedBy (an email) say who set the own rules, when
	// known.
	UpdatedAt time.Time
	UpdatedBy string
	Rules     []checkup.Rule
}

// stored returns the organization's own rule document; ok is false when
// it has none.
func (s *Service) stored(ctx context.Context, orgID string) (store.CheckupRules, bool, error) {
	own, err := s.st.CheckupRules(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return own, false, nil
	}
	if err != nil {
		return own, false, fmt.Errorf("loading check-up rules of %s: %w", orgID, err)
	}
	return own, true, nil
}

// Rules returns the rules that apply to p's organization. Every user may
// read them.
func (s *Service) Rules(ctx context.Context, p visibility.Principal) (Rules, error) {
	own, _, err := s.stored(ctx, p.OrgID)
	if err != nil {
		return Rules{}, err
	}
	rs, mine, err := s.engine.Rules(ctx, p.OrgID)
	if err != nil {
		return Rules{}, fmt.Errorf("check-up rules of %s: %w", p.OrgID, err)
	}
	out := Rules{Own: mine, Rules: rs.Rules}
	if mine {
		out.UpdatedAt = own.UpdatedAt
		if u, err := s.st.User(ctx, own.UpdatedBy); err == nil {
			out.UpdatedBy = u.Email
		}
	}
	return out, nil
}

// RulesDoc returns the YAML document of the rules that apply to p's
// organization: its own as it was sent (comments kept), else the server's.
func (s *Service) RulesDoc(ctx context.Context, p visibility.Principal) ([]byte, error) {
	own, ok, err := s.stored(ctx, p.OrgID)
	if err != nil || ok {
		return own.Doc, err
	}
	return s.engine.DefaultsYAML(), nil
}

// PutRules replaces the organization's rules with the YAML (or JSON)
// document doc. Only admins of the whole organization may; scopes may name
// only the organization's own OUs and assets. The answer's UpdatedBy is
// empty: the caller set them.
func (s *Service) PutRules(ctx context.Context, p visibility.Principal, who audit.Actor, doc []byte) (Rules, error) {
	o, err := s.OrgAdmin(ctx, p)
	if err != nil {
		return Rules{}, err
	}
	rs, err := checkup.Parse(doc)
	if err != nil {
		return Rules{}, problem.Invalidf("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if err := s.checkScopes(ctx, o.ID, rs); err != nil {
		return Rules{}, err
	}
	now := s.now()
	if err := s.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: o.ID, Doc: doc, UpdatedBy: p.UserID, UpdatedAt: now}); err != nil {
		return Rules{}, fmt.Errorf("storing check-up rules of %s: %w", o.ID, err)
	}
	if err := s.record(ctx, who, o.ID, "checkup_rules.update", "organization", o.ID, map[string]any{"rules": len(rs.Rules)}); err != nil {
		return Rules{}, err
	}
	return Rules{Own: true, UpdatedAt: now, Rules: rs.Rules}, nil
}

// checkScopes refuses rules whose scope names an OU or asset that is not
// the organization's: rules must not reach into another tenant, nor
// reveal which ids exist there (every unknown id gets the same message).
func (s *Service) checkScopes(ctx context.Context, orgID string, rs checkup.RuleSet) error {
	ous, err := s.st.OUs(ctx, orgID)
	if err != nil {
		return fmt.Errorf("loading OUs of %s: %w", orgID, err)
	}
	assets, err := s.st.Assets(ctx, orgID)
	if err != nil {
		return fmt.Errorf("loading assets of %s: %w", orgID, err)
	}
	var bad []string
	for _, rule := range rs.Rules {
		for _, id := range rule.Assets.OUs {
			if !slices.ContainsFunc(ous, func(u store.OU) bool { return u.ID == id }) {
				bad = append(bad, "rule "+rule.ID+": OU "+strconv.Quote(id)+" is not one of this organization's")
			}
		}
		for _, id := range append(slices.Clone(rule.Assets.IDs), rule.Assets.Exclude...) {
			if !slices.ContainsFunc(assets, func(as store.Asset) bool { return as.ID == id }) {
				bad = append(bad, "rule "+rule.ID+": asset "+strconv.Quote(id)+" is not one of this organization's")
			}
		}
	}
	if len(bad) > 0 {
		return problem.Invalidf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// ResetRules returns the organization to the server's default rules.
// Only admins of the whole organization may.
func (s *Service) ResetRules(ctx context.Context, p visibility.Principal, who audit.Actor) error {
	o, err := s.OrgAdmin(ctx, p)
	if err != nil {
		return err
	}
	if err := s.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: o.ID}); err != nil {
		return fmt.Errorf("deleting check-up rules of %s: %w", o.ID, err)
	}
	return s.record(ctx, who, o.ID, "checkup_rules.reset", "organization", o.ID, nil)
}

// Run evaluates the organization's check-ups now instead of at the next
// scheduled run and returns the findings it opened. Only admins of the
// whole organization may. When InfluxDB (or the stored rules) fail, the
// caller is told to retry later.
func (s *Service) Run(ctx context.Context, p visibility.Principal) ([]View, error) {
	o, err := s.OrgAdmin(ctx, p)
	if err != nil {
		return nil, err
	}
	opened, err := s.engine.Evaluate(ctx, o.ID)
	if err != nil {
		return nil, &problem.Error{Kind: problem.Unavailable, Msg: "evaluating check-ups (InfluxDB or the rules) is unavailable; retry later",
			Err: err, RetryAfter: 10 * time.Second}
	}
	return s.render(ctx, p, opened, map[string]string{o.ID: o.Name})
}
