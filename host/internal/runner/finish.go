package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/finalreport"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// evaluateTargets asks every target module of the registry — the plan's
// built-in targets first, then the target plugins — for its verdicts. A
// failing module is an error in the result, not a lost run.
func evaluateTargets(ctx context.Context, res *result.Result, reg *registry.Registry) {
	for _, t := range reg.Targets() {
		vs, err := t.Evaluate(ctx, res)
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("target stage: %v", err))
			continue
		}
		res.Targets = append(res.Targets, vs...)
	}
}

// finish writes result.json, then every report format the plan lists, each
// resolved by name in the registry (built-in formats and report plugins
// alike). Each
// output is written on its own: a format that fails (or panics) or a file
// that cannot be written costs only itself. A failed report is an error in
// the result (rewritten when it was written); the returned error has one
// line per failed output, in the order they were written.
func finish(plan *pipeline.Plan, opt reportOptions, out *Outcome, reg *registry.Registry) error {
	res := out.Result
	var errs []error
	wroteResult := false
	if err := result.Write(out.Dir, res); err != nil {
		errs = append(errs, err)
	} else {
		wroteResult = true
		out.Files = append(out.Files, filepath.Join(out.Dir, result.FileName))
	}
	failed := 0
	for _, format := range plan.Report.Formats {
		if format == "json" {
			continue // result.json is the JSON format
		}
		paths, err := writeFormatSafely(out.Dir, format, res, opt, reg)
		out.Files = append(out.Files, paths...)
		if err != nil {
			err = fmt.Errorf("report %s: %w", format, err)
			res.Errors = append(res.Errors, "report stage: "+err.Error())
			errs = append(errs, err)
			failed++
		}
	}
	if failed > 0 && wroteResult {
		if err := result.Write(out.Dir, res); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeFormatSafely is writeFormat with a panic in a format turned into
// that format's error, so a bug in one renderer costs no other file.
func writeFormatSafely(dir, format string, res *result.Result, opt reportOptions, reg *registry.Registry) (paths []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the renderer failed (a bug in pipe; please report it): %v", p)
		}
	}()
	return writeFormat(dir, format, res, opt, reg)
}

// reportOptions are the rendering options shared by every format.
type reportOptions = report.Options

func writeFormat(dir, format string, res *result.Result, opt reportOptions, reg *registry.Registry) ([]string, error) {
	formats := reg.Formats()
	if _, ok := formats.Lookup(format); !ok {
		return nil, fmt.Errorf("format %q: neither a built-in format nor a report plugin of this pipeline (registered: %s)", format, strings.Join(formats.Names(), ", "))
	}
	return formats.Write(dir, format, res, opt)
}

// loadBaseline resolves the baseline before anything runs, so a typo
// costs seconds, not a benchmark.
func loadBaseline(plan *pipeline.Plan, override string) (*result.Result, error) {
	ref := plan.Report.Baseline
	if override != "" {
		ref = override
	}
	if ref == "" {
		return nil, nil
	}
	b, _, err := result.Load(ref, plan.Report.OutDir)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return b, nil
}

// executeReport runs a report-only pipeline (phase 5): it merges the
// inputs' results and renders them.
func executeReport(ctx context.Context, plan *pipeline.Plan, opt Options) (*Outcome, error) {
	baseline, err := loadBaseline(plan, opt.Baseline)
	if err != nil {
		return nil, err
	}
	res, err := finalreport.Build(ctx, plan, plan.Report.OutDir)
	if err != nil {
		return nil, err
	}
	started, _ := time.Parse(time.RFC3339Nano, res.StartedAt)
	dir, err := newRunDir(plan.Report.OutDir, result.DirName(plan.Name, "report", started))
	if err != nil {
		return nil, err
	}
	out := &Outcome{Result: res, Dir: dir}
	return out, finish(plan, reportOptions{Baseline: baseline, Title: plan.Report.Title}, out, registry.New())
}
