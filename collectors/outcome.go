package collectors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Outcome is the class of one poll's result. Its values are those of the
// agent_poll outcome field (docs/agent.md): only Unreachable counts as
// downtime; rejected credentials and protocol errors are a monitoring
// problem for the owner's admins.
type Outcome int

// Outcome classes.
const (
	OutcomeOK                  Outcome = 0 // the poll read what it should
	OutcomePartial             Outcome = 1 // it returned data, and reported problems with some of it
	OutcomeUnreachable         Outcome = 2 // no answer: timeout, connection refused, no route, DNS failure
	OutcomeCredentialsRejected Outcome = 3 // the device answered and refused the credentials
	OutcomeProtocolError       Outcome = 4 // the device answered something the collector cannot use
)

var outcomeNames = [...]string{"ok", "partial", "unreachable", "credentials_rejected", "protocol_error"}

// String returns the outcome's name as metrics, logs and the API show it:
// ok, partial, unreachable, credentials_rejected or protocol_error.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// Outcomes lists every outcome class in order.
func Outcomes() []Outcome {
	return []Outcome{OutcomeOK, OutcomePartial, OutcomeUnreachable, OutcomeCredentialsRejected, OutcomeProtocolError}
}

// OutcomeError is a failed poll's error with its class. Collectors return
// it (wrapped or not) so that the class survives; Classify finds it with
// errors.As.
type OutcomeError struct {
	Class Outcome
	Err   error
}

func (e *OutcomeError) Error() string { return e.Err.Error() }

// Unwrap returns the error that was classified.
func (e *OutcomeError) Unwrap() error { return e.Err }

// statusError is an error that carries the HTTP status of the target's
// answer (the Redfish and REST collectors' HTTP errors implement it).
type statusError interface{ HTTPStatus() int }

// Classify returns the class of a poll's error: OutcomeOK for nil, the
// Class of an OutcomeError in its chain, and otherwise what the error
// says. Anything it does not recognise is a protocol error: a device is
// down only when it is known not to answer.
func Classify(err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	var oe *OutcomeError
	if errors.As(err, &oe) {
		return oe.Class
	}
	if credentialsRejected(err) {
		return OutcomeCredentialsRejected
	}
	if certificateRejected(err) {
		return OutcomeProtocolError
	}
	if unreachable(err) {
		return OutcomeUnreachable
	}
	return OutcomeProtocolError
}

// HTTPStatusOutcome classes an HTTP answer status that is not 2xx: 401
// and 403 refuse the credentials, anything else is a protocol error.
func HTTPStatusOutcome(status int) Outcome {
	if status == 401 || status == 403 {
		return OutcomeCredentialsRejected
	}
	return OutcomeProtocolError
}

// credentialsRejected reports an SNMPv3 report of the user security model
// or an HTTP 401 or 403. (A wrong SNMP v1/v2c community is never
// answered: it is a timeout.)
func credentialsRejected(err error) bool {
	for _, e := range []error{gosnmp.ErrUnknownUsername, gosnmp.ErrWrongDigest, gosnmp.ErrDecryption, gosnmp.ErrUnknownSecurityLevel} {
		if errors.Is(err, e) {
			return true
		}
	}
	if IsSNMPUnauthentic(err) {
		return true
	}
	var se statusError
	return errors.As(err, &se) && HTTPStatusOutcome(se.HTTPStatus()) == OutcomeCredentialsRejected
}

// IsSNMPUnauthentic reports gosnmp's refusal of an SNMPv3 answer that does
// not authenticate with the configured user's keys. An agent sends its
// usmStatsUnknownUserNames and usmStatsWrongDigests reports without
// authentication, and gosnmp (v1.47) checks them against the configured
// security level before it reads them, so this is how a wrong v3 user
// or auth password shows. gosnmp gives the error no type; the text is
// pinned by a test against net-snmp's snmpd.
func IsSNMPUnauthentic(err error) bool {
	return strings.Contains(err.Error(), "incoming packet is not authentic")
}

// certificateRejected reports a TLS certificate the collector does not
// trust: the device answered, with a certificate it cannot check.
func certificateRejected(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify)
}

