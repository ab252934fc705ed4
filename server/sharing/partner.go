package sharing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

var (
	errUnknownOUKey     = problem.New(problem.NotFound, "unknown OU key: check it, or ask the customer for the current one (keys can be rotated)")
	errUnknownSystemKey = problem.New(problem.NotFound, "unknown system key: check it, or ask the customer for the current one (keys can be rotated)")
)

// keyed is the customer thing a partner reached with a key: an OU (OU
// key) or an asset (system key).
type keyed interface{ store.OU | store.Asset }

// byKey looks up a key a partner admin entered, counting failed guesses.
// A key of the partner's own organization is unknown to it, as is an OU
// key of another partner.
func byKey[T keyed](ctx context.Context, s *Service, p visibility.Principal, guess Guess, field, prefix, key string,
	lookup func(context.Context, string) (T, error), orgOf func(T) string, unknown error) (T, store.Organization, error) {
	var zero T
	if err := partnerAdmin(p); err != nil {
		return zero, store.Organization{}, err
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return zero, store.Organization{}, problem.Invalidf("%s: missing", field)
	}
	done, err := guess()
	if err != nil {
		return zero, store.Organization{}, err
	}
	v, err := zero, store.ErrNotFound
	if strings.HasPrefix(key, prefix) && len(key) <= 128 {
		v, err = lookup(ctx, key)
	}
	if errors.Is(err, store.ErrNotFound) {
		done(false)
		return zero, store.Organization{}, unknown
	}
	if err != nil {
		return zero, store.Organization{}, fmt.Errorf("looking up %s: %w", field, err)
	}
	done(true)
	cust, err := s.st.Organization(ctx, orgOf(v))
	if err != nil {
		return zero, cust, fmt.Errorf("loading organization %s: %w", orgOf(v), err)
	}
	if cust.ID == p.OrgID {
		return zero, cust, unknown
	}
	return v, cust, nil
}

func (s *Service) ouByKey(ctx context.Context, p visibility.Principal, guess Guess, key string) (store.OU, store.Organization, error) {
	u, cust, err := byKey(ctx, s, p, guess, "ou_key", auth.PrefixOUKey, key, s.st.OUByKey,
		func(u store.OU) string { return u.OrgID }, errUnknownOUKey)
	if err == nil && cust.Kind != store.Customer {
		return store.OU{}, cust, errUnknownOUKey
	}
	return u, cust, err
}

func (s *Service) assetBySystemKey(ctx context.Context, p visibility.Principal, guess Guess, key string) (store.Asset, store.Organization, error) {
	return byKey(ctx, s, p, guess, "system_key", auth.PrefixSystemKey, key, s.st.AssetBySystemKey,
		func(a store.Asset) string { return a.OrgID }, errUnknownSystemKey)
}

// VerifyOUKey is the partner portal's "Verify": the customer and OU an OU
// key belongs to, before assets are created with it.
func (s *Service) VerifyOUKey(ctx context.Context, p visibility.Principal, who audit.Actor, guess Guess, key string) (store.OU, store.Organization, error) {
	u, cust, err := s.ouByKey(ctx, p, guess, key)
	if err != nil {
		return u, cust, err
	}
	return u, cust, s.recordOU(ctx, who, cust.ID, u.ID, "ou_key.verify", "ou", u.ID, nil)
}

// Created is an asset a partner reached with a key, its customer and the
// grant by which the partner now sees it.
type Created struct {
	Asset    store.Asset
	Customer store.Organization
	Grant    store.Grant
}

// CreateAssetWithOUKey creates an asset (in, checked like NewAsset; nil
// is refused) in the OU of an OU key. The partner sees it by a created
// grant, and nothing else of the OU.
func (s *Service) CreateAssetWithOUKey(ctx context.Context, p visibility.Principal, who audit.Actor, guess Guess, key string, in *AssetInput) (Created, error) {
	if in == nil {
		return Created{}, problem.Invalidf("asset: missing")
	}
	as, err := s.NewAsset(*in)
	if err != nil {
		return Created{}, err
	}
	u, cust, err := s.ouByKey(ctx, p, guess, key)
	if err != nil {
		return Created{}, err
	}
	as.OrgID, as.OUID, as.CreatedByOrg = cust.ID, u.ID, p.OrgID
	g := store.Grant{PartnerOrgID: p.OrgID, Kind: store.GrantCreated, GrantedBy: p.UserID}
	if err := s.createAsset(ctx, &as, &g); err != nil {
		return Created{}, err
	}
	err = s.recordOU(ctx, who, cust.ID, u.ID, "ou_key.use", "asset", as.ID, map[string]any{"ou_id": u.ID, "name": as.Name, "grant_id": g.ID})
	return Created{Asset: as, Customer: cust, Grant: g}, err
}

