// Package webhook delivers events (new check-up findings, sharing
// changes) to the HTTP endpoints organizations register. Every delivery
// is stored before it is sent, signed with the webhook's secret
// (HMAC-SHA256 over the timestamp and the body), retried with
// exponential backoff until the receiver answers 2xx or the attempts run
// out, and every attempt is kept for the API to show.
//
// Several server replicas may run a Dispatcher on one database: a
// delivery is claimed by one of them for each attempt.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/internal/buildinfo"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Events a webhook may subscribe to. Sharing events are named after the
// audit action that caused them ("sharing.grant.revoke").
const (
	EventFindingOpened       = "finding.opened"
	EventFindingResolved     = "finding.resolved"
	EventFindingAcknowledged = "finding.acknowledged"
	EventAssetDown           = "asset.down"
	EventAssetUp             = "asset.up"
	EventAgentSilent         = "agent.silent"
	EventPing                = "ping"
	SharingPrefix            = "sharing."
)

// findingEvents are the events about findings, and their families.
var findingEvents = []string{EventFindingOpened, EventFindingResolved, EventFindingAcknowledged,
	EventAssetDown, EventAssetUp, EventAgentSilent, "finding.*", "asset.*", "agent.*"}

// SharingActions are the audit actions that are sharing events.
var SharingActions = []string{
	"channel_partner.add", "channel_partner.update", "channel_partner.remove",
	"channel.assign", "channel.unassign", "channel.consent_give", "channel.consent_withdraw",
	"grant.revoke", "ou_key.use", "system_key.use",
}

// Headers of a delivery.
const (
	HeaderEvent     = "X-Kpilot-Event"
	HeaderDelivery  = "X-Kpilot-Delivery"
	HeaderTimestamp = "X-Kpilot-Timestamp"
	HeaderSignature = "X-Kpilot-Signature"
)

// Sign returns the signature header value of a body sent at ts:
// "sha256=" and the hex HMAC-SHA256 of "<unix seconds>.<body>" keyed
// with the webhook's secret. Receivers recompute it, compare in constant
// time and refuse old timestamps (replays).
func Sign(secret string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature and that its timestamp is within
// tolerance of now: what a receiver does (and the tests do).
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return errors.New("missing or malformed " + HeaderTimestamp)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %s is more than %s away", ts.UTC().Format(time.RFC3339), tolerance)
	}
	if !hmac.Equal([]byte(h.Get(HeaderSignature)), []byte(Sign(secret, ts, body))) {
		return errors.New("signature does not match")
	}
	return nil
}

// Matches reports whether a webhook subscribed to event: by name, by a
// prefix ending in "*", or "*" for everything.
func Matches(w store.Webhook, event string) bool {
	for _, e := range w.Events {
		if e == event || e == "*" || (strings.HasSuffix(e, "*") && strings.HasPrefix(event, strings.TrimSuffix(e, "*"))) {
			return true
		}
	}
	return false
}

// ValidEvent reports whether a subscription names events that exist.
func ValidEvent(e string) bool {
	switch {
	case e == "*" || slices.Contains(findingEvents, e) || e == "sharing.*":
		return true
	case strings.HasPrefix(e, SharingPrefix):
		for _, a := range SharingActions {
			if e == SharingPrefix+a {
				return true
			}
		}
	}
	return false
}

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	// MaxAttempts before a delivery is given up (8: about 2 hours).
	MaxAttempts int
	// FirstRetry is the wait after the first failure (30 s); each
	// further one doubles it, up to MaxRetry (1 h), with ±20% jitter.
	FirstRetry, MaxRetry time.Duration
	// Timeout of one attempt (10 s).
	Timeout time.Duration
	// AllowedNetworks are addresses a webhook may reach although they
	// are loopback, link-local or otherwise internal to the server's
	// host (refused by default; private networks are allowed).
	AllowedNetworks []netip.Prefix
	// Mail sends email channels and subscriptions; nil: they fail with
	// "this server sends no email" (and are shown so).
	Mail mail.Sender
	// PublicURL is the server's address as users reach it, without
	// trailing slash, for links to assets.
	PublicURL string
	// Muter says when an asset's opening events are muted (maintenance,
	// a parent that is down); nil mutes nothing.
	Muter Muter
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.FirstRetry == 0 {
		o.FirstRetry = 30 * time.Second
	}
	if o.MaxRetry == 0 {
		o.MaxRetry = time.Hour
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	return o
}

