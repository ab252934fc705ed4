package kpi

import (
	"slices"
	"time"
)

// Row is a Sample in the form a collector on a hot path builds: tags and
// fields in slices instead of maps, numeric fields unboxed, so that a
// collector can reuse one Row for every row of a table and a sink that
// encodes at once (the agent's) never sees a map. Its rules are a
// Sample's; besides, a key may appear once among the tags and once among
// the fields (the Set methods keep it so).
type Row struct {
	Asset       string
	Measurement string
	Time        time.Time
	Tags        []Tag
	Fields      []Field
}

// Tag is one tag of a Row.
type Tag struct{ Key, Value string }

// Field is one numeric field of a Row: an integer when IsInt, else Float.
type Field struct {
	Key   string
	Float float64
	Int   int64
	IsInt bool
}

// Value returns the field as a Sample holds it: int64 or float64.
func (f Field) Value() any {
	if f.IsInt {
		return f.Int
	}
	return f.Float
}

// Number returns the field as a float64 whatever its kind.
func (f Field) Number() float64 {
	if f.IsInt {
		return float64(f.Int)
	}
	return f.Float
}

// Reset empties r for the next row, keeping the room its slices have.
func (r *Row) Reset(asset, measurement string, at time.Time) {
	r.Asset, r.Measurement, r.Time = asset, measurement, at
	r.Tags, r.Fields = r.Tags[:0], r.Fields[:0]
}

// SetTag sets tag k, replacing its value if r has it.
func (r *Row) SetTag(k, v string) {
	for i := range r.Tags {
		if r.Tags[i].Key == k {
			r.Tags[i].Value = v
			return
		}
	}
	r.Tags = append(r.Tags, Tag{k, v})
}

// SetFloat sets field k to the float f.
func (r *Row) SetFloat(k string, f float64) { r.setField(Field{Key: k, Float: f}) }

// SetInt sets field k to the integer i.
func (r *Row) SetInt(k string, i int64) { r.setField(Field{Key: k, Int: i, IsInt: true}) }

func (r *Row) setField(f Field) {
	for i := range r.Fields {
		if r.Fields[i].Key == f.Key {
			r.Fields[i] = f
			return
		}
	}
	r.Fields = append(r.Fields, f)
}

// Field returns field k.
func (r *Row) Field(k string) (Field, bool) {
	for _, f := range r.Fields {
		if f.Key == k {
			return f, true
		}
	}
	return Field{}, false
}

// DeleteField removes field k if r has it.
func (r *Row) DeleteField(k string) {
	r.Fields = slices.DeleteFunc(r.Fields, func(f Field) bool { return f.Key == k })
}

// Sample returns r as a Sample, with maps of its own.
func (r *Row) Sample() Sample {
	s := Sample{Asset: r.Asset, Measurement: r.Measurement, Time: r.Time,
		Fields: make(map[string]any, len(r.Fields))}
	if len(r.Tags) > 0 {
		s.Tags = make(map[string]string, len(r.Tags))
		for _, t := range r.Tags {
			s.Tags[t.Key] = t.Value
		}
	}
	for _, f := range r.Fields {
		s.Fields[f.Key] = f.Value()
	}
	return s
}
