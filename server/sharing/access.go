package sharing

import (
	"context"
	"fmt"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// customerAdmin passes admins of a customer organization at its root OU:
// channel partners, consent and device groups concern the whole customer.
func (s *Service) customerAdmin(ctx context.Context, p visibility.Principal) (store.Organization, error) {
	if p.OrgKind != store.Customer {
		return store.Organization{}, problem.ErrCustomerOnly
	}
	return s.wholeOrgAdmin(ctx, p)
}

// wholeOrgAdmin passes admins of p's organization at its root OU.
func (s *Service) wholeOrgAdmin(ctx context.Context, p visibility.Principal) (store.Organization, error) {
	o, err := s.st.Organization(ctx, p.OrgID)
	if err != nil {
		return o, fmt.Errorf("loading organization %s: %w", p.OrgID, err)
	}
	if !p.AdministersAll(o) {
		return o, problem.ErrWholeOrgOnly
	}
	return o, nil
}

// customerReader passes every user of a customer organization.
func customerReader(p visibility.Principal) error {
	if p.OrgKind != store.Customer {
		return problem.ErrCustomerOnly
	}
	return nil
}

// partnerAdmin passes admins of reseller and distributor organizations:
// only they redeem keys and invite customers.
func partnerAdmin(p visibility.Principal) error {
	if !p.IsPartner() {
		return problem.ErrPartnerOnly
	}
	return requireAdmin(p)
}

func requireAdmin(p visibility.Principal) error {
	if !p.IsAdmin() {
		return problem.ErrAdminOnly
	}
	return nil
}
