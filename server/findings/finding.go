package findings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// visible loads the finding id if p may see it: its asset at service
// class or more, or its agent in p's own OU subtree (as owner). Anything
// else is not found, like a finding that does not exist.
func (s *Service) visible(ctx context.Context, p visibility.Principal, id string) (store.Finding, visibility.Class, error) {
	f, err := s.st.Finding(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return f, visibility.None, problem.ErrNotFound
	}
	if err != nil {
		return f, visibility.None, fmt.Errorf("loading finding %s: %w", id, err)
	}
	if f.AgentID != "" {
		if f.OrgID != p.OrgID {
			return store.Finding{}, visibility.None, problem.ErrNotFound
		}
		ous, err := s.st.OUs(ctx, p.OrgID)
		if err != nil {
			return store.Finding{}, visibility.None, fmt.Errorf("loading OUs of %s: %w", p.OrgID, err)
		}
		if !visibility.Subtree(p.OrgID, p.OUID, ous)[f.OUID] {
			return store.Finding{}, visibility.None, problem.ErrNotFound
		}
		return f, visibility.Owner, nil
	}
	_, acc, err := s.vis.Asset(ctx, p, f.AssetID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Finding{}, visibility.None, problem.ErrNotFound
	}
	if err != nil {
		return store.Finding{}, visibility.None, fmt.Errorf("checking asset %s: %w", f.AssetID, err)
	}
	if !acc.SeesFindings() {
		return store.Finding{}, visibility.None, problem.ErrNotFound
	}
	return f, acc.Class, nil
}

// Get returns the finding id if p may see it.
func (s *Service) Get(ctx context.Context, p visibility.Principal, id string) (View, error) {
	f, _, err := s.visible(ctx, p, id)
	if err != nil {
		return View{}, err
	}
	names := map[string]string{}
	if f.OrgID != p.OrgID {
		o, err := s.st.Organization(ctx, f.OrgID)
		if err != nil {
			return View{}, fmt.Errorf("loading organization %s: %w", f.OrgID, err)
		}
		names[o.ID] = o.Name
	}
	vs, err := s.render(ctx, p, []store.Finding{f}, names)
	if err != nil {
		return View{}, err
	}
	return vs[0], nil
}

// MayAcknowledge checks that p may acknowledge the finding id: only admins
// of the asset's (or agent's) own organization may; partner access is
// read-only, always. Acknowledge checks it again; the HTTP layer asks
// first, before it reads the note, so a caller without access is told so
// whatever it sent.
func (s *Service) MayAcknowledge(ctx context.Context, p visibility.Principal, id string) error {
	_, err := s.acknowledgeable(ctx, p, id)
	return err
}

func (s *Service) acknowledgeable(ctx context.Context, p visibility.Principal, id string) (store.Finding, error) {
	f, c, err := s.visible(ctx, p, id)
	if err != nil {
		return f, err
	}
	if c != visibility.Owner || !p.IsAdmin() {
		return f, errAckOwnerOnly
	}
	return f, nil
}

// maxNote is the longest acknowledgement note, in bytes.
const maxNote = 1000

// Acknowledge acknowledges the finding id with a note (again: the newest
// note wins) and returns it as p now sees it.
func (s *Service) Acknowledge(ctx context.Context, p visibility.Principal, who audit.Actor, id, note string) (View, error) {
	f, err := s.acknowledgeable(ctx, p, id)
	if err != nil {
		return View{}, err
	}
	note = strings.TrimSpace(note)
	// Notes end up in HTML, emails and terminals: no escape sequences.
	if len(note) > maxNote || strings.ContainsFunc(note, func(c rune) bool { return c < 0x20 && c != '\n' && c != '\t' }) {
		return View{}, problem.Invalidf("note: at most 1000 characters, no control characters")
	}
	now := s.now()
	if err := s.st.AckFinding(ctx, f.ID, p.UserID, note, now); err != nil {
		return View{}, fmt.Errorf("acknowledging finding %s: %w", f.ID, err)
	}
	if err := s.record(ctx, who, f.OrgID, "finding.acknowledge", "finding", f.ID, map[string]any{"note": note}); err != nil {
		return View{}, err
	}
	// The store keeps milliseconds; answer what a later read shows.
	f.AckedAt, f.AckedBy, f.AckNote = now.UTC().Truncate(time.Millisecond), p.UserID, note
	if s.acked != nil {
		s.acked(ctx, f)
	}
	vs, err := s.render(ctx, p, []store.Finding{f}, nil)
	if err != nil {
		return View{}, err
	}
	return vs[0], nil
}
