// Package registry is pipe's one registry of kinds — metrics, targets and
// report formats — after caddy's modules: a module has a name, and what it
// does is the interfaces it implements: a Measurer adds metric values to a
// case, a TargetEvaluator judges a result, a ReportWriter (report.Format,
// optionally a report.FileNamer) renders one. Built-ins and WebAssembly
// plugins register the same way and are used through the same loops.
//
// It takes a stand on names: a name is registered once per kind, and a
// second module of that kind and name is refused at registration, with an
// error naming both; a plugin's name namespaces its metrics, so a plugin
// may not take a name a built-in metric family holds (metric.Registry).
// Validation, `pipe run`, `pipe report` and `pipe compare` resolve names
// through a Registry built by New; nothing registers itself from init.
package registry

import (
	"context"
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/fidelity"
	"github.com/pipe-bench/pipe/host/internal/finalreport"
	"github.com/pipe-bench/pipe/host/internal/htmlreport"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/target"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// Module is anything registered: its name is its ID within each kind it
// implements.
type Module interface{ Name() string }

// Measurer adds metric values to a measured case (the engine's interface).
type Measurer = engine.Measurer

// TargetEvaluator judges a result against targets.
type TargetEvaluator interface {
	Module
	// Evaluate returns the verdicts, each with its Source set.
	Evaluate(ctx context.Context, res *result.Result) ([]result.Verdict, error)
}

// ReportWriter renders a result (with report.FileNamer when its file names
// are fixed).
type ReportWriter = report.Format

// Registry holds the modules of one run, or of one `pipe report`.
type Registry struct {
	metrics   *metric.Registry
	formats   *report.Registry
	measurers []Measurer
	targets   []TargetEvaluator
	names     map[string]map[string]bool // kind → registered names
	// taken maps the run-directory files that no FileNamer claims — the
	// journal, report plugins' files — to their writers: the first
	// registered writer keeps a name (report.Registry.CheckFileName).
	taken map[string]string
}

// New returns a registry of the built-in modules: the built-in metrics
// (measure.Builtin, a Measurer like a metric plugin's), the report formats
// md (phase 5's merged markdown included), csv, json and html. Targets
// come with the plan (Targets).
func New() *Registry {
	r := &Registry{
		metrics: &metric.Registry{},
		formats: &report.Registry{},
		names:   map[string]map[string]bool{},
		taken:   map[string]string{engine.JournalName: "pipe's sample journal"},
	}
	// The fidelity module's zero value declares fidelity.* and measures
	// nothing; a run with [fidelity] puts a live one in its place.
	builtins := []Module{measure.Builtin{}, &fidelity.Module{}, htmlreport.Format{}}
	for _, f := range report.Builtin(finalreport.Markdown) {
		builtins = append(builtins, f)
	}
	for _, m := range builtins {
		if err := r.Register(m); err != nil {
			panic(err) // a programming error in the built-in modules
		}
	}
	return r
}

// Kinds of module, as Register names them in errors.
const (
	KindMetric = abi.KindMetric
	KindTarget = abi.KindTarget
	KindReport = abi.KindReport
)

// Register adds m under every kind it implements; a Measurer's metric
// definitions join Metrics. A name registered before in one of those kinds
// is refused (nothing of m is registered then), and so are a Measurer
// whose definitions the metric registry refuses and a module that
// implements no kind.
func (r *Registry) Register(m Module) error {
	meas, isMeasurer := m.(Measurer)
	eval, isTarget := m.(TargetEvaluator)
	rw, isReport := m.(ReportWriter)
	if !isMeasurer && !isTarget && !isReport {
		return fmt.Errorf("module %q is no metric, target or report module", m.Name())
	}
	for _, k := range []struct {
		is   bool
		kind string
	}{{isMeasurer, KindMetric}, {isTarget, KindTarget}} {
		if k.is && r.names[k.kind][m.Name()] {
			return fmt.Errorf("%s module %q is registered twice: rename one of them", k.kind, m.Name())
		}
	}
	if isMeasurer {
		if err := r.metrics.Define(m.Name(), meas.Metrics()); err != nil {
			return err
		}
	}
	if isReport {
		if err := r.formats.Register(rw); err != nil {
			return err
		}
	}
	if isMeasurer {
		r.measurers = append(r.measurers, meas)
		r.mark(KindMetric, m.Name())
	}
	if isTarget {
		r.targets = append(r.targets, eval)
		r.mark(KindTarget, m.Name())
	}
	return nil
}

func (r *Registry) mark(kind, name string) {
	if r.names[kind] == nil {
		r.names[kind] = map[string]bool{}
	}
	r.names[kind][name] = true
}

// RegisterPlugin registers a loaded plugin under each kind its manifest
// declares, after claiming its name as its metrics' namespace.
func (r *Registry) RegisterPlugin(ctx context.Context, p *plugin.Plugin) error {
	mf := p.Manifest()
	if err := r.metrics.Claim(mf.Name, mf.Name); err != nil {
		return fmt.Errorf("plugin %s: %w", mf.Name, err)
	}
	if mf.Has(abi.KindMetric) {
		if err := r.Register(pluginMeasurer{p}); err != nil {
			return fmt.Errorf("plugin %s: %w", mf.Name, err)
		}
	}
	if mf.Has(abi.KindTarget) {
		if err := r.Register(pluginTargets{p}); err != nil {
			return fmt.Errorf("plugin %s: %w", mf.Name, err)
		}
	}
	if mf.Has(abi.KindReport) {
		pr := &pluginReport{ctx: ctx, p: p, formats: r.formats, taken: map[string]string{}}
		for name, writer := range r.taken {
			pr.taken[name] = writer
		}
		if err := r.Register(pr); err != nil {
			return fmt.Errorf("plugin %s: %w", mf.Name, err)
		}
		if f := mf.Report; f != nil {
			if _, held := r.taken[f.FileName]; !held {
				r.taken[f.FileName] = "plugin " + mf.Name
			}
		}
	}
	return nil
}

// Metrics is the metric registry: the definitions of every registered
// Measurer, built-in and plugin, and the plugins' claimed namespaces.
func (r *Registry) Metrics() *metric.Registry { return r.metrics }

// Names are the metrics and report formats a pipeline may name, for
// pipeline.Load.
func (r *Registry) Names() pipeline.Names {
	return pipeline.Names{Metrics: r.metrics, Formats: r.formats.Names()}
}

// Formats is the report formats, by name.
func (r *Registry) Formats() *report.Registry { return r.formats }

// Measurers lists the metric modules in registration order.
func (r *Registry) Measurers() []Measurer { return append([]Measurer(nil), r.measurers...) }

// Targets lists the target modules in registration order.
func (r *Registry) Targets() []TargetEvaluator {
	return append([]TargetEvaluator(nil), r.targets...)
}

// Targets is the built-in target module: a plan's [[target]] expressions.
type Targets []pipeline.TargetSpec

// Name implements Module.
func (Targets) Name() string { return "builtin" }

// Evaluate implements TargetEvaluator.
func (ts Targets) Evaluate(_ context.Context, res *result.Result) ([]result.Verdict, error) {
	var out []result.Verdict
	for _, t := range ts {
		out = append(out, target.Evaluate(t.Target, res)...)
	}
	return out, nil
}

// pluginMeasurer adapts a metric plugin to Measurer: one batch per case.
type pluginMeasurer struct{ p *plugin.Plugin }

func (m pluginMeasurer) Name() string          { return m.p.Manifest().Name }
func (m pluginMeasurer) Metrics() []metric.Def { return m.p.Manifest().Metrics }

func (m pluginMeasurer) Measure(ctx context.Context, c *result.Case) error {
	if len(c.Runs) == 0 {
		return nil
	}
	batch := make([]plugin.RunInput, len(c.Runs))
	for i := range c.Runs {
		batch[i] = plugin.RunInputOf(c, &c.Runs[i])
	}
	perRun, corpus, err := m.p.Metric(ctx, batch)
	if err != nil {
		return err
	}
	for i, vs := range perRun {
		for id, v := range vs {
			c.Runs[i].Values[id] = v
		}
	}
	if len(corpus) > 0 && c.Values == nil {
		c.Values = map[string]float64{}
	}
	for id, v := range corpus {
		c.Values[id] = v
	}
	return nil
}

// pluginTargets adapts a target plugin to TargetEvaluator.
type pluginTargets struct{ p *plugin.Plugin }

func (t pluginTargets) Name() string { return t.p.Manifest().Name }

func (t pluginTargets) Evaluate(ctx context.Context, res *result.Result) ([]result.Verdict, error) {
	return t.p.Target(ctx, res)
}

// pluginReport adapts a report plugin to a report format named after the
// plugin. Its file name is checked when it renders, against the formats'
// files and taken (the journal, the report plugins registered before it):
// a clash costs that report only, not the run.
type pluginReport struct {
	ctx     context.Context
	p       *plugin.Plugin
	formats *report.Registry
	taken   map[string]string
}

func (pr *pluginReport) Name() string { return pr.p.Manifest().Name }

func (pr *pluginReport) Render(res *result.Result, _ report.Options) ([]report.File, error) {
	rep, err := pr.p.Report(pr.ctx, res)
	if err != nil {
		return nil, err
	}
	if err := pr.formats.CheckFileName(rep.FileName, "plugin "+pr.Name(), pr.taken); err != nil {
		return nil, err
	}
	return []report.File{{Name: rep.FileName, Data: rep.Body}}, nil
}

var (
	_ Measurer        = pluginMeasurer{}
	_ TargetEvaluator = pluginTargets{}
	_ TargetEvaluator = Targets{}
	_ ReportWriter    = (*pluginReport)(nil)
)
