package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/pipe-bench/pipe/host/finalreport"

	"github.com/pipe-bench/pipe/host/pipeline"
	"github.com/pipe-bench/pipe/host/result"
	"github.com/pipe-bench/pipe/host/target"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// evaluateTargets judges the plan's built-in targets, then asks every
// target plugin. A failing target plugin is an error in the result, not a
// lost run.
func evaluateTargets(ctx context.Context, plan *pipeline.Plan, res *result.Result, ps *plugins) {
	for _, ts := range plan.Targets {
		res.Targets = append(res.Targets, target.Evaluate(ts.Target, res)...)
	}
	for _, p := range ps.with(abi.KindTarget) {
		vs, err := p.Target(ctx, res)
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("target stage: %v", err))
			continue
		}
		for i := range vs {
			if vs[i].Source == "" {
				vs[i].Source = p.Info().Name
			}
		}
		res.Targets = append(res.Targets, vs...)
	}
	res.Plugins = ps.info()
}

// finish writes result.json, then every report format the plan lists.
func finish(ctx context.Context, plan *pipeline.Plan, opt Options, out *Outcome, ps *plugins) error {
	if err := result.Write(out.Dir, out.Result); err != nil {
		return err
	}
	out.Files = append(out.Files, filepath.Join(out.Dir, "result.json"))
	return nil
}

// executeReport runs a report-only pipeline (phase 5): it merges the
// inputs' results and renders them.
func executeReport(ctx context.Context, plan *pipeline.Plan, opt Options) (*Outcome, error) {
	res, err := finalreport.Build(ctx, plan, plan.Report.OutDir)
	if err != nil {
		return nil, err
	}
	started, _ := time.Parse(time.RFC3339Nano, res.StartedAt)
	out := &Outcome{Result: res, Dir: filepath.Join(plan.Report.OutDir, result.DirName(plan.Name, "report", started))}
	return out, finish(ctx, plan, opt, out, &plugins{})
}
