package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/mockoon"
	"github.com/kpilot/kpilot/internal/redfishmock"
)

type options struct {
	dir, bin, configs                string
	serverPort, influxPort, snmpPort int
	redfishPort                      int
	restPort                         int
	serverMetricsPort                int    // the server's metrics_listen
	agentMetricsPort                 int    // the agent's metrics_listen
	restMock                         string // Mockoon environment the REST target answers from
}

// demoPort is one port the demo listens on, with the flag that moves it.
type demoPort struct {
	flag, what, network string
	port                int
}

// ports lists the demo's ports in the order it starts their components.
func (o options) ports() []demoPort {
	return []demoPort{
		{"influx-port", "influxd", "tcp", o.influxPort},
		{"snmp-port", "snmpd", "udp", o.snmpPort},
		{"redfish-port", "the Redfish BMC mockup", "tcp", o.redfishPort},
		{"rest-port", "the NetApp ONTAP REST answers", "tcp", o.restPort},
		{"server-port", "kpilot-server", "tcp", o.serverPort},
		{"server-metrics-port", "kpilot-server's /metrics", "tcp", o.serverMetricsPort},
		{"agent-metrics-port", "kpilot-agent's /metrics", "tcp", o.agentMetricsPort},
	}
}

// checkPorts makes sure every port is free before anything starts, so
// that a taken port is reported as such, with the flag that moves it,
// instead of as a component that exits during start.
func checkPorts(ps []demoPort) error {
	var errs []error
	for _, p := range ps {
		if err := portFree(p.network, p.port); err != nil {
			errs = append(errs, fmt.Errorf("port %d/%s for %s is taken (%w); choose another with -%s, e.g. make demo DEMO_FLAGS=\"-%s %d\"",
				p.port, p.network, p.what, err, p.flag, p.flag, otherPort(p.port)))
		}
	}
	return errors.Join(errs...)
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	ports := o.ports()
	if err := checkPorts(ports); err != nil {
		return err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	logs, err := logFile(dir, "services.log")
	if err != nil {
		return err
	}
	defer logs.Close()

	var stops []func() error
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		log.Info("demo stopped; state kept in " + dir)
	}()

	log.Info("starting influxd", "port", o.influxPort)
	influx, err := devenv.StartInfluxd(ctx, filepath.Join(dir, "influxdb"), o.influxPort, "kpilot", logs)
	if err != nil {
		return startError(ports[0], err, logs.Name())
	}
	stops = append(stops, influx.Stop)
	log.Info("starting snmpd", "port", o.snmpPort)
	snmpd, err := devenv.StartSnmpd(ctx, filepath.Join(dir, "snmpd"), o.snmpPort, logs)
	if err != nil {
		return startError(ports[1], err, logs.Name())
	}
	stops = append(stops, snmpd.Stop)
	log.Info("starting the Redfish BMC mockup (HPE iLO 5, DL360 Gen10 Plus)", "port", o.redfishPort)
	bmc, err := redfishmock.ListenTLS(fmt.Sprintf("127.0.0.1:%d", o.redfishPort), "hpe-ilo5-dl360-gen10plus",
		redfishmock.Options{Username: "monitor", Password: "lab-bmc-password", Delay: 50 * time.Millisecond})
	if err != nil {
		return startError(ports[2], err, logs.Name())
	}
	stops = append(stops, bmc.Close)
	bmcCA := filepath.Join(dir, "bmc-ca.pem")
	if err := os.WriteFile(bmcCA, bmc.CAPEM, 0o600); err != nil {
		return err
	}

	log.Info("serving recorded NetApp ONTAP REST answers", "port", o.restPort)
	ontap, err := serveMockoon(fmt.Sprintf("127.0.0.1:%d", o.restPort), o.restMock)
	if err != nil {
		return startError(ports[3], err, logs.Name())
	}
	stops = append(stops, ontap.close)

	base := fmt.Sprintf("http://127.0.0.1:%d", o.serverPort)
	agentBin, serverBin := filepath.Join(o.bin, "kpilot-agent"), filepath.Join(o.bin, "kpilot-server")
	serverCfg, agentCfg := filepath.Join(dir, "server.yaml"), filepath.Join(dir, "agent.yaml")
	if err := devenv.RewriteConfig(filepath.Join(o.configs, "server.example.yaml"), serverCfg,
		"127.0.0.1:8080", fmt.Sprintf("127.0.0.1:%d", o.serverPort),
		"http://127.0.0.1:8086", influx.URL,
		"127.0.0.1:9464", fmt.Sprintf("127.0.0.1:%d", o.serverMetricsPort),
		"/var/lib/kpilot-server", filepath.Join(dir, "server")); err != nil {
		return err
	}
	if err := devenv.RewriteConfig(filepath.Join(o.configs, "agent.example.yaml"), agentCfg,
		"http://127.0.0.1:8080", base,
		"127.0.0.1:1161", snmpd.Addr(),
		"https://127.0.0.1:8443", bmc.URL,
		"# ca_file: /etc/kpilot/bmc-ca.pem", "ca_file: "+bmcCA,
		"http://127.0.0.1:8444", ontap.url,
		"127.0.0.1:9465", fmt.Sprintf("127.0.0.1:%d", o.agentMetricsPort),
		"/var/lib/kpilot", filepath.Join(dir, "agent")); err != nil {
		return err
	}

	boot, err := output(ctx, serverBin, "bootstrap", "--config", serverCfg, "--org", "Demo GmbH", "--admin", "admin@demo.example")
	if err != nil {
		return err
	}
	email, password, orgID := value(boot, "admin"), value(boot, "password"), value(boot, "organization_id")
	token, err := output(ctx, serverBin, "enroll-token", "--config", serverCfg, "--org", orgID)
	if err != nil {
		return err
	}

	serverLog, err := logFile(dir, "server.log")
	if err != nil {
		return err
	}
	defer serverLog.Close()
	srv, err := devenv.Start("kpilot-server", exec.Command(serverBin, "run", "--config", serverCfg), serverLog)
	if err != nil {
		return err
	}
	stops = append(stops, srv.Stop)
	if err := srv.WaitFor(ctx, 30*time.Second, func() error { return get(base + "/readyz") }); err != nil {
		return startError(ports[4], err, serverLog.Name())
	}
	log.Info("server ready", "url", base)

	if _, err := output(ctx, agentBin, "enroll", "--config", agentCfg, "--token", strings.TrimSpace(token)); err != nil {
		return err
	}
	agentLog, err := logFile(dir, "agent.log")
	if err != nil {
		return err
	}
	defer agentLog.Close()
	ag, err := devenv.Start("kpilot-agent", exec.Command(agentBin, "run", "--config", agentCfg), agentLog)
	if err != nil {
		return err
	}
	stops = append(stops, ag.Stop)

	session, assetID, err := waitForData(ctx, base, email, password)
	if err != nil {
		return fmt.Errorf("%w; see %s", err, filepath.Join(dir, "agent.log"))
	}
	printBanner(base, email, password, session, assetID, dir, o)
	<-ctx.Done()
	fmt.Println("\nstopping agent, server, BMC and ONTAP mockups, snmpd and influxd ...")
	return nil
}

