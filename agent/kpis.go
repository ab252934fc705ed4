package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kpilot/kpilot/agent/ship"
	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/backoff"
	"github.com/kpilot/kpilot/internal/catalog"
)

// kpiPath is where the server takes an agent's KPI definitions.
const kpiPath = "/api/v1/agents/self/kpis"

// KPIDefinitions returns the kpis sections of the user's own profiles and
// templates the entries use (collectors.KPIDefiner); the server knows the
// built-in ones.
func (c *Config) KPIDefinitions() []catalog.Section {
	var out []catalog.Section
	for _, cc := range c.Collectors {
		if d, ok := cc.Config.(collectors.KPIDefiner); ok {
			out = append(out, d.KPIDefinitions()...)
		}
	}
	return out
}

// kpiSender sends the definitions of the user's own profiles and
// templates to the server, at start and after a reload that changed them,
// retrying with backoff until the server has them. It runs beside
// polling and shipping and holds up neither: definitions only name
// values, which the server stores without them.
type kpiSender struct {
	client   *http.Client
	url      string
	token    string
	log      *slog.Logger
	min, max time.Duration // backoff

	mu      sync.Mutex
	pending []byte // the set to send next, nil when none
	settled []byte // the set the server last accepted or refused for good
	notify  chan struct{}
}

func newKPISender(client *http.Client, serverURL, token string, log *slog.Logger) *kpiSender {
	return &kpiSender{client: client, url: strings.TrimRight(serverURL, "/") + kpiPath, token: token, log: log,
		min: time.Second, max: 5 * time.Minute, notify: make(chan struct{}, 1)}
}

// offer makes sections the set to send. A set that does not build (two
// profiles define one field differently) is logged and not sent; an empty
// set is sent only to clear one this run sent before; the set in force or
// on its way is not sent again.
func (k *kpiSender) offer(sections []catalog.Section) {
	c, err := catalog.New(catalog.User, sections...)
	if err != nil {
		k.log.Error("KPI definitions of the profiles and templates in use are invalid; the server is not sent them", "err", err)
		return
	}
	body := []byte("[]")
	if c.Len() > 0 || len(c.Measurements()) > 0 {
		if body, err = json.Marshal(c.Section()); err != nil {
			k.log.Error("encoding KPI definitions", "err", err)
			return
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.settled == nil && k.pending == nil && c.Len() == 0 && len(c.Measurements()) == 0:
		return // nothing of the user's own, nothing sent before
	case bytes.Equal(body, k.pending), k.pending == nil && bytes.Equal(body, k.settled):
		return
	}
	k.pending = body
	select {
	case k.notify <- struct{}{}:
	default:
	}
}

// take returns the set to send, if any, and clears it.
func (k *kpiSender) take() ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	body := k.pending
	k.pending = nil
	return body, body != nil
}

// settle records body as the server's answer for good; retry puts it back
// unless a newer set came meanwhile.
func (k *kpiSender) settle(body []byte) {
	k.mu.Lock()
	k.settled = body
	k.mu.Unlock()
}

func (k *kpiSender) retry(body []byte) {
	k.mu.Lock()
	if k.pending == nil {
		k.pending = body
	}
	k.mu.Unlock()
}

// run sends each set offered until ctx is done.
func (k *kpiSender) run(ctx context.Context) {
	b := backoff.Backoff{Min: k.min, Max: k.max}
	for {
		body, ok := k.take()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-k.notify:
				continue
			}
		}
		wait, err := k.send(ctx, body)
		if ctx.Err() != nil {
			return
		}
		if err == nil || wait < 0 {
			b.Reset()
			k.settle(body)
			if err != nil {
				k.log.Error("the server refused the KPI definitions of the profiles and templates in use; they are sent again once they change", "err", err)
			}
			continue
		}
		k.retry(body)
		wait = max(wait, b.Next())
		k.log.Warn("sending KPI definitions failed; retrying", "err", err, "retry_in", wait.Round(time.Second))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-k.notify: // a newer set goes at once
			t.Stop()
		}
	}
}

// send puts body to the server. wait is how long the server asked to wait
// before a retry, or -1 when retrying cannot help (the set is refused, or
// the server is older than the endpoint).
func (k *kpiSender) send(ctx context.Context, body []byte) (wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, k.url, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("User-Agent", ship.UserAgent())
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sending KPI definitions: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var answer struct {
		Error       string   `json:"error"`
		Definitions int      `json:"definitions"`
		BuiltIn     []string `json:"built_in"`
	}
	_ = json.Unmarshal(raw, &answer)
	msg := answer.Error
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		k.log.Info("KPI definitions sent", "definitions", answer.Definitions)
		if len(answer.BuiltIn) > 0 {
			k.log.Warn("the server's built-in definitions stay in force for fields the profiles define again", "fields", strings.Join(answer.BuiltIn, ", "))
		}
		return 0, nil
	case code == http.StatusTooManyRequests || code == http.StatusUnauthorized || code == http.StatusRequestTimeout || code >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("server answered %s: %s", resp.Status, msg)
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		return -1, fmt.Errorf("server answered %s: it is older than this agent and keeps built-in KPI definitions only", resp.Status)
	default:
		return -1, fmt.Errorf("server answered %s: %s", resp.Status, msg)
	}
}

// retryAfter reads delay-seconds, capped at an hour; 0 if none.
func retryAfter(h string) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(h) + "s")
	if h == "" || err != nil || d < 0 {
		return 0
	}
	return min(d, time.Hour)
}
