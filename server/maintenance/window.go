package maintenance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// MaxDuration bounds a window: a week. A longer "maintenance" is an asset
// out of service, which is better deleted or moved than muted.
const MaxDuration = 7 * 24 * time.Hour

// parser reads the five standard cron fields (minute, hour, day of month,
// month, day of week) and the descriptors (@daily, @weekly, @monthly…).
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// schedule parses a recurrence in a time zone.
func schedule(recurrence, tz string) (cron.Schedule, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	s, err := parser.Parse(recurrence)
	if err != nil {
		return nil, err
	}
	if spec, ok := s.(*cron.SpecSchedule); ok {
		spec.Location = loc
	}
	return s, nil
}

// Validate checks a window's scope and times. Each problem names its
// field; all are returned in one Invalid error.
func Validate(w store.MaintenanceWindow) error {
	var errs []string
	bad := func(field, format string, args ...any) {
		errs = append(errs, field+": "+fmt.Sprintf(format, args...))
	}
	scopes := 0
	for _, id := range []string{w.AssetID, w.GroupID, w.OUID} {
		if id != "" {
			scopes++
		}
	}
	if scopes != 1 {
		bad("scope", "give exactly one of asset_id, group_id and ou_id")
	}
	if len(w.Name) > 200 {
		bad("name", "at most 200 characters")
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil || w.TimeZone == "" || strings.EqualFold(w.TimeZone, "local") {
		bad("timezone", "%q is not an IANA time zone name (like Europe/Berlin or UTC)", w.TimeZone)
	}
	switch {
	case w.Recurrence == "" && (w.StartsAt.IsZero() || w.EndsAt.IsZero()):
		bad("recurrence", "give either starts_at and ends_at (once) or recurrence and duration (repeating)")
	case w.Recurrence == "":
		if !w.EndsAt.After(w.StartsAt) {
			bad("ends_at", "must be after starts_at")
		} else if w.EndsAt.Sub(w.StartsAt) > 31*24*time.Hour {
			bad("ends_at", "a one-off window lasts at most 31 days")
		}
		if w.Duration != 0 {
			bad("duration", "only with a recurrence; a one-off window ends at ends_at")
		}
	default:
		if !w.StartsAt.IsZero() || !w.EndsAt.IsZero() {
			bad("starts_at", "only for a one-off window; a recurring one starts by its recurrence")
		}
		if strings.Contains(w.Recurrence, "TZ=") || strings.HasPrefix(w.Recurrence, "@every") {
			bad("recurrence", "give the time zone in timezone, and start times rather than @every")
		} else if _, err := parser.Parse(w.Recurrence); err != nil {
			bad("recurrence", "%q is not a cron expression (minute hour day-of-month month day-of-week, e.g. \"0 22 * * sat\"): %v",
				w.Recurrence, err)
		}
		if w.Duration < time.Minute || w.Duration > MaxDuration {
			bad("duration", "between 1 minute and %s", MaxDuration)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return problem.Invalidf("invalid maintenance window: %s", strings.Join(errs, "; "))
}

// Occurrence returns the stretch [start, end) of w that holds at, if any.
// A recurring window holds from each start its recurrence gives, in its
// time zone, for its duration.
func Occurrence(w store.MaintenanceWindow, at time.Time) (start, end time.Time, ok bool) {
	if w.Recurrence == "" {
		return w.StartsAt, w.EndsAt, !at.Before(w.StartsAt) && at.Before(w.EndsAt)
	}
	s, err := schedule(w.Recurrence, w.TimeZone)
	if err != nil || w.Duration <= 0 {
		return time.Time{}, time.Time{}, false
	}
	// Next is strictly after its argument: the first start after
	// at-duration is the one whose stretch may still hold at.
	start = s.Next(at.Add(-w.Duration))
	if start.IsZero() || start.After(at) {
		return time.Time{}, time.Time{}, false
	}
	return start.UTC(), start.Add(w.Duration).UTC(), true
}

// Occurrences returns the stretches of w that overlap [from, to), in
// time order, clipped to it.
func Occurrences(w store.MaintenanceWindow, from, to time.Time) [][2]time.Time {
	clip := func(s, e time.Time) [2]time.Time {
		return [2]time.Time{maxTime(s, from), minTime(e, to)}
	}
	if w.Recurrence == "" {
		if w.StartsAt.Before(to) && w.EndsAt.After(from) {
			return [][2]time.Time{clip(w.StartsAt, w.EndsAt)}
		}
		return nil
	}
	s, err := schedule(w.Recurrence, w.TimeZone)
	if err != nil || w.Duration <= 0 {
		return nil
	}
	var out [][2]time.Time
	for t := s.Next(from.Add(-w.Duration)); !t.IsZero() && t.Before(to); t = s.Next(t) {
		out = append(out, clip(t.UTC(), t.Add(w.Duration).UTC()))
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Scope is what the windows of one organization are matched against: its
// OU tree and device groups.
type Scope struct {
	OrgID  string
	OUs    []store.OU
	Groups []store.DeviceGroup
}

// Covers reports whether w concerns asset a: a window of the asset, of a
// device group it is a member of, or of its OU or an OU above.
func (sc Scope) Covers(w store.MaintenanceWindow, a store.Asset) bool {
	switch {
	case w.OrgID != a.OrgID:
		return false
	case w.AssetID != "":
		return w.AssetID == a.ID
	case w.GroupID != "":
		i := slices.IndexFunc(sc.Groups, func(g store.DeviceGroup) bool { return g.ID == w.GroupID })
		return i >= 0 && slices.Contains(sc.Groups[i].AssetIDs, a.ID)
	case w.OUID != "":
		return visibility.Subtree(sc.OrgID, w.OUID, sc.OUs)[a.OUID]
	}
	return false
}
