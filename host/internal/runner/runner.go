// Package runner executes a validated pipeline from start to finish: it
// opens the model and the plugins the plan names, runs the engine's stages,
// adds the phase analyses, evaluates the targets, and writes result.json and
// every report format; the command line maps the outcome to an exit code.
//
// It takes a stand on order and durability: the raw samples are journaled
// by the engine as they happen, result.json is written before any report
// renders, each output is written on its own (one that fails costs no
// other), and a failing report, target plugin or metric plugin is recorded
// in the result — it never costs the measurements. The run's own error
// comes first, then one per output that could not be written.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/pipe-bench/pipe/host/internal/analysis"
	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/sysinfo"
)

// Options are the command line's choices that are not part of the plan.
type Options struct {
	// Progress receives progress lines; nil is quiet.
	Progress io.Writer
	// Log receives one-line notices (where results went, warnings).
	Log io.Writer
	// Baseline overrides the plan's report.baseline (a path or latest:NAME).
	Baseline string
	// Version is pipe's version, recorded in the result's environment.
	Version string
	// Generator, when set, is used instead of opening the plan's model
	// (tests; the caller keeps ownership).
	Generator gen.Generator
	// PlanHash is the whole plan's hash when plan is one shard of it
	// (shard.Select); "" means plan.Hash().
	PlanHash string
	// Shard and Labels are recorded in the journal and the result.
	Shard  *result.Shard
	Labels map[string]string
	// Resume is --resume DIR: continue the interrupted run in DIR, or
	// start one there when it has none (prepareResume).
	Resume string
}

// Outcome is what a run produced.
type Outcome struct {
	Result *result.Result
	Dir    string   // the run's output directory
	Files  []string // files written, result.json first
	// Finished says that --resume found the run finished: Result is its
	// result.json, and nothing was run or written.
	Finished bool
}

// Execute runs plan. The returned Outcome is non-nil whenever a result was
// written, also together with an error (an interrupt, a failing stage).
func Execute(ctx context.Context, plan *pipeline.Plan, opt Options) (*Outcome, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if plan.ReportOnly() {
		return executeReport(ctx, plan, opt)
	}
	if opt.PlanHash == "" {
		opt.PlanHash = plan.Hash()
	}
	var resume *resumePoint
	if opt.Resume != "" {
		rp, err := prepareResume(opt.Resume, opt.PlanHash, plan.Name, opt.Shard)
		if err != nil {
			return nil, err
		}
		if rp.done != nil {
			fmt.Fprintf(opt.Log, "%s: the run had finished (its journal ends after every case, and %s is there); nothing to resume\n", rp.dir, result.FileName)
			return &Outcome{Result: rp.done, Dir: rp.dir, Finished: true}, nil
		}
		resume = rp
	}
	baseline, err := loadBaseline(plan, opt.Baseline)
	if err != nil {
		return nil, err
	}
	// The load average before pipe itself loads the model: session
	// creation is seconds of CPU that would count as "busy before the run".
	loadBefore := sysinfo.LoadAvg1()
	g := opt.Generator
	var tok engine.Tokenizer
	var prompts engine.Prompter
	var forThreads func(int) (gen.Generator, error)
	if g == nil {
		opened, err := openModel(plan)
		if err != nil {
			return nil, err
		}
		defer opened.close()
		g, tok, prompts, forThreads = opened.gen, opened.tok, opened.prompts, opened.forThreads
	}
	// The memory model's baseline: what the process holds once the model
	// is open, without the garbage of building or reading it.
	debug.FreeOSMemory()
	rssAfterOpen := measure.RSS()

	var dir string
	var journal *engine.Journal
	if resume != nil {
		dir, journal = resume.dir, resume.journal
	} else if dir, err = newRunDir(plan.Report.OutDir, result.DirName(plan.Name, g.Info().Model, time.Now())); err != nil {
		return nil, err
	}
	out := &Outcome{Dir: dir}

	plugins, err := openPlugins(ctx, plan)
	if err != nil {
		return nil, err
	}
	defer plugins.close(ctx)
	reg := registry.New()
	if err := reg.Register(registry.Targets(plan.Targets)); err != nil {
		return nil, err
	}
	if err := plugins.register(ctx, reg); err != nil {
		return nil, err
	}

	measurers, err := withFidelity(plan, g, reg.Measurers())
	if err != nil {
		return nil, err
	}
	defer closeFidelity(measurers)

	recordGPU := watchGPU(plan)
	defer recordGPU(nil)
	res, runErr := engine.Run(ctx, plan, g, engine.Options{
		Dir: dir, Progress: opt.Progress, Prompts: prompts, Tokenizer: tok,
		Measurers: measurers, Registry: reg.Metrics(), ForThreads: forThreads,
		PlanHash: opt.PlanHash, Shard: opt.Shard, Labels: opt.Labels, Resume: journal,
	})
	if res == nil {
		return nil, runErr
	}
	out.Result = res
	res.Env.PipeVersion = opt.Version
	res.Env.LoadBefore = loadBefore
	res.Warnings = append(res.Warnings, plan.Warnings...)
	analyse(plan, res)
	recordGPU(res)
	recordMemoryModel(plan, res, rssAfterOpen)
	evaluateTargets(ctx, res, reg)
	res.Plugins = plugins.info()
	// The run's own error (a journal that could not be written, an
	// interrupt) comes first: it is why the result is short; then one
	// error per output that could not be written.
	return out, errors.Join(runErr, finish(plan, reportOptions{Baseline: baseline, Title: plan.Report.Title}, out, reg))
}

// newRunDir creates a fresh directory named name under root: two runs
// started in the same second get name and name-2, never one shared journal.
func newRunDir(root, name string) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("output directory: %w", err)
	}
	for i := 1; ; i++ {
		dir := filepath.Join(root, name)
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", dir, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return "", fmt.Errorf("output directory: %w", err)
		}
	}
}

// analyse adds the memory and throughput sections the plan asks for.
func analyse(plan *pipeline.Plan, res *result.Result) {
	for i := range res.Cases {
		c := &res.Cases[i]
		if len(c.Runs) == 0 {
			continue
		}
		if c.Values == nil {
			c.Values = map[string]float64{}
		}
		c.Values[metric.ThroughputOutputTPS], c.Values[metric.ThroughputRequestsPS] = analysis.CaseThroughput(c)
	}
	if th := plan.Aggregate.LeakThreshold; th > 0 {
		m := &result.Memory{LoadRSSDelta: res.Model.LoadRSSDelta, LoadPeakRSS: res.Model.LoadPeakRSS, SessionOptions: plan.Model.Options}
		for i := range res.Cases {
			c := &res.Cases[i]
			skip := max(2, len(c.Runs)/10)
			l, err := analysis.LeakOf(c, th, skip)
			if err != nil {
				res.Warnings = append(res.Warnings, "leak detector: "+err.Error())
				continue
			}
			m.Leak = append(m.Leak, l)
		}
		res.Memory = m
	}
	concurrent := false
	for _, c := range res.Cases {
		if c.Params.Batch > 1 || c.Params.Streams > 1 {
			concurrent = true
		}
	}
	if concurrent {
		res.Throughput = analysis.ThroughputOf(res.Cases, 0, res.Env.Cores, res.Model.Threads.IntraOp)
		res.Warnings = append(res.Warnings, res.Throughput.Warnings...)
	}
}