func printBanner(base, email, password, session, assetID, dir string, o options) {
	fmt.Printf(`
================================================================
kpilot demo is running: the agent polls snmpd every 15s, a
Redfish BMC mockup (HPE iLO 5) every 30s and recorded NetApp ONTAP
REST answers every 60s.

  Portal:    %[1]s/   (open it in a browser and log in)
  login:     %[2]s
  password:  %[3]s

Live KPIs of the polled asset (a session token is already made):

  curl -s -H 'Authorization: Bearer %[4]s' '%[1]s/api/v1/assets/%[5]s/latest'

Interface traffic over the last 10 minutes, one value a minute:

  curl -s -H 'Authorization: Bearer %[4]s' '%[1]s/api/v1/assets/%[5]s/series?measurement=interface&field=in_octets&start=-10m&every=1m&fn=max'

All assets (lab-snmpd and the BMC lab-bmc), then the BMC's temperatures,
power and health with its id:

  curl -s -H 'Authorization: Bearer %[4]s' '%[1]s/api/v1/assets'
  curl -s -H 'Authorization: Bearer %[4]s' '%[1]s/api/v1/assets/ID/latest'

Log in yourself:

  curl -s -X POST %[1]s/api/v1/login -d '{"email":"%[2]s","password":"%[3]s"}'

Metrics: http://127.0.0.1:%[7]d/metrics (server, its metrics_listen), http://127.0.0.1:%[8]d/metrics (agent)
Logs and state: %[6]s
Press Ctrl-C to stop everything.
================================================================
`, base, email, password, session, assetID, dir, o.serverMetricsPort, o.agentMetricsPort)
}

// waitForData logs in and waits until the agent's first poll is stored.
func waitForData(ctx context.Context, base, email, password string) (session, assetID string, err error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	var lr struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&lr)
	resp.Body.Close()
	if err != nil || lr.Token == "" {
		return "", "", fmt.Errorf("logging in as %s: %s", email, resp.Status)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var out struct {
			Assets []struct{ ID, Name string }
		}
		if err := getJSON(ctx, base+"/api/v1/assets", lr.Token, &out); err == nil {
			for _, a := range out.Assets {
				if a.Name != "lab-snmpd" {
					continue
				}
				var latest struct{ Series []any }
				if err := getJSON(ctx, base+"/api/v1/assets/"+a.ID+"/latest", lr.Token, &latest); err == nil && len(latest.Series) > 0 {
					return lr.Token, a.ID, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return "", "", errors.New("no KPIs arrived within 60s")
}

func getJSON(ctx context.Context, url, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func output(ctx context.Context, bin string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), args[0], err, stderr.String())
	}
	return stdout.String(), nil
}

func value(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func logFile(dir, name string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.Create(filepath.Join(dir, name))
}

// otherPort is the port suggested instead of a taken one: 10000 above
// (8080 becomes 18080), or below where that is no port.
func otherPort(p int) int {
	if p+10000 > 65535 {
		return p - 10000
	}
	return p + 10000
}

// startError says which component failed to start, on which port, and
// which flag moves it: a port taken after checkPorts looked shows up only
// as the component exiting.
func startError(p demoPort, err error, logFile string) error {
	return fmt.Errorf("%s on 127.0.0.1:%d/%s did not start (%w); if that port is taken, choose another with -%s; see %s",
		p.what, p.port, p.network, err, p.flag, logFile)
}

// portFree binds 127.0.0.1:port and lets it go again.
func portFree(network string, port int) error {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if network == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// mockoonServer serves a Mockoon environment on a loopback address.
type mockoonServer struct {
	url   string
	close func() error
}

func serveMockoon(addr, envFile string) (*mockoonServer, error) {
	env, err := mockoon.Load(envFile)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("REST mockup: %w", err)
	}
	srv := &http.Server{Handler: mockoon.NewServer(env, ""), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &mockoonServer{url: "http://" + ln.Addr().String(), close: srv.Close}, nil
}