// Store is what the dispatcher uses of the store: the webhooks and their
// delivery queue, and, to address a new finding to the customer's service
// partner, the customer, its channel, assets and agents.
type Store interface {
	store.Webhooks
	store.Notifications
	store.Organizations
	store.Channel
	store.Assets
	store.Agents
	store.Accounts
	store.Checkups
}

var _ visibility.Source = Store(nil)

// Dispatcher queues and sends deliveries.
type Dispatcher struct {
	store  Store
	opts   Options
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}
	vis    *visibility.Loader

	attempts   *prometheus.CounterVec
	latency    prometheus.Histogram
	deliveries *prometheus.CounterVec
}

// New returns a dispatcher; reg receives its metrics (may be nil).
func New(s Store, opts Options, log *slog.Logger, reg prometheus.Registerer) *Dispatcher {
	opts = opts.withDefaults()
	d := &Dispatcher{store: s, opts: opts, log: log, now: time.Now, wake: make(chan struct{}, 1),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpilot_webhook_attempts_total",
			Help: "Webhook delivery attempts, by result (delivered, failed: will retry, gave_up)."}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kpilot_webhook_attempt_duration_seconds",
			Help: "Time of one webhook delivery attempt.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 8)}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpilot_notification_deliveries_total",
			Help: "Notification delivery attempts, by channel kind (webhook, teams, slack, email) and result (delivered, failed: will retry, gave_up, suppressed: the recipient may no longer see it)."},
			[]string{"kind", "result"}),
	}
	if s != nil {
		d.vis = visibility.NewLoader(s)
	}
	if reg != nil {
		reg.MustRegister(d.attempts, d.latency, d.deliveries)
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: d.checkAddress}
	d.client = &http.Client{
		Timeout: opts.Timeout,
		Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil, TLSHandshakeTimeout: opts.Timeout,
			MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute},
		// A redirect is an answer, not a place to go: a receiver
		// cannot send the signed body elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return d
}

// SetClock replaces time.Now (tests).
func (d *Dispatcher) SetClock(now func() time.Time) { d.now = now }

// ErrAddressRefused is returned for an endpoint the server may not call.
var ErrAddressRefused = errors.New("address not allowed for webhooks")

// checkAddress refuses, at connect time (so DNS cannot be used to get
// around it), loopback, link-local (cloud metadata), unspecified and
// multicast addresses unless AllowedNetworks lists them.
func (d *Dispatcher) checkAddress(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	return d.allowed(ip.Unmap())
}

func (d *Dispatcher) allowed(ip netip.Addr) error {
	for _, p := range d.opts.AllowedNetworks {
		if p.Contains(ip) {
			return nil
		}
	}
	if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() ||
		ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("%w: %s (loopback, link-local and multicast are refused unless webhooks.allowed_networks lists them)", ErrAddressRefused, ip)
	}
	return nil
}

// CheckURL validates an endpoint URL when a webhook is registered: http
// or https, a host, no credentials, and, when the host is an address,
// one the dispatcher may reach. Names are checked again at each connect.
func (d *Dispatcher) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return errors.New("url: an http:// or https:// URL")
	}
	if u.User != nil {
		return errors.New("url: no user or password in the URL; the signature authenticates the server")
	}
	if len(raw) > 2000 {
		return errors.New("url: at most 2000 characters")
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if err := d.allowed(ip.Unmap()); err != nil {
			return fmt.Errorf("url: %w", err)
		}
	}
	return nil
}

// envelope is the JSON body of every delivery.
type envelope struct {
	ID             string    `json:"id"` // the delivery id, as in X-Kpilot-Delivery
	Event          string    `json:"event"`
	CreatedAt      time.Time `json:"created_at"`
	OrganizationID string    `json:"organization_id"` // the receiving webhook's organization
	Data           any       `json:"data"`
}

// Publish queues event for every webhook of orgIDs that subscribed to
// it, and wakes the sender. data is the event's "data" object. Events
// that are not about a finding go to webhooks only (not to the other
// channel kinds or to users' subscriptions).
func (d *Dispatcher) Publish(ctx context.Context, orgIDs []string, event string, data any) error {
	return d.publish(ctx, orgIDs, event, data, nil)
}

