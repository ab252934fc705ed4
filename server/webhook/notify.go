package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// EventFindingRepeat is sent again for a critical finding still open and
// unacknowledged, at the organization's repeat interval
// (store.NotificationSettings). A channel subscribed to finding.opened
// receives it too.
const EventFindingRepeat = "finding.repeat"

// Digest periods of a channel: its events are sent as one email at the
// end of each period (UTC).
const (
	DigestHourly = "hourly"
	DigestDaily  = "daily"
)

// Muter says whether an asset's notifications are muted at a time (a
// maintenance window, a parent device that is down). It mutes the events
// that open or repeat something (finding.opened, asset.down,
// agent.silent, finding.repeat), never the resolved message of something
// that was notified.
type Muter interface {
	Muted(ctx context.Context, orgID, assetID string, at time.Time) (bool, error)
}

// opening reports whether event tells of something new (or still there),
// which a Muter mutes; closing whether it ends one.
func opening(event string) bool {
	return event == EventFindingOpened || event == EventAssetDown || event == EventAgentSilent || event == EventFindingRepeat
}

func closing(event string) bool { return event == EventFindingResolved || event == EventAssetUp }

// findingMeta is what a finding event's receivers are chosen by.
type findingMeta struct {
	finding  store.Finding
	category string     // the asset's; "" for an agent's finding
	ous      []store.OU // the finding's organization's, for OU filters
	key      string     // the deliveries' dedupe key
	// notified are the channels told of the finding's opening: a closing
	// event goes to them whatever their filters and mutes say now.
	notified              map[string]bool
	mutedAtOpen, mutedNow bool
}

// wants reports whether channel h receives event; m is nil for an event
// not about a finding, which goes to webhooks only.
func (m *findingMeta) wants(h store.Webhook, event string) bool {
	if m == nil {
		return h.UserID == "" && h.ChannelKind() == store.KindWebhook && Matches(h, event)
	}
	if !Matches(h, event) && !(event == EventFindingRepeat && Matches(h, EventFindingOpened)) {
		return false
	}
	switch {
	case closing(event) && m.notified[h.ID]:
		return true // what was told gets its end, even if muted or filtered meanwhile
	case m.finding.SuppressedBy != "":
		// A device behind a dead parent: its parent's finding tells of it,
		// so neither its opening nor (untold) its end is sent.
		return false
	case closing(event) && (m.mutedAtOpen || m.mutedNow):
		return false // never told of it: no orphan end
	case opening(event) && m.mutedNow:
		return false
	}
	f := m.finding
	if h.MinSeverity != "" && f.Severity.Rank() < h.MinSeverity.Rank() {
		return false
	}
	if len(h.Categories) > 0 && !slices.Contains(h.Categories, m.category) {
		return false
	}
	if h.OUID != "" && (h.OrgID != f.OrgID || !visibility.Subtree(f.OrgID, h.OUID, m.ous)[f.OUID]) {
		return false
	}
	return true
}

// recipients are the addresses one event goes to through h, one delivery
// each: those of an organization's email channel; for any other channel
// one delivery ("": a webhook's URL, a subscriber's own address).
func recipients(h store.Webhook) []string {
	if h.ChannelKind() != store.KindEmail || h.UserID != "" {
		return []string{""}
	}
	return EmailAddresses(h.URL)
}

