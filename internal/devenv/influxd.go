package devenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// InfluxdVersion is the InfluxDB the tests and the demo build with go install.
const InfluxdVersion = "v1.8.10"

// Influxd is a running influxd 1.8 with a database made, and Flux
// disabled: kpilot reads in InfluxQL only, which InfluxDB 1.x, 2.x and 3.x
// all serve, so no test may depend on Flux.
type Influxd struct {
	*Process
	URL      string // http://127.0.0.1:port
	Database string
	Bucket   string // database/retention for the v2 API
}

// InfluxdPath finds influxd: $KPILOT_INFLUXD, PATH, or $GOBIN / $GOPATH/bin
// where go install puts it.
func InfluxdPath() (string, error) {
	var extra []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		extra = append(extra, gobin)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		extra = append(extra, filepath.Join(strings.TrimSpace(string(out)), "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		extra = append(extra, filepath.Join(home, "go", "bin"))
	}
	return lookPath("KPILOT_INFLUXD", "influxd", extra...)
}

const influxConf = `reporting-disabled = true
bind-address = "127.0.0.1:%d"

[meta]
  dir = "%[2]s/meta"

[data]
  dir = "%[2]s/data"
  wal-dir = "%[2]s/wal"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:%[3]d"
  flux-enabled = false
  log-enabled = false
  auth-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "warn"
`

// StartInfluxd starts influxd with its files under dir on port (0 picks a
// free one) and creates database. log, if not nil, also gets its output.
func StartInfluxd(ctx context.Context, dir string, port int, database string, log io.Writer) (*Influxd, error) {
	bin, err := InfluxdPath()
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = FreePort("tcp"); err != nil {
			return nil, err
		}
	}
	rpc, err := FreePort("tcp")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, influxConf, rpc, dir, port), 0o644); err != nil {
		return nil, err
	}
	p, err := Start("influxd", exec.Command(bin, "-config", conf), log)
	if err != nil {
		return nil, err
	}
	i := &Influxd{Process: p, URL: fmt.Sprintf("http://127.0.0.1:%d", port), Database: database, Bucket: database + "/autogen"}
	err = p.WaitFor(ctx, 60*time.Second, func() error { return i.query("CREATE DATABASE " + quoteIdent(database)) })
	if err != nil {
		return nil, err
	}
	return i, nil
}

// query runs an InfluxQL statement on the 1.x endpoint.
func (i *Influxd) query(q string) error {
	resp, err := http.PostForm(i.URL+"/query", url.Values{"q": {q}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), `"error"`) {
		return fmt.Errorf("influxd answered %s: %s", resp.Status, body)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
