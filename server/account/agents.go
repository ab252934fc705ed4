package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// EnrollmentTokenMaxTTL is the longest lifetime an enrollment token may ask for.
const EnrollmentTokenMaxTTL = 7 * 24 * time.Hour

var errTokenUnusable = &problem.Error{Kind: problem.Unauthorized, Msg: "enrollment token is unknown, expired or already used", Err: ErrWrongSecret}

// MayEnroll says whether p may create enrollment tokens: admins of
// customer organizations. Agents are the customer's own; a partner sees
// the assets shared with it, never enrolls into a customer.
func MayEnroll(p visibility.Principal) error {
	if !p.IsAdmin() {
		return problem.New(problem.Forbidden, "only admins may create enrollment tokens")
	}
	if p.IsPartner() {
		return problem.ErrCustomerOnly
	}
	return nil
}

// EnrollmentToken is a new enrollment token and the secret that names it,
// shown once.
type EnrollmentToken struct {
	Token string
	store.EnrollmentToken
}

// CreateEnrollmentToken makes a single-use token that enrolls one agent
// into ouID (empty: p's own OU), an OU p administers. ttl is a Go duration
// from 1m to 7 days, or empty for the default.
func (s *Service) CreateEnrollmentToken(ctx context.Context, who audit.Actor, p visibility.Principal, ouID, ttl string) (EnrollmentToken, error) {
	if err := MayEnroll(p); err != nil {
		return EnrollmentToken{}, err
	}
	d := s.ttl.EnrollmentToken
	if ttl != "" {
		var ok bool
		if d, ok = parseTTL(ttl, time.Minute, EnrollmentTokenMaxTTL); !ok {
			return EnrollmentToken{}, problem.Invalidf("ttl %q: a duration from 1m to 168h", ttl)
		}
	}
	if ouID == "" {
		ouID = p.OUID
	}
	ous, err := s.st.OUs(ctx, p.OrgID)
	if err != nil {
		return EnrollmentToken{}, fmt.Errorf("loading OUs: %w", err)
	}
	if !visibility.Subtree(p.OrgID, p.OUID, ous)[ouID] {
		return EnrollmentToken{}, problem.ErrNotFound
	}
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	now := s.now()
	t := store.EnrollmentToken{TokenHash: hash, OrgID: p.OrgID, OUID: ouID, CreatedBy: p.UserID, CreatedAt: now, ExpiresAt: now.Add(d)}
	if err := s.st.CreateEnrollmentToken(ctx, t); err != nil {
		return EnrollmentToken{}, fmt.Errorf("creating enrollment token: %w", err)
	}
	if err := s.rec.Record(ctx, who, audit.Entry{OrgID: p.OrgID, OUID: ouID, Action: "enrollment_token.create", TargetType: "ou",
		TargetID: ouID, Detail: map[string]any{"expires_at": t.ExpiresAt.UTC()}}); err != nil {
		return EnrollmentToken{}, err
	}
	s.log.Info("enrollment token created", "org_id", p.OrgID, "ou_id", ouID, "by", p.UserID, "expires_at", t.ExpiresAt)
	return EnrollmentToken{Token: tok, EnrollmentToken: t}, nil
}

// Enrollment is what an agent sends to enroll.
type Enrollment struct {
	Token    string
	Name     string // empty: Hostname
	Hostname string
	Version  string
}

// Enroll trades a single-use enrollment token for an agent credential,
// returned once with the new agent.
func (s *Service) Enroll(ctx context.Context, req Enrollment) (store.Agent, string, error) {
	if !strings.HasPrefix(req.Token, auth.PrefixEnrollment) || len(req.Token) > 256 {
		return store.Agent{}, "", errTokenUnusable
	}
	for _, f := range []*string{&req.Name, &req.Hostname, &req.Version} {
		*f = truncate(strings.TrimSpace(*f), 200)
	}
	if req.Name == "" {
		req.Name = req.Hostname
	}
	cred, hash := auth.NewToken(auth.PrefixAgent)
	ag := store.Agent{Name: req.Name, Hostname: req.Hostname, Version: req.Version, TokenHash: hash}
	err := s.st.EnrollAgent(ctx, auth.Hash(req.Token), s.now(), &ag)
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, "", errTokenUnusable
	}
	if err != nil {
		return store.Agent{}, "", fmt.Errorf("enrolling agent: %w", err)
	}
	s.log.Info("agent enrolled", "agent_id", ag.ID, "org_id", ag.OrgID, "ou_id", ag.OUID, "name", ag.Name)
	return ag, cred, nil
}

// Agents lists the agents enrolled into p's OU or below it. Partners get
// ErrCustomerOnly: they see the assets shared with them, not the
// customer's agents.
func (s *Service) Agents(ctx context.Context, p visibility.Principal) ([]store.Agent, error) {
	if p.IsPartner() {
		return nil, problem.ErrCustomerOnly
	}
	ous, err := s.st.OUs(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading OUs: %w", err)
	}
	sub := visibility.Subtree(p.OrgID, p.OUID, ous)
	all, err := s.st.Agents(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("listing agents: %w", err)
	}
	var out []store.Agent
	for _, ag := range all {
		if sub[ag.OUID] {
			out = append(out, ag)
		}
	}
	return out, nil
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
