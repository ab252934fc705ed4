// Package sharing holds the rules by which a customer shares its assets
// and a partner reaches them: the OU tree and its keys, system keys, the
// partner flows (an OU key creates an asset, a system key grants one,
// partners invite customers and resellers), grants, channel partners with
// their assignments and the customer's consent, device groups, and the
// registration of webhooks. It decides and records; who may see an asset
// is package visibility's answer, which callers pass in. Failures a caller
// should read are *problem.Error; any other error is internal.
package sharing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Store is what sharing needs of the metadata store.
type Store interface {
	Organization(ctx context.Context, id string) (store.Organization, error)
	OrganizationByPartnerID(ctx context.Context, partnerID string) (store.Organization, error)
	OrganizationsByIDs(ctx context.Context, ids []string) ([]store.Organization, error)
	User(ctx context.Context, id string) (store.User, error)

	OUs(ctx context.Context, orgID string) ([]store.OU, error)
	CreateOU(ctx context.Context, u *store.OU) error
	RenameOU(ctx context.Context, orgID, id, name string) error
	MoveOU(ctx context.Context, orgID, id, parentID string) error
	DeleteOU(ctx context.Context, orgID, id string) error

	OUKey(ctx context.Context, ouID string) (string, error)
	RotateOUKey(ctx context.Context, ouID string) (string, error)
	OUByKey(ctx context.Context, key string) (store.OU, error)
	SystemKey(ctx context.Context, assetID string) (string, error)
	RotateSystemKey(ctx context.Context, assetID string) (string, error)
	AssetBySystemKey(ctx context.Context, key string) (store.Asset, error)

	CreateAsset(ctx context.Context, a *store.Asset, grant *store.Grant) error
	Asset(ctx context.Context, id string) (store.Asset, error)
	AssetsByIDs(ctx context.Context, ids []string) ([]store.Asset, error)

	CreateGrant(ctx context.Context, g *store.Grant) error
	Grant(ctx context.Context, id string) (store.Grant, error)
	Grants(ctx context.Context, f store.GrantFilter) ([]store.Grant, error)
	RevokeGrant(ctx context.Context, id, by string, at time.Time) error

	AddChannelPartner(ctx context.Context, cp store.ChannelPartner) error
	SetChannelDefaults(ctx context.Context, customerOrgID, partnerOrgID string, reseller, service bool) error
	RemoveChannelPartner(ctx context.Context, customerOrgID, partnerOrgID string) error
	ChannelPartners(ctx context.Context, customerOrgID string) ([]store.ChannelPartner, error)
	SetChannelAssignment(ctx context.Context, a *store.ChannelAssignment) error
	DeleteChannelAssignment(ctx context.Context, customerOrgID, id string) error
	ChannelAssignments(ctx context.Context, customerOrgID string) ([]store.ChannelAssignment, error)
	SetChannelConsent(ctx context.Context, orgID string, consent bool) error

	CreateDeviceGroup(ctx context.Context, g *store.DeviceGroup) error
	SetDeviceGroupMembers(ctx context.Context, orgID, groupID string, assetIDs []string) error
	DeleteDeviceGroup(ctx context.Context, orgID, groupID string) error
	DeviceGroups(ctx context.Context, orgID string) ([]store.DeviceGroup, error)

	CreateWebhook(ctx context.Context, w *store.Webhook) error
	Webhook(ctx context.Context, id string) (store.Webhook, error)
	WebhooksOf(ctx context.Context, orgIDs []string) ([]store.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	Deliveries(ctx context.Context, webhookID string, limit int) ([]store.WebhookDelivery, error)
	Attempts(ctx context.Context, deliveryID string) ([]store.WebhookAttempt, error)
}

// Mailer sends one email. kind says what it carries (ou_key, system_key)
// for the server's mail metric. Its errors go to the log only; the caller
// is told the mail could not be sent.
type Mailer interface {
	Send(ctx context.Context, kind string, m mail.Message) error
}

// Guess starts one guess of a key or partner ID, counted against the
// caller's allowance. The caller calls done with whether the guess was
// right (a right one is taken back); over the allowance, err is the answer
// to give (too many attempts).
type Guess func() (done func(success bool), err error)

// Options are the dependencies of a Service besides its store and audit
// trail.
type Options struct {
	// Mail sends OU keys and system keys; nil means the server sends no
	// email, and sending a key is answered as unavailable.
	Mail Mailer
	// Categories are the categories an asset entered by hand may have.
	Categories map[string]bool
	// CheckURL refuses webhook endpoints the server must not call; when
	// nil, every endpoint is refused.
	CheckURL func(raw string) error
	// Visibility checks what a principal may see of one asset
	// (visibility.Loader).
	Visibility AssetVisibility
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// AssetVisibility is the single-asset check of package visibility.
type AssetVisibility interface {
	Asset(ctx context.Context, p visibility.Principal, assetID string) (store.Asset, visibility.Access, error)
}

// Service applies the sharing rules on a store and records every change
// (and every key that leaves the server) in the audit trail. It is safe
// for concurrent use.
type Service struct {
	st       Store
	rec      audit.Recorder
	mail     Mailer
	cats     map[string]bool
	checkURL func(string) error
	vis      AssetVisibility
	now      func() time.Time
}

// New returns a Service on st that records to rec.
func New(st Store, rec audit.Recorder, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CheckURL == nil {
		o.CheckURL = func(string) error { return errors.New("webhooks are off on this server") }
	}
	return &Service{st: st, rec: rec, mail: o.Mail, cats: o.Categories, checkURL: o.CheckURL, vis: o.Visibility, now: o.Now}
}

// record writes one audit event about the whole organization orgID; a
// failure stops the caller, so nothing changes (or leaves the server)
// unrecorded without an error.
func (s *Service) record(ctx context.Context, who audit.Actor, orgID, action, targetType, targetID string, detail map[string]any) error {
	return s.recordOU(ctx, who, orgID, "", action, targetType, targetID, detail)
}

// recordOU is record for an event about the OU ouID of orgID (see
// audit.Entry.OUID).
func (s *Service) recordOU(ctx context.Context, who audit.Actor, orgID, ouID, action, targetType, targetID string, detail map[string]any) error {
	err := s.rec.Record(ctx, who, audit.Entry{OrgID: orgID, OUID: ouID, Action: action, TargetType: targetType, TargetID: targetID, Detail: detail})
	if err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}

// orgsByID loads the organizations among ids, by id.
func (s *Service) orgsByID(ctx context.Context, ids []string) (map[string]store.Organization, error) {
	orgs, err := s.st.OrganizationsByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("loading organizations: %w", err)
	}
	out := make(map[string]store.Organization, len(orgs))
	for _, o := range orgs {
		out[o.ID] = o
	}
	return out, nil
}
