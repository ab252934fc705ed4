package maintenance

import (
	"context"
	"time"

	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/store"
)

// Doc is a maintenance window as the API reads and writes it (JSON).
type Doc struct {
	ID              string     `json:"id"`
	AssetID         string     `json:"asset_id,omitempty"`
	GroupID         string     `json:"group_id,omitempty"`
	OUID            string     `json:"ou_id,omitempty"`
	Name            string     `json:"name"`
	StartsAt        *time.Time `json:"starts_at,omitempty"`
	EndsAt          *time.Time `json:"ends_at,omitempty"`
	Recurrence      string     `json:"recurrence,omitempty"`
	DurationMinutes int64      `json:"duration_minutes,omitempty"`
	TimeZone        string     `json:"timezone"`
	CreatedBy       string     `json:"created_by,omitempty"`
	CreatedAt       *time.Time `json:"created_at,omitempty"`
}

// Docs returns the documents of windows.
func Docs(ws []store.MaintenanceWindow) []Doc {
	out := make([]Doc, len(ws))
	for i, w := range ws {
		out[i] = ToDoc(w)
	}
	return out
}

// ToDoc returns the document of a window.
func ToDoc(w store.MaintenanceWindow) Doc {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	return Doc{ID: w.ID, AssetID: w.AssetID, GroupID: w.GroupID, OUID: w.OUID, Name: w.Name, StartsAt: opt(w.StartsAt),
		EndsAt: opt(w.EndsAt), Recurrence: w.Recurrence, DurationMinutes: int64(w.Duration / time.Minute), TimeZone: w.TimeZone,
		CreatedBy: w.CreatedBy, CreatedAt: opt(w.CreatedAt)}
}

// Window returns the window d describes, with id.
func (d Doc) Window(id string) store.MaintenanceWindow {
	w := store.MaintenanceWindow{ID: id, AssetID: d.AssetID, GroupID: d.GroupID, OUID: d.OUID, Name: d.Name, Recurrence: d.Recurrence,
		Duration: time.Duration(d.DurationMinutes) * time.Minute, TimeZone: d.TimeZone}
	if d.StartsAt != nil {
		w.StartsAt = *d.StartsAt
	}
	if d.EndsAt != nil {
		w.EndsAt = *d.EndsAt
	}
	return w
}

// MarkPlanned marks the downtime of segs inside the maintenance windows
// of asset as in [start, stop) planned (availability.MarkPlanned).
func MarkPlanned(ctx context.Context, st Store, as store.Asset, segs []availability.Segment, start, stop time.Time) ([]availability.Segment, error) {
	m, err := Load(ctx, st, as.OrgID)
	if err != nil {
		return nil, err
	}
	return availability.MarkPlanned(segs, m.Planned(as, start, stop)), nil
}