// EmailAddresses returns the addresses of an email channel's
// "mailto:a@example.com,b@example.com".
func EmailAddresses(mailto string) []string {
	var out []string
	for _, a := range strings.Split(strings.TrimPrefix(mailto, "mailto:"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// digestDue is when an event queued at now is sent: at once, or at the
// end of its digest period (UTC).
func digestDue(digest string, now time.Time) time.Time {
	switch digest {
	case DigestHourly:
		return now.Truncate(time.Hour).Add(time.Hour)
	case DigestDaily:
		y, m, d := now.UTC().Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	}
	return now
}

// claimDigest claims the other due events of v's channel and recipient
// (claimed already), to send them with v as one message. One another
// replica claimed first goes into that replica's message.
func (d *Dispatcher) claimDigest(ctx context.Context, h store.Webhook, v store.WebhookDelivery, now, until time.Time) ([]store.WebhookDelivery, error) {
	due, err := d.store.DueDeliveriesOf(ctx, h.ID, now, 500)
	if err != nil {
		return nil, err
	}
	var out []store.WebhookDelivery
	for _, x := range due {
		if x.ID == v.ID || x.Recipient != v.Recipient {
			continue
		}
		ok, err := d.store.ClaimDelivery(ctx, x, now, until)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, x)
		}
	}
	return out, nil
}

// withheld returns why v may not be sent through h now, "" when it may:
// the event's asset must be one the channel's organization (for a
// subscription: the subscriber, as the OU and role of their membership
// say) sees now, with findings and health in its access; an agent's
// finding must be of the subscriber's OU or below.
func (d *Dispatcher) withheld(ctx context.Context, h store.Webhook, v store.WebhookDelivery) (string, error) {
	if v.FindingID == "" || d.vis == nil {
		return "", nil // a ping, a sharing event
	}
	var e struct {
		Data FindingData `json:"data"`
	}
	if err := json.Unmarshal(v.Payload, &e); err != nil {
		return "", fmt.Errorf("reading payload: %w", err)
	}
	p, reason, err := d.principal(ctx, h)
	if reason != "" || err != nil {
		return reason, err
	}
	if e.Data.Asset != nil {
		_, acc, err := d.vis.Asset(ctx, p, e.Data.Asset.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return "the recipient may no longer see asset " + e.Data.Asset.Name, nil
		case err != nil:
			return "", err
		case !acc.SeesFindings():
			return "the recipient's access to asset " + e.Data.Asset.Name + " does not include findings and health", nil
		}
		return "", nil
	}
	if p.OrgID != e.Data.Customer.ID {
		return "an agent's findings go to its own organization only", nil
	}
	ous, err := d.store.OUs(ctx, p.OrgID)
	if err != nil {
		return "", err
	}
	if !visibility.Subtree(p.OrgID, p.OUID, ous)[e.Data.OUID] {
		return "the agent is outside the recipient's organization unit", nil
	}
	return "", nil
}

// principal is who receives through h: the subscriber as a member of h's
// organization, or for an organization's channel the organization as a
// whole.
func (d *Dispatcher) principal(ctx context.Context, h store.Webhook) (visibility.Principal, string, error) {
	o, err := d.store.Organization(ctx, h.OrgID)
	if err != nil {
		return visibility.Principal{}, "", err
	}
	if h.UserID == "" {
		return visibility.Principal{OrgID: o.ID, OrgKind: o.Kind, OUID: o.RootOU, Role: store.Admin}, "", nil
	}
	ms, err := d.store.Memberships(ctx, h.UserID)
	if err != nil {
		return visibility.Principal{}, "", err
	}
	for _, m := range ms {
		if m.OrgID == o.ID {
			return visibility.Principal{UserID: h.UserID, OrgID: o.ID, OrgKind: o.Kind, OUID: m.OUID, Role: m.Role}, "", nil
		}
	}
	return visibility.Principal{}, "the subscriber is no longer a member of " + o.Name, nil
}

// deliver sends a delivery (several: a digest) through h in its kind's
// format.
func (d *Dispatcher) deliver(ctx context.Context, h store.Webhook, vs []store.WebhookDelivery) (int, error) {
	if h.ChannelKind() == store.KindWebhook {
		return d.send(ctx, h, vs[0])
	}
	ns := make([]notice, 0, len(vs))
	for _, v := range vs {
		n, err := readNotice(v)
		if err != nil {
			return 0, err
		}
		ns = append(ns, n)
	}
	switch h.ChannelKind() {
	case store.KindTeams:
		return d.post(ctx, h.Secret, teamsBody(ns[0], h.Language, d.opts.PublicURL), nil)
	case store.KindSlack:
		return d.post(ctx, h.Secret, slackBody(ns[0], h.Language, d.opts.PublicURL), nil)
	case store.KindEmail:
		return 0, d.sendMail(ctx, h, vs[0].Recipient, ns)
	}
	return 0, fmt.Errorf("channel kind %q unknown", h.Kind)
}

// sendMail mails ns (one event, or a digest) to the recipient, or to the
// subscriber's address.
func (d *Dispatcher) sendMail(ctx context.Context, h store.Webhook, to string, ns []notice) error {
	if d.opts.Mail == nil {
		return errors.New("this server sends no email: configure mail in the server config")
	}
	if to == "" {
		u, err := d.store.User(ctx, h.UserID)
		if err != nil {
			return fmt.Errorf("subscriber: %w", err)
		}
		to = u.Email
	}
	msg := emailMessage(to, h.Language, d.opts.PublicURL, ns, h.Digest != "")
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	return d.opts.Mail.Send(ctx, msg)
}

// RepeatDue queues finding.repeat for every critical finding still open
// and unacknowledged in an organization with a repeat interval: the n-th
// repeat once n intervals have passed since it opened. Each repeat is
// queued once (its dedupe key holds n), whichever replica runs this, and
// a run that was missed sends the latest repeat only.
func (d *Dispatcher) RepeatDue(ctx context.Context) error {
	settings, err := d.store.RepeatingOrganizations(ctx)
	if err != nil {
		return fmt.Errorf("repeating notifications: %w", err)
	}
	now := d.now()
	open := true
	var errs []error
	for _, s := range settings {
		fs, err := d.store.Findings(ctx, store.FindingFilter{OrgID: s.OrgID, Open: &open, Agents: true})
		if err != nil {
			return fmt.Errorf("repeating notifications of %s: %w", s.OrgID, err)
		}
		var events []findingEvent
		for _, f := range fs {
			n := int(now.Sub(f.OpenedAt) / s.RepeatEvery)
			if f.Severity != store.SeverityCritical || !f.AckedAt.IsZero() || n < 1 {
				continue
			}
			key := fmt.Sprintf("%s:%s:%d", EventFindingRepeat, f.ID, n)
			told, err := d.store.FindingDeliveries(ctx, f.ID)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(told, func(v store.WebhookDelivery) bool { return v.DedupeKey == key }) {
				events = append(events, findingEvent{event: EventFindingRepeat, finding: f, key: key})
			}
		}
		if err := d.publishFindings(ctx, s.OrgID, events); err != nil {
			errs = append(errs, fmt.Errorf("repeating notifications of %s: %w", s.OrgID, err))
		}
	}
	return errors.Join(errs...)
}
