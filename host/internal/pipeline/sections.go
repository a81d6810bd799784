package pipeline

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// The checks of validate, one per section of the file: each applies its
// section's defaults to the Plan and reports its problems.

// name checks the pipeline's name, by default the file's base name.
func (l *loader) name(doc *fileDoc, p *Plan) {
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(l.file), filepath.Ext(l.file))
	}
	if !namePattern.MatchString(p.Name) {
		at := "name"
		if doc.Name == "" {
			at = ""
		}
		l.addf(at, "name %q: use letters, digits, '.', '_' and '-' (it names result directories and latest: references)", p.Name)
	}
}

// knownMetric reports an unknown metric id at key, with a suggestion.
func (l *loader) knownMetric(reg *metric.Registry, key, id string) {
	if !reg.Known(id) {
		l.addf(key, "unknown metric %q; %s", id, suggestMetric(id, reg))
	}
}

// warmup checks [warmup].
func (l *loader) warmup(doc *fileDoc, p *Plan) {
	p.Warmup.Runs = DefaultWarmupRuns
	if l.seen("warmup.runs") {
		p.Warmup.Runs = doc.Warmup.Runs
		if doc.Warmup.Runs < 0 {
			l.addf("warmup.runs", "must be ≥ 0, got %d", doc.Warmup.Runs)
		}
	}
}

// generate checks [generate]: a fixed run count, or the adaptive one
// (min_runs … max_runs until the stop metric is precise enough), the
// timeout and the RSS sampling interval.
func (l *loader) generate(doc *fileDoc, p *Plan, reg *metric.Registry) {
	g := doc.Generate
	adaptiveKeys := []string{"min_runs", "max_runs", "min_seconds", "stop_metric", "stop_rel_ci"}
	adaptive := false
	for _, k := range adaptiveKeys {
		adaptive = adaptive || l.seen("generate."+k)
	}
	switch {
	case adaptive && l.seen("generate.runs"):
		l.addf("generate.runs", "set either runs (a fixed count) or min_runs/max_runs/stop_rel_ci (adaptive), not both")
	case adaptive:
		l.adaptiveRuns(g, p, reg)
	default:
		p.Generate.Runs = DefaultRuns
		if l.seen("generate.runs") {
			p.Generate.Runs = g.Runs
			if g.Runs < 1 {
				l.addf("generate.runs", "must be ≥ 1, got %d", g.Runs)
			}
		}
	}
	p.Generate.Timeout = time.Duration(g.Timeout)
	if p.Generate.Timeout < 0 {
		l.addf("generate.timeout", "must be ≥ 0 (0: no limit), got %v", p.Generate.Timeout)
	}
	p.Generate.RSSInterval = DefaultRSSInterval
	if l.seen("generate.rss_interval") {
		p.Generate.RSSInterval = time.Duration(g.RSSInterval)
		switch iv := p.Generate.RSSInterval; {
		case iv <= 0:
			l.addf("generate.rss_interval", "must be > 0, got %v", iv)
		case iv > time.Second:
			l.addf("generate.rss_interval", "must be ≤ 1s, got %v (peaks between samples would be missed)", iv)
		case iv > 10*time.Millisecond:
			p.Warnings = append(p.Warnings, fmt.Sprintf("generate.rss_interval = %v: samples farther apart than 10ms can miss short RSS peaks", iv))
		}
	}
}

