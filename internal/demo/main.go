// Command demo is what `make demo` runs: a real influxd, a real snmpd, a
// Redfish mockup of an HPE iLO 5, recorded NetApp ONTAP REST answers, the server and an agent polling them, all on 127.0.0.1, with state in
// .demo/. It prints how to log in and a curl line that shows live KPIs, and
// stops everything it started on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", ".demo", "directory for the demo's state (emptied at start)")
	flag.StringVar(&o.bin, "bin", "bin", "directory holding kpilot-agent and kpilot-server")
	flag.StringVar(&o.configs, "configs", "configs", "directory of the example configs")
	flag.IntVar(&o.serverPort, "server-port", 8080, "port of kpilot-server")
	flag.IntVar(&o.influxPort, "influx-port", 8086, "port of influxd")
	flag.IntVar(&o.snmpPort, "snmp-port", 1161, "UDP port of snmpd")
	flag.IntVar(&o.redfishPort, "redfish-port", 8443, "port of the Redfish BMC mockup")
	flag.IntVar(&o.restPort, "rest-port", 8444, "port of the recorded NetApp ONTAP REST answers")
	flag.IntVar(&o.serverMetricsPort, "server-metrics-port", 9464, "port of kpilot-server's /metrics")
	flag.IntVar(&o.agentMetricsPort, "agent-metrics-port", 9465, "port of kpilot-agent's /metrics")
	flag.StringVar(&o.restMock, "rest-mock", "collectors/rest/testdata/mockoon/netapp-ontap.json", "Mockoon environment served on rest-port")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, o, log); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}
