package api

import "time"

// SetClock makes a's clock now, for tests that wait out rate limits.
func SetClock(a *API, now func() time.Time) { a.now = now }
