package tsdb

import (
	"errors"
	"slices"
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

func validOrgQuery() OrgQuery {
	return OrgQuery{Assets: []AssetRef{asset, {ID: "b", Series: "12.346"}}, Measurements: []string{"storage", "netapp_volume"},
		Fields: []string{"used_percent", "size_bytes"}, Start: time.Unix(0, 0), Stop: time.Unix(3600, 0), Every: time.Minute, Fn: "max"}
}

func TestQueryText(t *testing.T) {
	raw := validQuery()
	raw.Every, raw.Fn = 0, ""
	org := validOrgQuery()
	orgRaw := org
	orgRaw.Every, orgRaw.Fn = 0, ""
	at := time.Date(2026, 1, 2, 3, 4, 5, 500, time.UTC)
	tests := []struct {
		name string
		text func() ([]string, error)
		want []string
	}{
		{"series aggregated", one(validQuery().statement),
			[]string{`SELECT mean("in_octets") AS "in_octets" FROM "interface" WHERE "asset" = '12.345' AND time >= '2026-01-02T02:04:05Z' AND time < '2026-01-02T03:04:05Z' GROUP BY time(60s), * fill(none)`}},
		{"series raw", one(raw.statement),
			[]string{`SELECT "in_octets"::field FROM "interface" WHERE "asset" = '12.345' AND time >= '2026-01-02T02:04:05Z' AND time < '2026-01-02T03:04:05Z' GROUP BY *`}},
		{"org aggregated", org.statements, []string{
			`SELECT max("used_percent") AS "used_percent", max("size_bytes") AS "size_bytes" FROM "storage" WHERE ("asset" = '12.345' OR "asset" = '12.346') AND time >= '1970-01-01T00:00:00Z' AND time < '1970-01-01T01:00:00Z' GROUP BY time(60s), * fill(none)`,
			`SELECT max("used_percent") AS "used_percent", max("size_bytes") AS "size_bytes" FROM "netapp_volume" WHERE ("asset" = '12.345' OR "asset" = '12.346') AND time >= '1970-01-01T00:00:00Z' AND time < '1970-01-01T01:00:00Z' GROUP BY time(60s), * fill(none)`,
		}},
		{"org raw", orgRaw.statements, []string{
			`SELECT "used_percent"::field, "size_bytes"::field FROM "storage" WHERE ("asset" = '12.345' OR "asset" = '12.346') AND time >= '1970-01-01T00:00:00Z' AND time < '1970-01-01T01:00:00Z' GROUP BY *`,
			`SELECT "used_percent"::field, "size_bytes"::field FROM "netapp_volume" WHERE ("asset" = '12.345' OR "asset" = '12.346') AND time >= '1970-01-01T00:00:00Z' AND time < '1970-01-01T01:00:00Z' GROUP BY *`,
		}},
		{"latest", func() ([]string, error) { return []string{latestStatement([]AssetRef{asset}, 900)}, nil },
			[]string{`SELECT * FROM /.*/ WHERE "asset" = '12.345' AND time >= now() - 900s AND time <= now() GROUP BY * ORDER BY time DESC LIMIT 1`}},
		{"latest values", func() ([]string, error) { return []string{lastsStatement([]AssetRef{asset}, 900)}, nil },
			[]string{`SELECT last(*) FROM /.*/ WHERE "asset" = '12.345' AND time >= now() - 900s AND time <= now() GROUP BY *`}},
		{"latest of a field", func() ([]string, error) {
			return []string{lastStatement("cpu", "load1", validOrgQuery().Assets, 900)}, nil
		},
			[]string{`SELECT last("load1") AS "load1" FROM "cpu" WHERE ("asset" = '12.345' OR "asset" = '12.346') AND time >= now() - 900s AND time <= now() GROUP BY *`}},
		{"availability", func() ([]string, error) { return []string{availabilityStatement(asset, at, at.Add(time.Hour))}, nil },
			[]string{`SELECT "up"::field, "outcome"::field, "last_seen_up"::field FROM "agent_poll", "reboot" WHERE "asset" = '12.345' AND time >= '2026-01-02T02:04:05.0000005Z' AND time < '2026-01-02T05:04:05.0000005Z' GROUP BY "collector"`}},
		{"newest poll that ended otherwise", func() ([]string, error) {
			return []string{newestPollStatement([]AssetRef{asset}, otherOutcomes(problemOutcomes), at, at.Add(time.Hour))}, nil
		},
			[]string{`SELECT "up"::field, "outcome"::field, "message"::field FROM "agent_poll" WHERE "asset" = '12.345' AND ("outcome" <> 3 AND "outcome" <> 4) AND time >= '2026-01-02T03:04:05.0000005Z' AND time <= '2026-01-02T04:04:05.0000005Z' GROUP BY "asset", "collector" ORDER BY time DESC LIMIT 1`}},
		{"start of a run of problems", func() ([]string, error) {
			return []string{runStartStatement("12.345", `x' OR '1'='1`, at, true, at.Add(time.Hour))}, nil
		},
			[]string{`SELECT "up"::field FROM "agent_poll" WHERE "asset" = '12.345' AND "collector" = 'x\' OR \'1\'=\'1' AND time > '2026-01-02T03:04:05.0000005Z' AND time <= '2026-01-02T04:04:05.0000005Z' ORDER BY time ASC LIMIT 1`}},
		{"usage", func() ([]string, error) { return []string{usageStatement(asset, at, at.Add(time.Hour))}, nil },
			[]string{`SELECT "powered_on"::field, "uptime_seconds"::field FROM "server_health", "host", "system", "storage_node" WHERE "asset" = '12.345' AND time >= '2026-01-02T02:04:05.0000005Z' AND time < '2026-01-02T05:04:05.0000005Z' GROUP BY "system", "node"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.text()
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func one(f func() (string, error)) func() ([]string, error) {
	return func() ([]string, error) {
		s, err := f()
		return []string{s}, err
	}
}

func TestQueryRefusesHostileInput(t *testing.T) {
	hostile := []string{
		`in_octets") FROM "x`,
		`x' OR "asset" != '`,
		"in_octets; DROP DATABASE kpilot",
		"in_octets\nDROP DATABASE kpilot",
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
			_, err := q.statement()
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

func TestOrgQueryRefusesHostileInput(t *testing.T) {
	for name, mutate := range map[string]func(*OrgQuery){
		"no assets":   func(q *OrgQuery) { q.Assets = nil },
		"asset":       func(q *OrgQuery) { q.Assets = []AssetRef{asset, {ID: "x", Series: `1.2' OR '1'='1`}} },
		"measurement": func(q *OrgQuery) { q.Measurements = []string{`storage" OR "x`} },
		"field":       func(q *OrgQuery) { q.Fields = []string{"used percent"} },
		"none":        func(q *OrgQuery) { q.Fields = nil },
		"fn":          func(q *OrgQuery) { q.Fn = "exec" },
		"windows":     func(q *OrgQuery) { q.Every = time.Millisecond },
		"period":      func(q *OrgQuery) { q.Stop = q.Start },
	} {
		q := validOrgQuery()
		mutate(&q)
		_, err := q.statements()
		require.Error(t, err, name)
	}
}

// FuzzQueryText feeds hostile names, series ids and aggregates to every
// statement builder. Each either refuses them or builds text in which
// they stand only inside quoted identifiers and literals: the text's
// shape outside quotes is that of the same statement with harmless
// values, and its quoted parts unescape to the values given.
func FuzzQueryText(f *testing.F) {
	for _, s := range []string{"in_octets", `x") FROM "y`, `x' OR '1'='1`, "a;b", "a\nb", `a\`, `a\'`, "1.2", "mean", `"`, `'`, "/", "\x00", "é"} {
		f.Add(s, s, s, s)
	}
	f.Add("interface", "in_octets", "3.17", "mean")
	f.Fuzz(func(t *testing.T, measurement, field, series, fn string) {
		// Quoting alone, without validation, whatever the input.
		for _, s := range []string{measurement, field, series, fn} {
			for _, q := range []string{quoteIdent(s), quoteString(s)} {
				skel, quoted, err := scanQL(q)
				require.NoError(t, err, "%q quoted as %q", s, q)
				require.Equal(t, []string{s}, quoted, "%q quoted as %q", s, q)
				require.Equal(t, []string{"", ""}, skel)
			}
		}
		good := validQuery()
		ref := AssetRef{ID: "x", Series: series}
		hostile := good
		hostile.Measurement, hostile.Field, hostile.Asset, hostile.Fn = measurement, field, ref, fn
		for _, every := range []time.Duration{0, time.Minute} {
			g, h := good, hostile
			g.Every, h.Every = every, every
			if every == 0 {
				g.Fn, h.Fn = "", ""
			}
			if text, err := h.statement(); err == nil {
				want, err := g.statement()
				require.NoError(t, err)
				sameShape(t, want, text, []string{g.Field, g.Measurement, g.Asset.Series}, []string{h.Field, h.Measurement, h.Asset.Series})
				require.True(t, every == 0 || Aggregates[h.Fn], "fn %q accepted", h.Fn)
			}
		}
		org := validOrgQuery()
		org.Measurements, org.Fields, org.Assets = []string{measurement}, []string{field}, []AssetRef{ref}
		if texts, err := org.statements(); err == nil {
			gorg := validOrgQuery()
			gorg.Measurements, gorg.Fields, gorg.Assets = []string{"m"}, []string{"f"}, []AssetRef{asset}
			want, err := gorg.statements()
			require.NoError(t, err)
			sameShape(t, want[0], texts[0], []string{"f", "f", "m", asset.Series}, []string{field, field, measurement, series})
		}
		if ref.Validate() == nil {
			sameShape(t, latestStatement([]AssetRef{asset}, 60), latestStatement([]AssetRef{ref}, 60), []string{asset.Series}, []string{series})
			sameShape(t, lastsStatement([]AssetRef{asset}, 60), lastsStatement([]AssetRef{ref}, 60), []string{asset.Series}, []string{series})
			sameShape(t, availabilityStatement(asset, good.Start, good.Stop), availabilityStatement(ref, good.Start, good.Stop), []string{asset.Series}, []string{series})
			sameShape(t, usageStatement(asset, good.Start, good.Stop), usageStatement(ref, good.Start, good.Stop), []string{asset.Series}, []string{series})
		}
		// lastStatement takes names from InfluxDB's own answer: quoted
		// even where kpilot would not have written them.
		sameShape(t, lastStatement("m", "f", []AssetRef{asset}, 60), lastStatement(measurement, field, []AssetRef{asset}, 60),
			[]string{"f", "f", "m"}, []string{field, field, measurement})
	})
}

// sameShape checks that got has want's text outside quotes and that
// its quoted parts are want's with the values in place of the harmless
// ones.
func sameShape(t *testing.T, want, got string, harmless, values []string) {
	t.Helper()
	wskel, wq, err := scanQL(want)
	require.NoError(t, err, want)
	gskel, gq, err := scanQL(got)
	require.NoError(t, err, got)
	require.Equal(t, wskel, gskel, "shape of %q", got)
	for k, h := range harmless {
		i := slices.Index(wq, h)
		require.GreaterOrEqual(t, i, 0, "%q in %q", h, want)
		wq[i] = "\x00" + values[k] // taken: the next harmless value matches the next slot
	}
	for k := range wq {
		wq[k] = strings.TrimPrefix(wq[k], "\x00")
	}
	require.Equal(t, wq, gq, "quoted parts of %q", got)
}

// scanQL splits InfluxQL text as InfluxQL's scanner reads quotes: the
// text outside quotes (each quoted part a placeholder) and the
// unescaped quoted parts. It fails on what the scanner refuses (an
// unknown escape, a newline or the end inside quotes) and on ';', a
// newline or '\' outside quotes.
func scanQL(text string) (skel []string, quoted []string, err error) {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case ';', '\n', '\\':
			return nil, nil, errors.New("';', newline or '\\' outside quotes")
		case '"', '\'':
			var v strings.Builder
			for i++; ; i++ {
				if i >= len(text) || text[i] == '\n' {
					return nil, nil, errors.New("unterminated quote")
				}
				if text[i] == c {
					break
				}
				if text[i] == '\\' {
					i++
					if i >= len(text) {
						return nil, nil, errors.New("unterminated quote")
					}
					switch text[i] {
					case '\\', '"', '\'':
						v.WriteByte(text[i])
					case 'n':
						v.WriteByte('\n')
					default:
						return nil, nil, errors.New("bad escape")
					}
					continue
				}
				v.WriteByte(text[i])
			}
			skel = append(skel, b.String())
			b.Reset()
			quoted = append(quoted, v.String())
		default:
			b.WriteByte(c)
		}
	}
	return append(skel, b.String()), quoted, nil
}