// VerifySystemKey is the partner portal's "Check": the asset of a system
// key and its customer.
func (s *Service) VerifySystemKey(ctx context.Context, p visibility.Principal, who audit.Actor, guess Guess, key string) (store.Asset, store.Organization, error) {
	as, cust, err := s.assetBySystemKey(ctx, p, guess, key)
	if err != nil {
		return as, cust, err
	}
	return as, cust, s.recordOU(ctx, who, cust.ID, as.OUID, "system_key.verify", "asset", as.ID, nil)
}

// UseSystemKey adds the one asset of a system key to the partner's view
// by a system-key grant (the live one, if the partner holds it already).
func (s *Service) UseSystemKey(ctx context.Context, p visibility.Principal, who audit.Actor, guess Guess, key string) (Created, error) {
	as, cust, err := s.assetBySystemKey(ctx, p, guess, key)
	if err != nil {
		return Created{}, err
	}
	g := store.Grant{AssetID: as.ID, CustomerOrgID: cust.ID, PartnerOrgID: p.OrgID, Kind: store.GrantSystemKey, GrantedBy: p.UserID}
	if err := s.st.CreateGrant(ctx, &g); err != nil {
		return Created{}, fmt.Errorf("creating grant: %w", err)
	}
	err = s.recordOU(ctx, who, cust.ID, as.OUID, "system_key.use", "asset", as.ID, map[string]any{"grant_id": g.ID})
	return Created{Asset: as, Customer: cust, Grant: g}, err
}

// InviteInput is a partner's invitation of a new organization.
type InviteInput struct {
	Company string      `json:"company"`
	Email   string      `json:"email"`
	Asset   *AssetInput `json:"asset,omitempty"` // a customer's first asset
}

// Invitation is an invitation to store and mail, with the text the mail
// needs: who invites, and as what.
type Invitation struct {
	store.Invitation
	Inviter string // the inviting organization's name
	What    string // "as the first administrator of <company>"
}

// InviteCustomer prepares a partner admin's invitation of a new customer
// together with its first asset (seed 000). Accepting creates the
// customer, its admin and the asset, which the partner sees by a created
// grant.
func (s *Service) InviteCustomer(ctx context.Context, p visibility.Principal, in InviteInput) (Invitation, error) {
	if err := partnerAdmin(p); err != nil {
		return Invitation{}, err
	}
	if in.Asset == nil {
		return Invitation{}, problem.Invalidf("asset: the customer's first asset is required")
	}
	as, err := s.NewAsset(*in.Asset)
	if err != nil {
		return Invitation{}, err
	}
	return s.inviteOrg(ctx, p, in, store.InviteCustomer, &as)
}

// InviteReseller prepares a distributor admin's invitation of a new
// reseller.
func (s *Service) InviteReseller(ctx context.Context, p visibility.Principal, in InviteInput) (Invitation, error) {
	if p.OrgKind != store.Distributor {
		return Invitation{}, problem.New(problem.Forbidden, "only distributors invite resellers")
	}
	if err := requireAdmin(p); err != nil {
		return Invitation{}, err
	}
	if in.Asset != nil {
		return Invitation{}, problem.Invalidf("asset: only customer invitations carry an asset")
	}
	return s.inviteOrg(ctx, p, in, store.InviteReseller, nil)
}

func (s *Service) inviteOrg(ctx context.Context, p visibility.Principal, in InviteInput, kind store.InvitationKind, as *store.Asset) (Invitation, error) {
	company, err := input.Name("company", in.Company)
	if err != nil {
		return Invitation{}, err
	}
	to, err := input.Email("email", in.Email)
	if err != nil {
		return Invitation{}, err
	}
	inviter, err := s.st.Organization(ctx, p.OrgID)
	if err != nil {
		return Invitation{}, fmt.Errorf("loading organization %s: %w", p.OrgID, err)
	}
	inv := store.Invitation{Kind: kind, Email: to, Role: store.Admin, Company: company, Asset: as,
		InvitedBy: p.UserID, InvitedByOrg: p.OrgID}
	return Invitation{Invitation: inv, Inviter: inviter.Name, What: fmt.Sprintf("as the first administrator of %s", company)}, nil
}