// adaptiveRuns checks the adaptive run count: at least min_runs (default
// DefaultMinRuns, at most max_runs) and min_seconds, then until the stop
// metric's mean is within stop_rel_ci, up to max_runs (required).
func (l *loader) adaptiveRuns(g generateDoc, p *Plan, reg *metric.Registry) {
	p.Generate.MinRuns, p.Generate.MaxRuns = DefaultMinRuns, g.MaxRuns
	if l.seen("generate.min_runs") {
		p.Generate.MinRuns = g.MinRuns
	}
	p.Generate.StopRelCI, p.Generate.StopMetric = DefaultStopRelCI, metric.E2E
	if l.seen("generate.stop_rel_ci") {
		p.Generate.StopRelCI = g.StopRelCI
	}
	if l.seen("generate.stop_metric") {
		p.Generate.StopMetric = g.StopMetric
		l.knownMetric(reg, "generate.stop_metric", g.StopMetric)
	}
	p.Generate.MinSeconds = g.MinSeconds
	switch {
	case !l.seen("generate.max_runs"):
		l.addf("generate", "max_runs is missing: an adaptive run count needs an upper bound, e.g. max_runs = 20")
	case g.MaxRuns < 2:
		l.addf("generate.max_runs", "must be ≥ 2 (a confidence interval needs two runs), got %d", g.MaxRuns)
	}
	if p.Generate.MinRuns < 2 {
		l.addf("generate.min_runs", "must be ≥ 2 (a confidence interval needs two runs), got %d", p.Generate.MinRuns)
	} else if l.seen("generate.max_runs") && p.Generate.MinRuns > g.MaxRuns {
		if l.seen("generate.min_runs") {
			l.addf("generate.min_runs", "min_runs = %d exceeds max_runs = %d", p.Generate.MinRuns, g.MaxRuns)
		} else {
			p.Generate.MinRuns = max(g.MaxRuns, 2)
		}
	}
	if ci := p.Generate.StopRelCI; ci <= 0 || ci >= 1 {
		l.addf("generate.stop_rel_ci", "must be a fraction between 0 and 1 (0.05: stop at ±5 %% of the mean), got %v", ci)
	}
	if g.MinSeconds < 0 {
		l.addf("generate.min_seconds", "must be ≥ 0, got %v", g.MinSeconds)
	}
}

// measure checks [measure]: the metrics kept are known and listed once.
func (l *loader) measure(doc *fileDoc, p *Plan, reg *metric.Registry) {
	for i, id := range doc.Measure.Metrics {
		l.knownMetric(reg, fmt.Sprintf("measure.metrics.%d", i), id)
	}
	p.Measure.Metrics = doc.Measure.Metrics
	if dup := firstDuplicate(doc.Measure.Metrics); dup != "" {
		l.addf("measure.metrics", "%q is listed twice", dup)
	}
}

// aggregate checks [aggregate]: percentiles, the outlier rule's z and the
// leak threshold.
func (l *loader) aggregate(doc *fileDoc, p *Plan) {
	a := doc.Aggregate
	p.Aggregate.Percentiles = DefaultPercentiles
	if l.seen("aggregate.percentiles") {
		p.Aggregate.Percentiles = a.Percentiles
		for _, pc := range a.Percentiles {
			if !(pc > 0 && pc < 100) {
				l.addf("aggregate.percentiles", "percentile %v is outside (0, 100); e.g. 50, 95, 99.9", pc)
			}
		}
	}
	p.Aggregate.OutlierZ = DefaultOutlierZ
	if l.seen("aggregate.outlier_z") {
		p.Aggregate.OutlierZ = a.OutlierZ
		if a.OutlierZ <= 0 {
			l.addf("aggregate.outlier_z", "must be > 0 (the default is %v robust SDs), got %v", DefaultOutlierZ, a.OutlierZ)
		}
	}
	p.Aggregate.LeakThreshold = float64(a.LeakThreshold)
	if a.LeakThreshold < 0 {
		l.addf("aggregate.leak_threshold", "must be ≥ 0 (bytes of RSS growth per run; 0: no verdict), got %v", float64(a.LeakThreshold))
	}
}

// report checks [report]: formats (built-in, or a declared report
// plugin), the output directory and the baseline reference.
func (l *loader) report(doc *fileDoc, p *Plan) {
	var pluginNames []string
	for _, pd := range doc.Plugin {
		pluginNames = append(pluginNames, pd.Name)
	}
	r := doc.Report
	p.Report = ReportSpec{OutDir: DefaultOutDir, Formats: DefaultFormats, Baseline: r.Baseline, Title: r.Title}
	if l.seen("report.formats") {
		p.Report.Formats = r.Formats
		if len(r.Formats) == 0 {
			l.addf("report.formats", "is empty: name at least one of %s", strings.Join(l.opts.Names.Formats, ", "))
		}
		for i, f := range r.Formats {
			if !contains(l.opts.Names.Formats, f) && !contains(pluginNames, f) {
				l.addf(fmt.Sprintf("report.formats.%d", i), "unknown format %q; use %s, or the name of a declared report plugin", f, strings.Join(l.opts.Names.Formats, ", "))
			}
		}
		if dup := firstDuplicate(r.Formats); dup != "" {
			l.addf("report.formats", "%q is listed twice", dup)
		}
	}
	if r.OutDir != "" {
		p.Report.OutDir = r.OutDir
	}
	if l.opts.OutDir != "" {
		p.Report.OutDir = l.opts.OutDir
	}
	if r.Baseline != "" {
		if err := checkRef(r.Baseline); err != nil {
			l.addf("report.baseline", "%v", err)
		}
	}
}

