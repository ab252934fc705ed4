package report

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

var backupColumns = []Column{
	{Key: "customer", Label: "Customer"},
	{Key: "asset_id", Label: "Asset ID"},
	{Key: "asset", Label: "Backup server"},
	{Key: "job", Label: "Job"},
	{Key: "last_result", Label: "Last result"},
	{Key: "last_run", Label: "Last run", Kind: Time},
	{Key: "last_success", Label: "Last success", Kind: Time},
	{Key: "runs", Label: "Runs", Kind: Count},
	{Key: "failed_runs", Label: "Failed", Kind: Count},
	{Key: "success_percent", Label: "Success", Kind: Quantity, Unit: catalog.Percent},
}

// Backup job statuses, as the backup collectors write them.
const (
	backupFailed  = 2
	backupRunning = 3
)

var backupResults = map[int64]string{0: "success", 1: "warning", backupFailed: "failed", backupRunning: "running"}

// backupJob is what the report learns of one job of one backup server.
type backupJob struct {
	asset      store.Asset
	name       string
	runs       map[int64]int64 // last_run_time → status
	lastRun    int64
	lastStatus int64
	success    int64
}

// jobObs is one poll of a job: its status and last run, joined by the
// time they were collected.
type jobObs struct{ status, run *int64 }

// Backup builds the backup report: per backup job of sc's assets its last
// result, last run and last success, and the runs of the period (each
// distinct last_run_time the agent saw, with the status it last had)
// with how many failed.
func Backup(ctx context.Context, src SeriesSource, sc Scope, p Period, now time.Time) (Table, error) {
	t := Table{Title: "Backup report", Scope: sc.Label + ", " + p.String(), Generated: now, Columns: backupColumns}
	byID := map[string]store.Asset{}
	for _, as := range sc.Assets {
		byID[as.ID] = as
	}
	jobs := map[string]*backupJob{}
	var keys []string
	for _, refs := range assetsByOrg(sc.Assets) {
		ss, err := src.OrgSeries(ctx, tsdb.OrgQuery{Assets: refs,
			Measurements: []string{"backup_job", "backup_last_success"}, Fields: []string{"status", "last_run_time", "end_time"},
			Start: p.Start, Stop: p.Stop})
		if err != nil {
			return t, unavailable(err)
		}
		perJob := map[string]map[time.Time]*jobObs{}
		for _, s := range ss {
			k := s.AssetID + "\x00" + s.Tags["backup_server"] + "\x00" + s.Tags["job"]
			if jobs[k] == nil {
				jobs[k] = &backupJob{asset: byID[s.AssetID], name: s.Tags["job"], runs: map[int64]int64{}}
				keys = append(keys, k)
			}
			if perJob[k] == nil {
				perJob[k] = map[time.Time]*jobObs{}
			}
			observe(jobs[k], perJob[k], s)
		}
		for k, byTime := range perJob {
			countRuns(jobs[k], byTime)
		}
	}
	sort.Slice(keys, func(i, k int) bool {
		x, y := jobs[keys[i]], jobs[keys[k]]
		return cmpJoin(sc.Customers[x.asset.OrgID], sc.Customers[y.asset.OrgID], x.asset.Name, y.asset.Name, x.name, y.name) < 0
	})
	for _, k := range keys {
		t.Rows = append(t.Rows, backupRow(sc, jobs[k]))
	}
	return t, nil
}

// observe takes the points of one series of job j: the last success
// straight away, status and last run time into byTime to be joined.
func observe(j *backupJob, byTime map[time.Time]*jobObs, s tsdb.Series) {
	for _, p := range s.Points {
		v, ok := p.Value.(int64)
		if !ok {
			continue
		}
		switch {
		case s.Measurement == "backup_last_success" && s.Field == "end_time":
			j.success = max(j.success, v)
		case s.Measurement == "backup_job":
			o := byTime[p.Time]
			if o == nil {
				o = &jobObs{}
				byTime[p.Time] = o
			}
			if s.Field == "status" {
				o.status = &v
			} else if s.Field == "last_run_time" {
				o.run = &v
			}
		}
	}
}

// countRuns walks a job's polls in time order: the last status is the
// job's result, and each finished run counts once, with the status it
// had when last seen.
func countRuns(j *backupJob, byTime map[time.Time]*jobObs) {
	for _, at := range slices.SortedFunc(maps.Keys(byTime), time.Time.Compare) {
		o := byTime[at]
		if o.status == nil {
			continue
		}
		j.lastStatus = *o.status
		if o.run != nil && *o.run > 0 {
			j.lastRun = max(j.lastRun, *o.run)
			if *o.status != backupRunning {
				j.runs[*o.run] = *o.status
			}
		}
	}
}

func backupRow(sc Scope, j *backupJob) []any {
	var failed int64
	for _, st := range j.runs {
		if st == backupFailed {
			failed++
		}
	}
	var rate any
	if len(j.runs) > 0 {
		rate = round(100*float64(int64(len(j.runs))-failed)/float64(len(j.runs)), 2)
	}
	result := backupResults[j.lastStatus]
	if result == "" {
		result = fmt.Sprint(j.lastStatus)
	}
	return []any{sc.Customers[j.asset.OrgID], j.asset.ID, j.asset.Name, j.name, result,
		unixTime(j.lastRun), unixTime(j.success), int64(len(j.runs)), failed, rate}
}

// unixTime is a Unix time in seconds as a cell: empty when not positive.
func unixTime(v int64) any {
	if v <= 0 {
		return nil
	}
	return time.Unix(v, 0).UTC()
}
