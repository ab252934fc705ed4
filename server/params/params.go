// Package params reads the query parameters the JSON API shares: times,
// periods, lookbacks and series requests. Its errors name the parameter
// and what it takes; the API answers them as 400.
package params

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/tsdb"
)

// Time reads an RFC 3339 time, "now", or a duration relative to now
// ("-6h"); "" is def.
func Time(s string, def, now time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, errors.New("use an RFC 3339 time (2026-01-02T15:04:05Z), now, or a duration relative to now (-6h)")
}

// Period reads start (default now+defStart) and stop (default now); start
// must be before stop, and the period at most maxSpan long.
func Period(q url.Values, now time.Time, defStart, maxSpan time.Duration) (start, stop time.Time, err error) {
	if start, err = Time(q.Get("start"), now.Add(defStart), now); err != nil {
		return start, start, fmt.Errorf("start: %w", err)
	}
	if stop, err = Time(q.Get("stop"), now, now); err != nil {
		return start, stop, fmt.Errorf("stop: %w", err)
	}
	if !start.Before(stop) {
		return start, stop, errors.New("start must be before stop")
	}
	if stop.Sub(start) > maxSpan {
		return start, stop, fmt.Errorf("the period may be at most %s long", maxSpan)
	}
	return start, stop, nil
}

// Before reads the before parameter of a page: an RFC 3339 time; "" is
// the zero time (the newest page).
func Before(q url.Values) (time.Time, error) {
	b := q.Get("before")
	if b == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, b)
	if err != nil {
		return t, fmt.Errorf("before %q: an RFC 3339 time", b)
	}
	return t, nil
}

// Every reads the every parameter of a period from start to stop: a
// window length of at least a minute, at most 1000 windows; "" is 0 (no
// windows).
func Every(q url.Values, start, stop time.Time) (time.Duration, error) {
	e := q.Get("every")
	if e == "" {
		return 0, nil
	}
	every, err := time.ParseDuration(e)
	if err != nil || every < time.Minute {
		return 0, fmt.Errorf("every %q: a duration of at least 1m", e)
	}
	if stop.Sub(start)/every > 1000 {
		return 0, fmt.Errorf("every %q: at most 1000 windows per query", e)
	}
	return every, nil
}

// Lookback reads the lookback parameter: a duration from lo to hi; ""
// is def.
func Lookback(q url.Values, def, lo, hi time.Duration) (time.Duration, error) {
	l := q.Get("lookback")
	if l == "" {
		return def, nil
	}
	d, err := time.ParseDuration(l)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("lookback %q: a duration from %s to %s", l, short(lo), short(hi))
	}
	return d, nil
}

// short writes a duration without trailing zero units (1m, 24h).
func short(d time.Duration) string {
	s := d.String()
	s, _ = strings.CutSuffix(s, "0s")
	s, _ = strings.CutSuffix(s, "0m")
	return s
}

// Series reads a series request (measurement, field, start, stop, every,
// fn) of asset; start defaults to an hour ago, and every without fn
// means mean.
func Series(q url.Values, asset tsdb.AssetRef, now time.Time) (tsdb.SeriesQuery, error) {
	sq := tsdb.SeriesQuery{Asset: asset, Measurement: q.Get("measurement"), Field: q.Get("field"), Fn: q.Get("fn")}
	var err error
	if sq.Start, err = Time(q.Get("start"), now.Add(-time.Hour), now); err != nil {
		return sq, fmt.Errorf("start: %w", err)
	}
	if sq.Stop, err = Time(q.Get("stop"), now, now); err != nil {
		return sq, fmt.Errorf("stop: %w", err)
	}
	if e := q.Get("every"); e != "" {
		if sq.Every, err = time.ParseDuration(e); err != nil {
			return sq, fmt.Errorf("every %q: not a duration", e)
		}
		if sq.Fn == "" {
			sq.Fn = "mean"
		}
	}
	if err := sq.Validate(); err != nil {
		return sq, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return sq, nil
}

// Usage reads a usage request: period (availability.Day, Week or Month;
// default day), and start and stop as Period reads them, at most maxSpan
// apart. Without start the report starts at availability.DefaultStart,
// aligned to the calendar.
func Usage(q url.Values, now time.Time, maxSpan time.Duration) (period string, start, stop time.Time, err error) {
	period = cmp.Or(q.Get("period"), availability.Day)
	from, err := availability.DefaultStart(period, now)
	if err != nil {
		return period, start, stop, err
	}
	if start, stop, err = Period(q, now, from.Sub(now), maxSpan); err != nil {
		return period, start, stop, err
	}
	if q.Get("start") == "" {
		start = from
	}
	return period, start, stop, nil
}
