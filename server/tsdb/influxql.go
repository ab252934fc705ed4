package tsdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxAnswer bounds the InfluxQL answer read into memory: a read that
// large is a mistake (a period or an asset list far too wide), not data
// to hold.
const maxAnswer = 256 << 20

// errAnswerTooLarge is returned by the answer reader past its bound.
var errAnswerTooLarge = errors.New("answer too large")

// QLSeries is one series of an InfluxQL answer.
type QLSeries struct {
	Measurement string
	Tags        map[string]string
	Columns     []string
	Values      [][]any // per row, per column: time.Time (the time column), int64, float64, bool, string or nil
}

// QueryError means InfluxDB refused a query (a statement error or an HTTP
// 4xx): retrying the same read cannot succeed. Msg is InfluxDB's short
// message.
type QueryError struct {
	Purpose string // the read, as in "latest values of asset 3.17"
	Msg     string
}

func (e *QueryError) Error() string {
	return "reading " + e.Purpose + ": InfluxDB refused the query: " + e.Msg
}

// TimeoutError means InfluxDB did not answer a read within
// Options.QueryTimeout. It wraps ErrUnavailable and
// context.DeadlineExceeded.
type TimeoutError struct {
	Purpose string
	After   time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("reading %s: InfluxDB did not answer within %s", e.Purpose, e.After)
}

// Unwrap lets errors.Is find ErrUnavailable and context.DeadlineExceeded.
func (e *TimeoutError) Unwrap() []error { return []error{ErrUnavailable, context.DeadlineExceeded} }

// qlAnswer is the JSON of the v1 /query endpoint, which InfluxDB 1.x,
// 2.x (through a DBRP mapping) and 3.x serve alike.
type qlAnswer struct {
	Results []struct {
		Series []struct {
			Name    string            `json:"name"`
			Tags    map[string]string `json:"tags"`
			Columns []string          `json:"columns"`
			Values  [][]any           `json:"values"`
			Partial bool              `json:"partial"`
		} `json:"series"`
		Error   string `json:"error"`
		Partial bool   `json:"partial"`
	} `json:"results"`
	Error string `json:"error"`
}

// InfluxQL runs one InfluxQL statement against the configured database and retention policy; purpose names the read in errors ("latest values of asset 3.17").
//
// Several statements separated by ";" work on 1.x and 2.x (their series
// come one statement after the other), but InfluxDB 3 runs only one.
// Errors are a *QueryError when InfluxDB refused the query, a
// *TimeoutError past Options.QueryTimeout, and wrap ErrUnavailable when
// InfluxDB is down or failing.
func (i *Influx) InfluxQL(ctx context.Context, purpose, query string) ([]QLSeries, error) {
	qctx, cancel := context.WithTimeout(ctx, i.queryTimeout)
	defer cancel()
	ans, err := i.post(qctx, query)
	if err != nil {
		if ctx.Err() == nil && errors.Is(qctx.Err(), context.DeadlineExceeded) {
			return nil, &TimeoutError{Purpose: purpose, After: i.queryTimeout}
		}
		var qe *QueryError
		if errors.As(err, &qe) {
			qe.Purpose = purpose
			return nil, qe
		}
		return nil, fmt.Errorf("reading %s: %w", purpose, err)
	}
	if ans.Error != "" {
		return nil, &QueryError{Purpose: purpose, Msg: ans.Error}
	}
	var out []QLSeries
	for _, r := range ans.Results {
		if r.Error != "" {
			return nil, &QueryError{Purpose: purpose, Msg: r.Error}
		}
		if r.Partial {
			// Without chunking, only InfluxDB's max-row-limit cuts an
			// answer short; a partial answer would be read as complete.
			return nil, fmt.Errorf("reading %s: InfluxDB cut the answer short (its max-row-limit); read a shorter period or fewer assets", purpose)
		}
		for _, s := range r.Series {
			if s.Partial {
				return nil, fmt.Errorf("reading %s: InfluxDB cut the answer short (its max-row-limit); read a shorter period or fewer assets", purpose)
			}
			q := QLSeries{Measurement: s.Name, Tags: s.Tags, Columns: s.Columns, Values: s.Values}
			if err := convertValues(q); err != nil {
				return nil, fmt.Errorf("reading %s: %w", purpose, err)
			}
			out = append(out, q)
		}
	}
	return out, nil
}

