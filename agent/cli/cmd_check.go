package cli

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/agent"
	"github.com/kpilot/kpilot/internal/command"
)

func newCheckCmd() *cobra.Command {
	var configPath, format string
	var skipServer bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Poll every target once and report what each gave and what failed",
		Long: `check reads the config as run does, polls every target once (in parallel,
within max_parallel_polls), and asks the server whether it takes the
agent's credential. It reports per target whether it answered, which KPIs
(measurements and fields) and inventory fields it got, and every error.
Nothing is spooled or sent, and the running agent's state is not touched.

Run it after installing or changing the config. The exit code is 0 when
everything worked, 1 when a target or the server failed (the output says
why), 2 for a usage error. --format json prints the document described in
docs/agent.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			log := command.NewLogger(cmd.ErrOrStderr(), cfg.Level(), "text")
			rep := agent.Check(cmd.Context(), cfg, skipServer, log)
			if err := output(cmd.OutOrStdout(), format, rep, printCheck); err != nil {
				return err
			}
			if !rep.OK {
				return errCheckFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", defaultConfigPath(), "agent YAML config file")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	cmd.Flags().BoolVar(&skipServer, "skip-server", false, "do not contact the server (before enrollment)")
	return cmd
}

var errCheckFailed = command.Silent(errors.New("check failed"))

func printCheck(w io.Writer, r *agent.CheckReport) {
	if s := r.Server; s != nil {
		if s.OK {
			fmt.Fprintf(w, "server %s: OK, credential accepted (agent %s, %q)\n", s.URL, s.AgentID, s.Name)
		} else {
			fmt.Fprintf(w, "server %s: FAILED: %s\n", s.URL, s.Error)
		}
	}
	if s := r.Spool; s != nil {
		if s.OK {
			fmt.Fprintf(w, "spool %s: OK, writable\n", s.Dir)
		} else {
			fmt.Fprintf(w, "spool %s: CANNOT WRITE: %s\n", s.Dir, s.Error)
		}
	}
	failed := 0
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCOLLECTOR\tTARGET\tADDRESS\tRESULT\tTIME\tSAMPLES\tINVENTORY")
	for _, t := range r.Targets {
		result := "OK"
		if !t.OK {
			result, failed = "FAILED", failed+1
			if t.Outcome != "" {
				result += ": " + t.Outcome
			}
		} else if len(t.PartialErrors) > 0 {
			result = fmt.Sprintf("OK, %d partial errors", len(t.PartialErrors))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fs\t%d\t%d fields\n", t.Collector, t.Asset, t.Address, result,
			t.DurationSeconds, t.Samples, len(t.Inventory.Attributes))
	}
	tw.Flush()
	for _, t := range r.Targets {
		fmt.Fprintf(w, "\n%s / %s\n", t.Collector, t.Asset)
		if t.Error != "" && t.Outcome != "" {
			fmt.Fprintf(w, "  error (%s): %s\n", t.Outcome, t.Error)
		} else if t.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", t.Error)
		}
		for _, e := range t.PartialErrors {
			fmt.Fprintf(w, "  partial error: %s\n", e)
		}
		for _, m := range slices.Sorted(maps.Keys(t.KPIs)) {
			fmt.Fprintf(w, "  kpis %s: %s\n", m, strings.Join(t.KPIs[m], ", "))
		}
		if len(t.Inventory.Attributes) > 0 {
			fmt.Fprintf(w, "  inventory: %s\n", strings.Join(t.Inventory.Attributes, ", "))
		}
		for _, k := range slices.Sorted(maps.Keys(t.Inventory.Components)) {
			fmt.Fprintf(w, "  inventory %s: %d\n", k, t.Inventory.Components[k])
		}
	}
	switch {
	case failed > 0:
		fmt.Fprintf(w, "\n%d of %d targets failed\n", failed, len(r.Targets))
	case r.OK:
		fmt.Fprintf(w, "\nall %d targets OK\n", len(r.Targets))
	}
}
