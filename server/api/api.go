// Package api is the server's JSON API: agent enrollment and ingest, user
// login, and the asset and KPI reads. Every read starts from the caller's
// visible asset set (package visibility) before it touches KPI data or
// inventory; an asset the caller may not see is answered 404, exactly like
// one that does not exist.
package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/assets"
	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/findings"
	"github.com/kpilot/kpilot/server/ingest"
	"github.com/kpilot/kpilot/server/kpis"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/schedule"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
	"github.com/kpilot/kpilot/server/webhook"
)

// TSDB is what the API needs of the time-series database.
type TSDB interface {
	Write(ctx context.Context, lines []byte) error
	Series(ctx context.Context, q tsdb.SeriesQuery) ([]tsdb.Series, error)
	Latest(ctx context.Context, ref tsdb.AssetRef, lookback time.Duration) ([]tsdb.Series, error)
	LatestMany(ctx context.Context, refs []tsdb.AssetRef, lookback time.Duration) (map[string][]tsdb.Series, error)
	LatestPolls(ctx context.Context, refs []tsdb.AssetRef, lookback time.Duration) (map[string]*tsdb.PollStatus, error)
	PollProblems(ctx context.Context, refs []tsdb.AssetRef, now time.Time, lookback, history time.Duration) ([]tsdb.PollProblem, error)
	UnreachableRuns(ctx context.Context, refs []tsdb.AssetRef, now time.Time, lookback, history time.Duration) ([]tsdb.PollProblem, error)
	AvailabilityData(ctx context.Context, ref tsdb.AssetRef, start, stop time.Time) ([]availability.Observation, []availability.Reboot, error)
	UsageData(ctx context.Context, ref tsdb.AssetRef, start, stop time.Time) ([]availability.PowerSample, []availability.UptimeSample, error)
	OrgSeries(ctx context.Context, q tsdb.OrgQuery) ([]tsdb.Series, error)
	DropAssetSeries(ctx context.Context, ref tsdb.AssetRef) error
}

// Limits bound what one request may cost the server and how long its
// secrets live. Zero values take the defaults of DefaultLimits.
type Limits struct {
	// Ingest bounds agent batches; a busy server answers 429.
	Ingest             ingest.Limits
	SessionTTL         time.Duration
	EnrollmentTokenTTL time.Duration
	InvitationTTL      time.Duration
	PasswordResetTTL   time.Duration
	APITokenTTL        time.Duration // of a token made without a lifetime of its own
	// KeyGuesses is how many wrong OU keys, system keys or partner IDs one
	// organization, and one client address, may try per 15 minutes.
	KeyGuesses int
	// LoginFailures is how many failed logins one client address may have
	// for one account before each further attempt waits (2 s, doubling
	// with each failure, at most 15 minutes, after the latest failure).
	LoginFailures int
	// LoginFailuresPerAddress is the same for one client address across
	// all accounts.
	LoginFailuresPerAddress int
	// SecretFailures is how many wrong secrets (enrollment, invitation and
	// reset tokens, agent credentials, session and API tokens) one client
	// address may send; then it is refused, right secrets too, until 15
	// minutes after its latest failure.
	SecretFailures int
}

// DefaultLimits returns the limits used where a field is zero.
func DefaultLimits() Limits {
	return Limits{Ingest: ingest.DefaultLimits(),
		SessionTTL:         12 * time.Hour,
		EnrollmentTokenTTL: time.Hour, InvitationTTL: 7 * 24 * time.Hour, PasswordResetTTL: time.Hour,
		APITokenTTL: 90 * 24 * time.Hour,
		KeyGuesses:  10, LoginFailures: 5, LoginFailuresPerAddress: 20, SecretFailures: 50}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	l.SessionTTL = cmp.Or(l.SessionTTL, d.SessionTTL)
	l.EnrollmentTokenTTL = cmp.Or(l.EnrollmentTokenTTL, d.EnrollmentTokenTTL)
	l.InvitationTTL = cmp.Or(l.InvitationTTL, d.InvitationTTL)
	l.PasswordResetTTL = cmp.Or(l.PasswordResetTTL, d.PasswordResetTTL)
	l.APITokenTTL = cmp.Or(l.APITokenTTL, d.APITokenTTL)
	l.KeyGuesses = cmp.Or(l.KeyGuesses, d.KeyGuesses)
	l.LoginFailures = cmp.Or(l.LoginFailures, d.LoginFailures)
	l.LoginFailuresPerAddress = cmp.Or(l.LoginFailuresPerAddress, d.LoginFailuresPerAddress)
	l.SecretFailures = cmp.Or(l.SecretFailures, d.SecretFailures)
	return l
}

