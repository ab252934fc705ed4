package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/internal/command"
	"github.com/kpilot/kpilot/server"
	"github.com/kpilot/kpilot/server/seriesmigrate"
	"github.com/kpilot/kpilot/server/tsdb"
)

func newMigrateSeriesCmd() *cobra.Command {
	var configPath, logFormat string
	var o seriesmigrate.Options
	var queryTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "migrate-series",
		Short: "Copy KPI series of the old three-tag schema (asset_id, org_id, ou_id) into the current one",
		Long: `migrate-series copies every point InfluxDB holds with the tags asset_id,
org_id and ou_id (the schema before kpilot-server moved to one tag
asset=<series id>) into the current schema: same measurement, other tags,
fields, field types and time, with asset=<the asset's series id> in place of
the three. Reads then find the old history again.

It may run while the server runs: a point written twice overwrites itself,
so running it again, after a failure or an interruption, is safe and finishes
the work. Points of an asset_id the store does not know are left alone and
listed at the end.

--dry-run reads and reports only. --delete-old drops an asset's old series
once every old point was found in the new schema with the same value, type
and time (InfluxDB 1.x; on 2.x use influx delete, see docs/install.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := server.LoadConfig(configPath)
			if err != nil {
				return err
			}
			log := command.NewLogger(cmd.ErrOrStderr(), cfg.Level(), logFormat)
			ctx := cmd.Context()
			st, err := server.OpenStore(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer st.Close()
			opts := server.InfluxOptions(cfg)
			opts.QueryTimeout = queryTimeout
			db := tsdb.New(opts)
			defer db.Close()
			sum, err := seriesmigrate.Run(ctx, st, db, log, o)
			printSummary(cmd.OutOrStdout(), sum, o)
			return err
		},
	}
	configFlag(cmd, &configPath)
	f := cmd.Flags()
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&o.DryRun, "dry-run", false, "report the series and points per asset that would be copied; write nothing")
	f.BoolVar(&o.DeleteOld, "delete-old", false, "drop an asset's old series after its copy was verified point by point (InfluxDB 1.x)")
	f.IntVar(&o.ChunkPoints, "chunk-points", seriesmigrate.DefaultChunkPoints, "about how many points one read returns")
	f.DurationVar(&queryTimeout, "query-timeout", 5*time.Minute, "how long one InfluxDB read may take")
	return cmd
}

// printSummary writes what a run did for the operator.
func printSummary(w io.Writer, s seriesmigrate.Summary, o seriesmigrate.Options) {
	verb := "copied"
	if o.DryRun {
		verb = "would copy"
	}
	fmt.Fprintf(w, "assets with old series: %d, done: %d\n", s.Assets, s.Done)
	fmt.Fprintf(w, "%s: %d series, %d points in %s", verb, s.Series, s.Points, s.Elapsed.Round(time.Millisecond))
	if sec := s.Elapsed.Seconds(); !o.DryRun && sec > 0 && s.Points > 0 {
		fmt.Fprintf(w, " (%.0f points/s)", float64(s.Points)/sec)
	}
	fmt.Fprintln(w)
	if o.DeleteOld && !o.DryRun {
		fmt.Fprintf(w, "old series dropped for %d assets\n", s.Deleted)
	}
	for _, u := range s.Unknown {
		fmt.Fprintf(w, "left alone, asset_id %s unknown to the store: %d series, %d points\n", u.AssetID, u.Series, u.Points)
	}
}
