// Package backoff computes capped exponential delays with full jitter.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff holds the state of one retry sequence. The zero value is not
// useful; set Min and Max. Not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	attempt  int
}

// Next returns the delay before the next attempt: a random duration in
// [d/2, d] where d doubles with every failure from Min up to Max. Jitter
// keeps a fleet of agents from retrying in lockstep after a server outage.
func (b *Backoff) Next() time.Duration {
	d := b.Min << min(b.attempt, 30)
	if d > b.Max || d <= 0 {
		d = b.Max
	}
	b.attempt++
	half := d / 2
	return half + rand.N(half+1)
}

// Reset starts the sequence over after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Sleep waits for d or until ctx is done, whichever comes first, and reports
// whether the full delay passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