// Option configures the API.
type Option func(*API)

// WithMail sends invitations, keys and password resets through m; links
// in them start with publicURL (the server's address as users reach it).
// Without it, those endpoints answer 503.
func WithMail(m mail.Sender, publicURL string) Option {
	return func(a *API) { a.mail, a.publicURL = m, strings.TrimRight(publicURL, "/") }
}

// API holds the handlers' dependencies.
type API struct {
	store  store.Store
	tsdb   TSDB
	log    *slog.Logger
	limits Limits
	m      apiMetrics
	now    func() time.Time
	vis    *visibility.Loader // every read path asks it what the caller sees

	mail      mail.Sender
	publicURL string

	checkups *checkup.Runner
	webhooks *webhook.Dispatcher
	auditLog *audit.Log // the trail domain packages record to; see actor
	sharing  *sharing.Service
	accounts *account.Service
	findings *findings.Service
	maint    *maintenance.Service // maintenance windows and asset parents
	mailer   *account.Mailer      // mail with the mails_total count; sends nothing without mail

	schedules *schedule.Manager // report schedules; schedule.Runner mails them

	ingester *ingest.Ingester
	kpis     *kpis.Service // each organization's KPI catalog
	assets   *assets.Service
}

// New returns the API. reg receives the request and ingest metrics.
func New(s store.Store, ts TSDB, limits Limits, log *slog.Logger, reg prometheus.Registerer, opts ...Option) *API {
	a := &API{store: s, tsdb: ts, log: log, limits: limits.withDefaults(), m: newMetrics(reg), now: time.Now}
	a.vis = visibility.NewLoader(s)
	a.ingester = ingest.New(s, ts, a.limits.Ingest, log, reg) // defaults filled in by ingest
	for _, o := range opts {
		o(a)
	}
	if a.kpis == nil {
		a.kpis = kpis.New(s, nil, kpis.Options{Log: log})
	}
	if a.webhooks == nil {
		a.webhooks = webhook.New(s, webhook.Options{}, log, nil)
	}
	a.auditLog = audit.New(s, a.publishSharing, func() time.Time { return a.now() })
	a.mailer = &account.Mailer{Sender: a.mail, PublicURL: a.publicURL,
		Count: func(kind, result string) { a.m.mails.WithLabelValues(kind, result).Inc() }}
	a.accounts = account.New(s, a.auditLog, account.Options{Mailer: a.mailer, Now: func() time.Time { return a.now() }, Log: log,
		TTL: account.TTLs{Session: a.limits.SessionTTL, Invitation: a.limits.InvitationTTL,
			PasswordReset: a.limits.PasswordResetTTL, EnrollmentToken: a.limits.EnrollmentTokenTTL, APIToken: a.limits.APITokenTTL}})
	a.sharing = a.newSharing()
	a.assets = assets.New(s, a.auditLog, assets.Options{Visibility: a.vis, Series: ts, Categories: ingest.Categories(), Now: func() time.Time { return a.now() }, Log: log})
	if a.checkups == nil {
		a.checkups = checkup.NewRunner(s, ts, checkup.DefaultRules(), log, nil, checkup.WithMaintenance(
			func(ctx context.Context, orgID string) (checkup.Windows, error) {
				return maintenance.Load(ctx, s, orgID)
			}))
	}
	a.schedules = schedule.NewManager(s, a.vis, a.auditLog, a.mail != nil, func() time.Time { return a.now() })
	a.maint = maintenance.New(s, a.auditLog, a.vis, func() time.Time { return a.now() })
	a.findings = findings.New(s, a.auditLog, findings.Options{Visibility: a.vis, Checkups: a.checkups, Now: func() time.Time { return a.now() },
		Acknowledged: a.webhooks.FindingAcknowledged})
	return a
}