func (d *Dispatcher) publish(ctx context.Context, orgIDs []string, event string, data any, m *findingMeta) error {
	if len(orgIDs) == 0 {
		return nil
	}
	hooks, err := d.store.WebhooksOf(ctx, orgIDs)
	if err != nil {
		return fmt.Errorf("publishing %s: %w", event, err)
	}
	now := d.now().UTC().Truncate(time.Millisecond)
	var ds []*store.WebhookDelivery
	for _, h := range hooks {
		if !m.wants(h, event) {
			continue
		}
		for _, to := range recipients(h) {
			id := uuid.NewString()
			body, err := json.Marshal(envelope{ID: id, Event: event, CreatedAt: now, OrganizationID: h.OrgID, Data: data})
			if err != nil {
				return fmt.Errorf("publishing %s: %w", event, err)
			}
			v := &store.WebhookDelivery{ID: id, WebhookID: h.ID, OrgID: h.OrgID, Event: event, Payload: body,
				CreatedAt: now, NextAttemptAt: digestDue(h.Digest, now), Recipient: to}
			if m != nil {
				v.FindingID, v.DedupeKey = m.finding.ID, m.key
			}
			ds = append(ds, v)
		}
	}
	if err := d.store.EnqueueDeliveries(ctx, ds); err != nil {
		return fmt.Errorf("publishing %s: %w", event, err)
	}
	if slices.ContainsFunc(ds, func(v *store.WebhookDelivery) bool { return v.State == store.DeliveryPending }) {
		d.wakeUp()
	}
	return nil
}