// unreachable reports a target that did not answer at all.
func unreachable(err error) bool {
	if IsTimeout(err) {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EHOSTDOWN,
		syscall.ENETDOWN, syscall.ECONNRESET, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// IsTimeout reports an error that means no answer came in time: a
// deadline, a network timeout, or gosnmp's exhausted retries.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Peer names the device a collector polls, for the messages of its failed
// polls.
type Peer struct {
	// Addr is how the operator knows the target: host:port for SNMP,
	// scheme://host:port for HTTP (HTTPAddr).
	Addr string
	// Ask ends the message of a poll that got no answer; empty means
	// "is it reachable?". SNMP v1/v2c asks about the community, since an
	// agent does not answer a wrong one.
	Ask string
}

// Explain classifies a failed poll's error and, where the network failed,
// replaces the message with one that names the likely cause:
//
//	no answer from 192.0.2.10:161 within 10s: is it reachable, and is the community right?
//
// waited is how long the poll ran; answered says whether the target
// answered anything in this poll: a target that answered and then ran
// out of time is slow, not down (a protocol error). An error that
// already is an OutcomeError is returned as it is; nil stays nil.
func (p Peer) Explain(err error, waited time.Duration, answered bool) error {
	if err == nil {
		return nil
	}
	var oe *OutcomeError
	if errors.As(err, &oe) {
		return err
	}
	class := Classify(err)
	var dns *net.DNSError
	var errno syscall.Errno
	switch {
	case class == OutcomeUnreachable && IsTimeout(err) && answered:
		return reword(OutcomeProtocolError, err,
			"%s answered, but then not in time (the poll gave up after %s): it answers slowly or is overloaded; raise timeout, or read less",
			p.Addr, Round(waited))
	case class == OutcomeUnreachable && IsTimeout(err):
		return reword(class, err, "no answer from %s within %s: %s", p.Addr, Round(waited), p.ask())
	case class == OutcomeUnreachable && errors.Is(err, syscall.ECONNREFUSED):
		return reword(class, err, "nothing listens at %s (connection refused): is the service running, and are the address and port right?", p.Addr)
	case class == OutcomeUnreachable && errors.As(err, &dns):
		return reword(class, err, "the name of %s cannot be resolved (%v): is it spelt right, and does the agent's DNS know it?", p.Addr, dns)
	case class == OutcomeUnreachable && errors.As(err, &errno):
		return reword(class, err, "%s cannot be reached (%v): is it on, and is the network path to it open?", p.Addr, errno)
	case certificateRejected(err):
		return reword(class, err, "%s: TLS certificate not trusted (%s): set ca_file to the CA that issued it, or insecure_skip_verify: true for a self-signed one",
			p.Addr, certificateProblem(err))
	}
	return &OutcomeError{Class: class, Err: err}
}

func (p Peer) ask() string {
	if p.Ask == "" {
		return "is it reachable?"
	}
	return p.Ask
}

// certificateProblem is the x509 reason without the URL and the request
// that net/http puts around it.
func certificateProblem(err error) string {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return verify.Err.Error()
	}
	return err.Error()
}

// reword returns an OutcomeError whose message is format, keeping cause
// for errors.Is and errors.As.
func reword(class Outcome, cause error, format string, args ...any) error {
	return Reworded(class, fmt.Sprintf(format, args...), cause)
}

// Reworded returns an OutcomeError of class whose message is msg alone:
// for a cause whose own text helps no operator. cause is kept for
// errors.Is and errors.As.
func Reworded(class Outcome, msg string, cause error) error {
	return &OutcomeError{Class: class, Err: &reworded{msg: msg, cause: cause}}
}

type reworded struct {
	msg   string
	cause error
}

func (e *reworded) Error() string { return e.msg }
func (e *reworded) Unwrap() error { return e.cause }

// NoAnswer is the error of one request that got no answer within d, its
// own timeout (the config key setting names it), within a poll that goes
// on. cause is kept for errors.Is.
func NoAnswer(d time.Duration, setting string, cause error) error {
	return &reworded{msg: fmt.Sprintf("no answer within %s (%s)", Round(d), setting), cause: cause}
}

// Round shortens a duration for a message: whole seconds from 1s,
// hundredths below.
func Round(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

// Waited is how long a poll that began at start waited: up to its
// deadline when ctx ran out (the timeout as configured, not the few
// milliseconds more it took to notice), else until now.
func Waited(ctx context.Context, start time.Time) time.Duration {
	if d, ok := ctx.Deadline(); ok && ctx.Err() != nil && d.After(start) {
		return d.Sub(start)
	}
	return time.Since(start)
}

// HTTPAddr is scheme://host:port of u, with the scheme's default port
// written out, as Peer.Addr of an HTTP collector.
func HTTPAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port)
}