// route is one endpoint of the API.
type route struct {
	method, path, name string
	h                  handlerFunc
}

// routes is the whole API. The OpenAPI document (openapi.yaml) describes
// exactly these; a test holds the two together.
func (a *API) routes() []route {
	user := a.userAuth
	return []route{
		{"POST", "/api/v1/agents/enroll", "enroll", a.secret(a.enroll)},
		{"POST", "/api/v1/ingest", "ingest", a.agentAuth(a.ingest)},
		{"GET", "/api/v1/agents/self", "agent_self", a.agentAuth(a.agentSelf)},
		{"PUT", "/api/v1/agents/self/kpis", "agent_kpis", a.agentAuth(a.putAgentKPIs)},

		{"POST", "/api/v1/login", "login", a.login},
		{"POST", "/api/v1/logout", "logout", user(a.logout)},
		{"GET", "/api/v1/me", "me", user(a.me)},
		{"POST", "/api/v1/session/organization", "switch_org", user(a.switchOrg)},
		{"POST", "/api/v1/password-reset", "password_reset", a.passwordReset},
		{"POST", "/api/v1/password-reset/confirm", "password_reset_confirm", a.secret(a.passwordResetConfirm)},
		{"POST", "/api/v1/invitations/lookup", "invitation_lookup", a.secret(a.lookupInvitation)},
		{"POST", "/api/v1/invitations/accept", "invitation_accept", a.secret(a.acceptInvitation)},

		{"GET", "/api/v1/organization", "organization", user(a.organization)},
		{"GET", "/api/v1/ous", "ous", user(a.listOUs)},
		{"POST", "/api/v1/ous", "ou_create", user(a.createOU)},
		{"PATCH", "/api/v1/ous/{id}", "ou_update", user(a.updateOU)},
		{"DELETE", "/api/v1/ous/{id}", "ou_delete", user(a.deleteOU)},
		{"GET", "/api/v1/ous/{id}/key", "ou_key", user(a.readOUKey)},
		{"POST", "/api/v1/ous/{id}/key/send", "ou_key_send", user(a.sendOUKey)},
		{"POST", "/api/v1/ous/{id}/key/rotate", "ou_key_rotate", user(a.rotateOUKey)},
		{"POST", "/api/v1/enrollment-tokens", "enrollment_token", user(a.createEnrollmentToken)},
		{"GET", "/api/v1/agents", "agents", user(a.listAgents)},

		{"GET", "/api/v1/assets", "assets", user(a.listAssets)},
		{"GET", "/api/v1/overview", "overview", user(a.overview)},
		{"POST", "/api/v1/assets", "asset_create", user(a.createAsset)},
		{"GET", "/api/v1/assets/{id}", "asset", user(a.getAsset)},
		{"PATCH", "/api/v1/assets/{id}", "asset_update", user(a.patchAsset)},
		{"DELETE", "/api/v1/assets/{id}", "asset_delete", user(a.deleteAsset)},
		{"GET", "/api/v1/assets/{id}/series", "asset_series", user(a.assetSeries)},
		{"GET", "/api/v1/assets/{id}/latest", "asset_latest", user(a.assetLatest)},
		{"GET", "/api/v1/maintenance-windows", "maintenance_windows", user(a.listWindows)},
		{"POST", "/api/v1/maintenance-windows", "maintenance_window_create", user(a.putWindow)},
		{"PUT", "/api/v1/maintenance-windows/{id}", "maintenance_window_update", user(a.putWindow)},
		{"DELETE", "/api/v1/maintenance-windows/{id}", "maintenance_window_delete", user(a.deleteWindow)},
		{"GET", "/api/v1/assets/{id}/parent", "asset_parent", user(a.assetParent)},
		{"PUT", "/api/v1/assets/{id}/parent", "asset_parent_set", user(a.assetParent)},
		{"DELETE", "/api/v1/assets/{id}/parent", "asset_parent_clear", user(a.assetParent)},
		{"GET", "/api/v1/assets/{id}/availability", "asset_availability", user(a.assetAvailability)},
		{"GET", "/api/v1/assets/{id}/usage", "asset_usage", user(a.assetUsage)},
		{"GET", "/api/v1/assets/{id}/inventory", "asset_inventory", user(a.assetInventory)},
		{"GET", "/api/v1/assets/{id}/inventory/history", "asset_inventory_history", user(a.assetInventoryHistory)},
		{"GET", "/api/v1/metrics", "exposition", user(a.exposition)},
		{"GET", "/api/v1/kpis", "kpis", user(a.listKPIs)},
		{"GET", "/api/v1/reports/inventory", "report_inventory", user(a.inventoryReport)},
		{"GET", "/api/v1/reports/availability", "report_availability", user(a.availabilityReport)},
		{"GET", "/api/v1/reports/capacity", "report_capacity", user(a.capacityReport)},
		{"GET", "/api/v1/reports/backup", "report_backup", user(a.backupReport)},
		{"GET", "/api/v1/report-schedules", "report_schedules", user(a.listSchedules)},
		{"POST", "/api/v1/report-schedules", "report_schedule_create", user(a.createSchedule)},
		{"DELETE", "/api/v1/report-schedules/{id}", "report_schedule_delete", user(a.deleteSchedule)},
		{"GET", "/api/v1/findings", "findings", user(a.listFindings)},
		{"GET", "/api/v1/findings/{id}", "finding", user(a.getFinding)},
		{"POST", "/api/v1/findings/{id}/acknowledge", "finding_ack", user(a.ackFinding)},
		{"GET", "/api/v1/checkup-rules", "checkup_rules", user(a.getCheckupRules)},
		{"PUT", "/api/v1/checkup-rules", "checkup_rules_put", user(a.putCheckupRules)},
		{"DELETE", "/api/v1/checkup-rules", "checkup_rules_reset", user(a.deleteCheckupRules)},
		{"POST", "/api/v1/checkups/run", "checkups_run", user(a.runCheckups)},
		{"GET", "/api/v1/assets/{id}/system-key", "system_key", user(a.readSystemKey)},
		{"POST", "/api/v1/assets/{id}/system-key/send", "system_key_send", user(a.sendSystemKey)},
		{"POST", "/api/v1/assets/{id}/system-key/rotate", "system_key_rotate", user(a.rotateSystemKey)},
		{"GET", "/api/v1/assets/{id}/partners", "asset_partners", user(a.assetPartners)},

		{"POST", "/api/v1/partner/ou-keys/verify", "partner_ou_key_verify", user(a.verifyOUKey)},
		{"POST", "/api/v1/partner/assets", "partner_asset_create", user(a.partnerCreateAsset)},
		{"POST", "/api/v1/partner/system-keys/verify", "partner_system_key_verify", user(a.verifySystemKey)},
		{"POST", "/api/v1/partner/system-keys", "partner_system_key_use", user(a.useSystemKey)},
		{"POST", "/api/v1/partner/customer-invitations", "partner_invite_customer", user(a.inviteCustomer)},
		{"POST", "/api/v1/distributor/reseller-invitations", "distributor_invite_reseller", user(a.inviteReseller)},

		{"GET", "/api/v1/grants", "grants", user(a.listGrants)},
		{"DELETE", "/api/v1/grants/{id}", "grant_revoke", user(a.revokeGrant)},

		{"GET", "/api/v1/partners/{partner_id}", "partner_check", user(a.checkPartner)},
		{"GET", "/api/v1/channel-partners", "channel_partners", user(a.listChannelPartners)},
		{"POST", "/api/v1/channel-partners", "channel_partner_add", user(a.addChannelPartner)},
		{"PATCH", "/api/v1/channel-partners/{partner_id}", "channel_partner_update", user(a.updateChannelPartner)},
		{"DELETE", "/api/v1/channel-partners/{partner_id}", "channel_partner_remove", user(a.removeChannelPartner)},
		{"GET", "/api/v1/channel-assignments", "channel_assignments", user(a.listAssignments)},
		{"PUT", "/api/v1/channel-assignments", "channel_assign", user(a.setAssignment)},
		{"DELETE", "/api/v1/channel-assignments/{id}", "channel_unassign", user(a.deleteAssignment)},
		{"GET", "/api/v1/channel-devices", "channel_devices", user(a.channelDevices)},
		{"PUT", "/api/v1/channel-consent", "channel_consent", user(a.setConsent)},

		{"GET", "/api/v1/device-groups", "device_groups", user(a.listGroups)},
		{"POST", "/api/v1/device-groups", "device_group_create", user(a.createGroup)},
		{"PUT", "/api/v1/device-groups/{id}/members", "device_group_members", user(a.setGroupMembers)},
		{"DELETE", "/api/v1/device-groups/{id}", "device_group_delete", user(a.deleteGroup)},

		{"GET", "/api/v1/users", "users", user(a.listUsers)},
		{"PATCH", "/api/v1/users/{id}", "user_update", user(a.updateUser)},
		{"DELETE", "/api/v1/users/{id}", "user_remove", user(a.removeUser)},
		{"GET", "/api/v1/invitations", "invitations", user(a.listInvitations)},
		{"POST", "/api/v1/invitations", "invitation_create", user(a.inviteUser)},
		{"DELETE", "/api/v1/invitations/{id}", "invitation_revoke", user(a.revokeInvitation)},

		{"GET", "/api/v1/api-tokens", "api_tokens", user(a.listAPITokens)},
		{"POST", "/api/v1/api-tokens", "api_token_create", user(a.createAPIToken)},
		{"DELETE", "/api/v1/api-tokens/{id}", "api_token_delete", user(a.deleteAPIToken)},

		{"GET", "/api/v1/webhooks", "webhooks", user(a.listWebhooks)},
		{"POST", "/api/v1/webhooks", "webhook_create", user(a.createWebhook)},
		{"DELETE", "/api/v1/webhooks/{id}", "webhook_delete", user(a.deleteWebhook)},
		{"POST", "/api/v1/webhooks/{id}/ping", "webhook_ping", user(a.pingWebhook)},
		{"GET", "/api/v1/webhooks/{id}/deliveries", "webhook_deliveries", user(a.webhookDeliveries)},
		{"GET", "/api/v1/notification-channels", "notification_channels", user(a.listChannels)},
		{"POST", "/api/v1/notification-channels", "notification_channel_create", user(a.createChannel)},
		{"GET", "/api/v1/notification-channels/{id}", "notification_channel", user(a.getChannel)},
		{"PUT", "/api/v1/notification-channels/{id}", "notification_channel_update", user(a.updateChannel)},
		{"DELETE", "/api/v1/notification-channels/{id}", "notification_channel_delete", user(a.deleteChannel)},
		{"POST", "/api/v1/notification-channels/{id}/test", "notification_channel_test", user(a.testChannel)},
		{"GET", "/api/v1/notification-channels/{id}/deliveries", "notification_channel_deliveries", user(a.channelDeliveries)},
		{"GET", "/api/v1/notification-settings", "notification_settings", user(a.getNotificationSettings)},
		{"PUT", "/api/v1/notification-settings", "notification_settings_update", user(a.putNotificationSettings)},
		{"GET", "/api/v1/me/subscriptions", "subscriptions", user(a.listSubscriptions)},
		{"POST", "/api/v1/me/subscriptions", "subscription_create", user(a.createSubscription)},
		{"PUT", "/api/v1/me/subscriptions/{id}", "subscription_update", user(a.updateSubscription)},
		{"DELETE", "/api/v1/me/subscriptions/{id}", "subscription_delete", user(a.deleteSubscription)},

		{"GET", "/api/v1/audit", "audit", user(a.listAudit)},
		{"GET", "/api/v1/openapi.yaml", "openapi", serveOpenAPI},
	}
}

// Routes lists every endpoint as "METHOD /path".
func (a *API) Routes() []string {
	var out []string
	for _, r := range a.routes() {
		out = append(out, r.method+" "+r.path)
	}
	return out
}

// Register adds the API routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, r := range a.routes() {
		mux.Handle(r.method+" "+r.path, a.handle(r.name, r.h))
	}
	mux.Handle("/api/", a.handle("unknown", func(http.ResponseWriter, *http.Request) error { return errNotFound }))
}