func (d *Dispatcher) wakeUp() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Ping queues a ping to one channel (to each address of an email
// channel), whatever it subscribed to, due at once, and returns the
// first delivery: to try a channel.
func (d *Dispatcher) Ping(ctx context.Context, h store.Webhook) (store.WebhookDelivery, error) {
	now := d.now().UTC().Truncate(time.Millisecond)
	var ds []*store.WebhookDelivery
	for _, to := range recipients(h) {
		id := uuid.NewString()
		body, err := json.Marshal(envelope{ID: id, Event: EventPing, CreatedAt: now, OrganizationID: h.OrgID,
			Data: map[string]string{"webhook_id": h.ID}})
		if err != nil {
			return store.WebhookDelivery{}, err
		}
		ds = append(ds, &store.WebhookDelivery{ID: id, WebhookID: h.ID, OrgID: h.OrgID, Event: EventPing, Payload: body,
			CreatedAt: now, NextAttemptAt: now, Recipient: to})
	}
	if err := d.store.EnqueueDeliveries(ctx, ds); err != nil {
		return store.WebhookDelivery{}, err
	}
	d.wakeUp()
	return *ds[0], nil
}

// Woken receives when Publish or Ping queued a delivery, so that the loop
// calling SendDue (a leased job, package server/lease) sends it at once
// rather than at its next tick.
func (d *Dispatcher) Woken() <-chan struct{} { return d.wake }

// SendDue makes one attempt at every due delivery.
func (d *Dispatcher) SendDue(ctx context.Context) error {
	for {
		due, err := d.store.DueDeliveries(ctx, d.now(), 50)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		sent := 0
		for _, v := range due {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ok, err := d.attempt(ctx, v)
			if err != nil {
				return err
			}
			if ok {
				sent++
			}
		}
		if sent == 0 {
			return nil // all claimed by other replicas meanwhile
		}
	}
}

// attempt claims v and tries it once; false when another replica had it.
// A digest's attempt also claims and sends the channel's other due
// events for the same recipient, in one message.
func (d *Dispatcher) attempt(ctx context.Context, v store.WebhookDelivery) (bool, error) {
	now := d.now()
	// The claim outlasts the attempt, so a replica that dies mid-attempt
	// leaves the delivery to be retried, not lost.
	until := now.Add(2*d.opts.Timeout + time.Minute)
	ok, err := d.store.ClaimDelivery(ctx, v, now, until)
	if err != nil || !ok {
		return false, err
	}
	h, err := d.store.Webhook(ctx, v.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil // deleted meanwhile; its deliveries went with it
	}
	if err != nil {
		return false, err
	}
	batch := []store.WebhookDelivery{v}
	if h.Digest != "" {
		more, err := d.claimDigest(ctx, h, v, now, until)
		if err != nil {
			return true, err
		}
		batch = append(batch, more...)
	}
	var send []store.WebhookDelivery
	for _, x := range batch {
		reason, err := d.withheld(ctx, h, x)
		if err != nil {
			return true, fmt.Errorf("delivery %s: %w", x.ID, err)
		}
		if reason == "" {
			send = append(send, x)
			continue
		}
		x.State, x.LastError = store.DeliverySuppressed, reason
		d.deliveries.WithLabelValues(h.ChannelKind(), "suppressed").Inc()
		if err := d.store.RecordAttempt(ctx, x, store.WebhookAttempt{DeliveryID: x.ID, At: d.now(), Error: reason}); err != nil {
			return true, err
		}
	}
	if len(send) == 0 {
		return true, nil
	}
	start := time.Now()
	status, sendErr := d.deliver(ctx, h, send)
	took := time.Since(start)
	d.latency.Observe(took.Seconds())
	wait := d.backoff(send[0].Attempts + 1) // one wait for all, so a digest stays one
	for _, x := range send {
		if err := d.record(ctx, h, x, status, sendErr, took, wait); err != nil {
			return true, err
		}
	}
	return true, nil
}

// record stores the outcome of an attempt at v.
func (d *Dispatcher) record(ctx context.Context, h store.Webhook, v store.WebhookDelivery, status int, sendErr error, took, wait time.Duration) error {
	at := d.now()
	v.Attempts++
	v.LastStatus = status
	a := store.WebhookAttempt{DeliveryID: v.ID, At: at, StatusCode: status, Duration: took}
	result := "delivered"
	switch {
	case sendErr == nil:
		v.State, v.DeliveredAt, v.LastError = store.DeliveryDelivered, at, ""
	case v.Attempts >= d.opts.MaxAttempts:
		v.State, v.LastError, a.Error = store.DeliveryFailed, sendErr.Error(), sendErr.Error()
		result = "gave_up"
		d.log.Warn("delivery given up", "channel", h.ID, "kind", h.ChannelKind(), "delivery", v.ID, "event", v.Event,
			"attempts", v.Attempts, "err", sendErr)
	default:
		v.LastError, a.Error = sendErr.Error(), sendErr.Error()
		v.NextAttemptAt = at.Add(wait)
		result = "failed"
		d.log.Info("delivery failed; will retry", "channel", h.ID, "kind", h.ChannelKind(), "delivery", v.ID,
			"attempt", v.Attempts, "next", v.NextAttemptAt, "err", sendErr)
	}
	d.attempts.WithLabelValues(result).Inc()
	d.deliveries.WithLabelValues(h.ChannelKind(), result).Inc()
	return d.store.RecordAttempt(ctx, v, a)
}

// backoff is the wait after the n-th failed attempt.
func (d *Dispatcher) backoff(n int) time.Duration {
	w := d.opts.FirstRetry
	for i := 1; i < n && w < d.opts.MaxRetry; i++ {
		w *= 2
	}
	w = min(w, d.opts.MaxRetry)
	return time.Duration(float64(w) * (0.8 + 0.4*rand.Float64()))
}

// send posts one delivery to a webhook, signed; a status other than
// 2xx is an error.
func (d *Dispatcher) send(ctx context.Context, h store.Webhook, v store.WebhookDelivery) (int, error) {
	ts := d.now()
	return d.post(ctx, h.URL, v.Payload, func(hd http.Header) {
		hd.Set(HeaderEvent, v.Event)
		hd.Set(HeaderDelivery, v.ID)
		hd.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		hd.Set(HeaderSignature, Sign(h.Secret, ts, v.Payload))
	})
}

// post sends body to target within the attempt timeout, through the
// client whose dialer refuses internal addresses.
func (d *Dispatcher) post(ctx context.Context, target string, body []byte, headers func(http.Header)) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kpilot-webhook/"+buildinfo.Version)
	if headers != nil {
		headers(req.Header)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the channel's own (and may hold its secret); keep the cause
		}
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