// post sends query and decodes the answer. A refused query is a
// *QueryError without its Purpose; an answer past maxAnswer an error of
// its own; other errors wrap ErrUnavailable.
func (i *Influx) post(ctx context.Context, query string) (*qlAnswer, error) {
	form := url.Values{"db": {i.database}, "q": {query}, "epoch": {"ns"}}
	if i.rp != "" {
		form.Set("rp", i.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.url+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if i.token != "" {
		req.Header.Set("Authorization", "Token "+i.token)
	}
	resp, err := i.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body := &limitedReader{r: resp.Body, n: i.maxAnswer}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		// Overload and server faults pass; credentials are the
		// operator's to fix, and a retry after that succeeds.
		return nil, fmt.Errorf("%w: InfluxDB answered %s: %s", ErrUnavailable, resp.Status, errorText(body))
	default:
		return nil, &QueryError{Msg: fmt.Sprintf("%s (HTTP %d)", errorText(body), resp.StatusCode)}
	}
	var ans qlAnswer
	dec := json.NewDecoder(body)
	dec.UseNumber()
	if err := dec.Decode(&ans); err != nil {
		if errors.Is(err, errAnswerTooLarge) {
			size := fmt.Sprintf("%d bytes", i.maxAnswer)
			if i.maxAnswer >= 1<<20 {
				size = fmt.Sprintf("%d MiB", i.maxAnswer>>20)
			}
			return nil, fmt.Errorf("InfluxDB's answer exceeds %s; read a shorter period or fewer assets", size)
		}
		return nil, fmt.Errorf("%w: decoding InfluxDB's answer: %w", ErrUnavailable, err)
	}
	// The rest (a newline) is read, so that the connection is reused.
	_, _ = io.Copy(io.Discard, body)
	return &ans, nil
}

// errorText is the message of an error answer: its JSON "error", or the
// start of its text.
func errorText(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"` // InfluxDB 2.x and 3.x
	}
	if json.Unmarshal(b, &e) == nil {
		if e.Error != "" {
			return e.Error
		}
		if e.Message != "" {
			return e.Message
		}
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "no message"
	}
	return s
}

// limitedReader returns errAnswerTooLarge once n bytes have been read
// and more is asked for.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errAnswerTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// convertValues turns the decoded JSON values of s into Go values in
// place: the time column (epoch ns) into time.Time, numbers into int64
// when written without '.', 'e' or 'E' and into float64 otherwise.
func convertValues(s QLSeries) error {
	timeCol := -1
	for k, c := range s.Columns {
		if c == "time" {
			timeCol = k
		}
	}
	for _, row := range s.Values {
		for k, v := range row {
			n, ok := v.(json.Number)
			if !ok {
				continue // bool, string or null
			}
			if k == timeCol {
				ns, err := strconv.ParseInt(string(n), 10, 64)
				if err != nil {
					return fmt.Errorf("time %q in InfluxDB's answer: %w", n, err)
				}
				row[k] = time.Unix(0, ns).UTC()
				continue
			}
			x, err := parseNumber(n)
			if err != nil {
				return err
			}
			row[k] = x
		}
	}
	return nil
}

func parseNumber(n json.Number) (any, error) {
	if !strings.ContainsAny(string(n), ".eE") {
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, nil
		}
		// Beyond int64 (an unsigned field): keep it as a float.
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fmt.Errorf("number %q in InfluxDB's answer: %w", n, err)
	}
	return f, nil
}

// quoteIdent quotes s as an InfluxQL identifier. Names are validated
// before they get here; escaping is the second line of defence.
func quoteIdent(s string) string { return `"` + qlEscaper.Replace(s) + `"` }

// quoteString quotes s as an InfluxQL string literal.
func quoteString(s string) string { return `'` + qlEscaper.Replace(s) + `'` }

// qlEscaper escapes what ends or breaks an InfluxQL quoted string or
// identifier: InfluxQL's scanner reads \\, \", \' and \n, and refuses a
// raw newline.
var qlEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `'`, `\'`, "\n", `\n`)

// qlTime is t as an InfluxQL time literal.
func qlTime(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339Nano) + "'" }