// targets checks the [[target]] tables: each expression parses, names a
// known metric and a computed statistic, has the runs it is judged on,
// and its case pattern matches a case.
func (l *loader) targets(doc *fileDoc, p *Plan, reg *metric.Registry) {
	for i, td := range doc.Target {
		key := fmt.Sprintf("target.%d", i)
		if !l.seen(key + ".expr") {
			l.addf(key, "expr is missing, e.g. expr = \"ttft_ms.p95 < 2500ms\"")
			continue
		}
		tg, err := target.Parse(td.Expr)
		if err != nil {
			l.addf(key+".expr", "%v", err)
			continue
		}
		if !reg.Known(tg.Metric) {
			l.addf(key+".expr", "target %q: unknown metric %q; %s", td.Expr, tg.Metric, suggestMetric(tg.Metric, reg))
			continue
		}
		if !percentileComputed(tg.Statistic, p.Aggregate.Percentiles) {
			l.addf(key+".expr", "target %q: %s is not computed; add %s to aggregate.percentiles", td.Expr, tg.Statistic, strings.TrimPrefix(tg.Statistic, "p"))
		}
		l.targetRuns(key+".expr", tg, p)
		tg.Case = td.Case
		ts := TargetSpec{Expr: tg.Expr, Case: td.Case, Line: l.at(key).Line, Target: tg}
		if td.Case != "" && td.Case != "*" {
			if err := target.CheckSelector(td.Case); err != nil {
				l.addf(key+".case", "%v", err)
			} else if len(p.Cases) > 0 && !target.SelectsAny(td.Case, caseIDs(p.Cases)) {
				msg := fmt.Sprintf("%q matches no case; cases are %s", td.Case, strings.Join(caseIDs(p.Cases), ", "))
				if l.overlaid("matrix", "case") { // the command line changed the cases: the target just does not apply
					p.Warnings = append(p.Warnings, fmt.Sprintf("target %q: %s", td.Expr, msg))
				} else {
					l.addf(key+".case", "%s", msg)
				}
			}
		}
		p.Targets = append(p.Targets, ts)
	}
}

// inputs checks [inputs], a report-only pipeline's results, and orders
// the roles as the file lists them.
func (l *loader) inputs(doc *fileDoc, p *Plan) {
	if len(doc.Inputs) > 0 {
		p.Inputs = doc.Inputs
		for role, ref := range doc.Inputs {
			if err := checkRef(ref); err != nil {
				l.addf("inputs."+role, "%v", err)
			}
			p.InputOrder = append(p.InputOrder, role)
		}
		sort.Slice(p.InputOrder, func(i, j int) bool {
			a, b := l.lines.line("inputs."+p.InputOrder[i]), l.lines.line("inputs."+p.InputOrder[j])
			if a != b {
				return a < b
			}
			return p.InputOrder[i] < p.InputOrder[j]
		})
	}
}

// DefaultFidelityRuns is how many of each case's measured runs [fidelity]
// scores when it does not say.
const DefaultFidelityRuns = 1

// fidelity checks [fidelity]: the reference is a precision of the same
// model (the candidate's own is allowed: a check that gives agreement 1),
// runs ≥ 0 (0: every measured run).
func (l *loader) fidelity(doc *fileDoc, p *Plan) {
	f := doc.Fidelity
	if !l.seen("fidelity.reference") {
		if l.seen("fidelity.runs") {
			l.addf("fidelity.runs", "[fidelity] needs reference, the precision to compare against: one of %s", quoteList(model.Precisions))
		}
		return
	}
	p.Fidelity = FidelitySpec{Reference: f.Reference, Runs: DefaultFidelityRuns}
	if !contains(model.Precisions, f.Reference) {
		l.addf("fidelity.reference", "unknown precision %q; use %s (a precision of the same model)", f.Reference, quoteList(model.Precisions))
	}
	if l.seen("fidelity.runs") {
		p.Fidelity.Runs = f.Runs
		if f.Runs < 0 {
			l.addf("fidelity.runs", "must be ≥ 0 (0: every measured run), got %d", f.Runs)
		}
	}
}
