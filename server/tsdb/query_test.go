package tsdb

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var asset = AssetRef{ID: "0bdf7d2b-6e29-449e-b1ba-e45d783cb186", Series: "12.345"}

func validQuery() SeriesQuery {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return SeriesQuery{Asset: asset, Measurement: "interface", Field: "in_octets",
		Start: now.Add(-time.Hour), Stop: now, Every: time.Minute, Fn: "mean"}
}

func TestFluxFromValidQuery(t *testing.T) {
	flux, err := validQuery().Flux("kpilot/autogen")
	require.NoError(t, err)
	want := `from(bucket: "kpilot/autogen")
  |> range(start: 2026-01-02T02:04:05Z, stop: 2026-01-02T03:04:05Z)
  |> filter(fn: (r) => r.asset == "12.345")
  |> filter(fn: (r) => r._measurement == "interface" and r._field == "in_octets")
  |> aggregateWindow(every: 60s, fn: mean, createEmpty: false)
`
	require.Equal(t, want, flux)
}

func TestFluxRefusesHostileInput(t *testing.T) {
	hostile := []string{
		`in_octets") |> drop(columns: ["org_id"]) //`,
		`x" or r.org_id != "`,
		"in_octets\n|> yield()",
		`${r.org_id}`,
		`IN_OCTETS`,
		strings.Repeat("a", 64),
		"",
	}
	for _, h := range hostile {
		for name, mod := range map[string]func(*SeriesQuery){
			"measurement": func(q *SeriesQuery) { q.Measurement = h },
			"field":       func(q *SeriesQuery) { q.Field = h },
			"fn":          func(q *SeriesQuery) { q.Fn = h },
			"asset":       func(q *SeriesQuery) { q.Asset.Series = h },
		} {
			q := validQuery()
			mod(&q)
			_, err := q.Flux("b")
			require.Error(t, err, "%s = %q must be refused", name, h)
		}
	}
}

func TestValidateRanges(t *testing.T) {
	q := validQuery()
	q.Start, q.Stop = q.Stop, q.Start
	require.ErrorContains(t, q.Validate(), "start must be before stop")

	q = validQuery()
	q.Every = time.Millisecond
	require.ErrorContains(t, q.Validate(), "every must be at least 1s")

	q = validQuery()
	q.Every = time.Second
	q.Start = q.Stop.Add(-24 * time.Hour)
	require.ErrorContains(t, q.Validate(), "too many windows")

	q = validQuery()
	q.Every = 0
	require.ErrorContains(t, q.Validate(), "fn needs every")
}

func TestFluxStringEscapes(t *testing.T) {
	require.Equal(t, `"a\"b\\c\${d}\n"`, fluxString("a\"b\\c${d}\n"))
}

func TestOrgQueryRefusesHostileInput(t *testing.T) {
	good := OrgQuery{Assets: []AssetRef{asset}, Measurements: []string{"storage"}, Fields: []string{"used_percent"},
		Start: time.Unix(0, 0), Stop: time.Unix(3600, 0), Every: time.Minute, Fn: "mean"}
	flux, err := good.Flux("kpilot/autogen")
	require.NoError(t, err)
	require.Contains(t, flux, `r.asset == "12.345"`)
	for name, mutate := range map[string]func(*OrgQuery){
		"no assets":   func(q *OrgQuery) { q.Assets = nil },
		"asset":       func(q *OrgQuery) { q.Assets = []AssetRef{asset, {ID: "x", Series: `") |> drop(`}} },
		"measurement": func(q *OrgQuery) { q.Measurements = []string{`storage" or r._measurement != "`} },
		"field":       func(q *OrgQuery) { q.Fields = []string{"used percent"} },
		"none":        func(q *OrgQuery) { q.Fields = nil },
		"fn":          func(q *OrgQuery) { q.Fn = "exec" },
		"windows":     func(q *OrgQuery) { q.Every = time.Millisecond },
		"period":      func(q *OrgQuery) { q.Stop = q.Start },
	} {
		q := good
		mutate(&q)
		_, err := q.Flux("kpilot/autogen")
		require.Error(t, err, name)
	}
}
