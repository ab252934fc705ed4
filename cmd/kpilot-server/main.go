// Command kpilot-server receives KPIs from kpilot agents, stores them, and
// serves them to the people allowed to see them. See server/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kpilot/kpilot/server/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
