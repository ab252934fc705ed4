package cli

import (
	"encoding/json"
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

func newProbeCmd() *cobra.Command {
	var configPath, target, collector, format string
	cmd := &cobra.Command{
		Use:   "probe --target ASSET",
		Short: "Poll one target once and print its samples and inventory",
		Long: `probe reads the config, polls one target once, exactly as run would, and
prints the samples, the inventory and every error. Nothing is sent to the
server and the running agent's state is not touched. --format json prints
the document described in docs/probe.md, for scripts.

The exit code is 0 when the poll succeeded, 1 when it failed (the output
then says why), 2 for a usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target == "" {
				return command.Usage(errors.New("--target is required (an asset id or address from the config)"))
			}
			if err := checkFormat(format); err != nil {
				return err
			}
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			log := command.NewLogger(cmd.ErrOrStderr(), cfg.Level(), "text")
			res, err := agent.Probe(cmd.Context(), cfg, collector, target, log)
			if err != nil {
				return err
			}
			if err := output(cmd.OutOrStdout(), format, res, printProbeTable); err != nil {
				return err
			}
			if !res.OK {
				return errProbeFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", defaultConfigPath(), "agent YAML config file")
	cmd.Flags().StringVarP(&target, "target", "t", "", "asset id or address of the target to poll")
	cmd.Flags().StringVar(&collector, "collector", "", "collector entry name, when several poll the target")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	return cmd
}

// checkFormat validates --format of probe and check.
func checkFormat(format string) error {
	if format != "table" && format != "json" {
		return command.Usage(fmt.Errorf("--format %q: must be table or json", format))
	}
	return nil
}

// output prints v as indented JSON (the documented, stable form) or as the
// table for people.
func output[T any](w io.Writer, format string, v T, table func(io.Writer, T)) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	table(w, v)
	return nil
}

// errProbeFailed exits 1 without another message: the output said why.
var errProbeFailed = command.Silent(errors.New("probe failed"))

func printProbeTable(w io.Writer, r *agent.ProbeResult) {
	status := "OK"
	switch {
	case !r.OK:
		status = fmt.Sprintf("FAILED (%s): %s", r.Outcome, r.Error)
	case len(r.PartialErrors) > 0:
		status = fmt.Sprintf("OK (%s: %d partial errors)", r.Outcome, len(r.PartialErrors))
	}
	fmt.Fprintf(w, "collector %s (%s), target %s at %s: %s in %.3fs\n", r.Collector, r.Type, r.Asset, r.Address, status, r.DurationSeconds)
	for _, e := range r.PartialErrors {
		fmt.Fprintf(w, "  partial error: %s\n", e)
	}
	fmt.Fprintf(w, "\nSAMPLES (%d)\n", len(r.Samples))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASUREMENT\tTAGS\tFIELDS")
	for _, s := range r.Samples {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Measurement, joinMap(s.Tags), joinMap(s.Fields))
	}
	tw.Flush()
	if r.Inventory == nil {
		fmt.Fprintln(w, "\nINVENTORY: none")
		return
	}
	fmt.Fprintln(w, "\nINVENTORY")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, k := range slices.Sorted(maps.Keys(r.Inventory.Attributes)) {
		fmt.Fprintf(tw, "  %s\t%v\n", k, r.Inventory.Attributes[k])
	}
	tw.Flush()
	for _, k := range slices.Sorted(maps.Keys(r.Inventory.Components)) {
		fmt.Fprintf(w, "\n  %s (%d)\n", k, len(r.Inventory.Components[k]))
		for _, c := range r.Inventory.Components[k] {
			fmt.Fprintf(w, "    %s\n", joinMap(c))
		}
	}
}

// joinMap prints k=v pairs sorted by key.
func joinMap[V any](m map[string]V) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, " ")
}
