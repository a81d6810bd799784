package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/assets"
	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/model"
	"github.com/pipe-bench/pipe/host/stats"
	"github.com/pipe-bench/pipe/host/target"
)

// validate checks the decoded file, applies defaults and resolves paths,
// and returns the Plan; problems go to l.problems (the Plan is discarded
// when there are any).
func (l *loader) validate(doc *fileDoc) *Plan {
	p := &Plan{
		Name:        doc.Name,
		Description: strings.TrimSpace(doc.Description),
		File:        l.file,
		Dir:         l.dir,
	}
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

	var pluginNames []string
	for _, pd := range doc.Plugin {
		pluginNames = append(pluginNames, pd.Name)
	}
	// One metric registry resolves every metric name of the file: the
	// built-ins, and the namespaces the declared plugins claim (their
	// metrics are declared when they load; metric.Registry.Known).
	reg, claims := claimPlugins(doc)
	knownMetric := func(key, id string) {
		if !reg.Known(id) {
			l.addf(key, "unknown metric %q; %s", id, suggestMetric(id, reg))
		}
	}

	l.model(doc, p)
	l.cases(doc, p)

	// [warmup]
	p.Warmup.Runs = DefaultWarmupRuns
	if l.seen("warmup.runs") {
		p.Warmup.Runs = doc.Warmup.Runs
		if doc.Warmup.Runs < 0 {
			l.addf("warmup.runs", "must be ≥ 0, got %d", doc.Warmup.Runs)
		}
	}

	// [generate]
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
			knownMetric("generate.stop_metric", g.StopMetric)
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

	// [measure]
	for i, id := range doc.Measure.Metrics {
		knownMetric(fmt.Sprintf("measure.metrics.%d", i), id)
	}
	p.Measure.Metrics = doc.Measure.Metrics
	if dup := firstDuplicate(doc.Measure.Metrics); dup != "" {
		l.addf("measure.metrics", "%q is listed twice", dup)
	}

	// [aggregate]
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

	// [report]
	r := doc.Report
	p.Report = ReportSpec{OutDir: DefaultOutDir, Formats: DefaultFormats, Baseline: r.Baseline, Title: r.Title}
	if l.seen("report.formats") {
		p.Report.Formats = r.Formats
		if len(r.Formats) == 0 {
			l.addf("report.formats", "is empty: name at least one of %s", strings.Join(BuiltinFormats, ", "))
		}
		for i, f := range r.Formats {
			if !contains(BuiltinFormats, f) && !contains(pluginNames, f) {
				l.addf(fmt.Sprintf("report.formats.%d", i), "unknown format %q; use %s, or the name of a declared report plugin", f, strings.Join(BuiltinFormats, ", "))
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

	// [[target]]
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
			if _, err := path.Match(td.Case, ""); err != nil {
				l.addf(key+".case", "bad case pattern %q: %v", td.Case, err)
			} else if len(p.Cases) > 0 && !matchesAny(td.Case, p.Cases) {
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

	l.plugins(doc, p, claims)

	// [inputs]
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

	l.oversubscription(p)
	return p
}

// targetRuns checks that the plan can give a spread or tail target the
// valid runs it is judged on (target.MinRuns). Runs an overlay (--quick,
// --set) lowered make a warning instead: the target will then fail as
// "insufficient runs", which is what a quick look should say.
func (l *loader) targetRuns(key string, tg target.Target, p *Plan) {
	need := target.MinRuns(tg.Statistic)
	if need <= 1 || p.ReportOnly() {
		return
	}
	runs, runsKey := p.Generate.Runs, "generate.runs"
	if p.Generate.MaxRuns > 0 {
		runs, runsKey = p.Generate.MaxRuns, "generate.max_runs"
	}
	if runs >= need {
		if p.Generate.MaxRuns > 0 && p.Generate.MinRuns < need {
			p.Warnings = append(p.Warnings, fmt.Sprintf("target %q: %s is judged on ≥ %d valid runs, but the adaptive run count may stop at min_runs = %d; set generate.min_runs = %d to be sure",
				tg.Expr, tg.Statistic, need, p.Generate.MinRuns, need))
		}
		return
	}
	msg := fmt.Sprintf("target %q: %s is judged on ≥ %d valid runs, but %s = %d; raise %s to %d, or judge max or mean",
		tg.Expr, tg.Statistic, need, runsKey, runs, runsKey, need)
	if l.overlaid("generate") {
		p.Warnings = append(p.Warnings, msg+" (it will fail as insufficient runs)")
		return
	}
	l.addf(key, "%s", msg)
}

// percentileComputed reports whether a statistic is one the aggregate
// stage computes: a fixed one, or one of the asked percentiles.
func percentileComputed(stat string, percentiles []float64) bool {
	if contains(stats.Statistics, stat) || stat == "n" || !strings.HasPrefix(stat, "p") {
		return true
	}
	for _, pc := range percentiles {
		if stats.PercentileName(pc) == stat {
			return true
		}
	}
	return false
}

// suggestMetric names the closest built-in metric, or lists them.
func suggestMetric(id string, reg *metric.Registry) string {
	best, bestDist := "", 4
	var all []string
	for _, d := range reg.All() {
		all = append(all, d.ID)
		if dist := editDistance(id, d.ID); dist < bestDist {
			best, bestDist = d.ID, dist
		}
	}
	if best != "" {
		return "did you mean " + best + "?"
	}
	return "built-in metrics are " + strings.Join(all, ", ")
}

// model checks [model]: a built-in name or a directory (or .onnx file),
// its context length, runtime settings and tokenizer.
func (l *loader) model(doc *fileDoc, p *Plan) {
	m := doc.Model
	p.Model = ModelSpec{
		Source: m.Source, Seed: m.Seed, GraphStyle: m.GraphStyle, Device: m.Device, DeviceID: m.DeviceID,
		IntraOpThreads: m.IntraOpThreads, InterOpThreads: m.InterOpThreads, Spinning: m.Spinning,
		OptLevel: m.OptLevel, Options: m.Options,
	}
	if p.Model.Source == "" {
		p.Model.Source = DefaultSource
	}
	builtin := false
	if preset, ok := model.Presets[p.Model.Source]; ok {
		l.modelShape = preset()
		builtin, p.Model.MaxPositions = true, l.modelShape.MaxPositions
	} else {
		src := l.resolvePath("model.source", p.Model.Source)
		p.Model.Source = src
		dir := src
		st, err := os.Stat(src)
		switch {
		case err == nil && !st.IsDir() && strings.HasSuffix(src, ".onnx"):
			dir = filepath.Dir(src) // an .onnx file: its config.json sits beside it
		case err != nil || !st.IsDir():
			l.addf("model.source", "%q is not a built-in model, a directory or an .onnx file; use %s or a model directory (relative to the pipeline file)", m.Source, quoteList(model.PresetNames()))
			dir = ""
		}
		if dir != "" {
			if cfg, _, err := model.ReadConfig(dir); err != nil {
				l.addf("model.source", "%v", err)
			} else {
				l.modelShape, p.Model.MaxPositions = cfg, cfg.MaxPositions
			}
		}
	}
	if p.Model.GraphStyle == "" {
		p.Model.GraphStyle = model.DefaultStyle
	}
	l.choice("model.graph_style", &p.Model.GraphStyle, model.Styles)
	l.choice("model.device", &p.Model.Device, devices)
	l.choice("model.opt_level", &p.Model.OptLevel, optLevels)
	for _, kv := range []struct {
		key string
		v   int
	}{{"model.device_id", m.DeviceID}, {"model.intra_op_threads", m.IntraOpThreads}, {"model.inter_op_threads", m.InterOpThreads}} {
		if kv.v < 0 {
			l.addf(kv.key, "must be ≥ 0 (0: the runtime's default), got %d", kv.v)
		}
	}
	if m.ORTLib != "" {
		p.Model.ORTLib = l.resolvePath("model.ort_lib", m.ORTLib)
		if _, err := os.Stat(p.Model.ORTLib); err != nil {
			l.addf("model.ort_lib", "no such file %s; point it at libonnxruntime.so, or leave it out to use `pipe setup`'s", p.Model.ORTLib)
		}
	}
	switch tk := m.Tokenizer; {
	case tk == "" && p.Model.Source == "gpt2":
		p.Model.Tokenizer = "gpt2"
	case tk == "" && builtin, tk == "none":
		p.Model.Tokenizer = ""
	case tk == "" && strings.HasSuffix(p.Model.Source, ".onnx"):
		p.Model.Tokenizer = filepath.Dir(p.Model.Source) // the model directory's own tokenizer
	case tk == "":
		p.Model.Tokenizer = p.Model.Source
	case tk == "gpt2":
		p.Model.Tokenizer = "gpt2"
	default:
		dir := l.resolvePath("model.tokenizer", tk)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			l.addf("model.tokenizer", "%q is not \"gpt2\", \"none\" or a directory holding tokenizer.json or encoder.json + vocab.bpe", tk)
		}
		p.Model.Tokenizer = dir
	}
}

// choice checks an enumerated key; the empty value takes the first choice.
func (l *loader) choice(key string, v *string, choices []string) {
	if *v == "" {
		*v = choices[0]
		return
	}
	if !contains(choices, *v) {
		l.addf(key, "unknown value %q; use %s", *v, quoteList(choices))
	}
}

// claimPlugins returns the metric registry validation resolves names
// through: the built-in metrics, and the namespace of every declared plugin
// whose name is well-formed and not declared before, claimed for it. The
// errors are the refused claims (a plugin named like a built-in metric), by
// the plugin's index, for plugins to report.
func claimPlugins(doc *fileDoc) (*metric.Registry, map[int]error) {
	reg, refused := metric.NewRegistry(), map[int]error{}
	seen := map[string]bool{}
	for i, pd := range doc.Plugin {
		if pluginPattern.MatchString(pd.Name) && !seen[pd.Name] && !contains(BuiltinFormats, pd.Name) {
			if err := reg.Claim(pd.Name, pd.Name); err != nil {
				refused[i] = err
			}
		}
		seen[pd.Name] = true
	}
	return reg, refused
}

// plugins checks [[plugin]] tables and resolves their .wasm paths; claims
// are claimPlugins' refusals.
func (l *loader) plugins(doc *fileDoc, p *Plan, claims map[int]error) {
	names := map[string]bool{}
	for i, pd := range doc.Plugin {
		key := fmt.Sprintf("plugin.%d", i)
		// Limits left unset stay 0: the plugin host owns their defaults
		// (per export: a report may take longer than a describe).
		ps := PluginSpec{Name: pd.Name, Config: pd.Config, Trusted: pd.Trusted, Line: l.at(key).Line}
		switch {
		case pd.Name == "":
			l.addf(key, "name is missing, e.g. name = \"jitter\"")
		case !pluginPattern.MatchString(pd.Name):
			l.addf(key+".name", "plugin name %q: use lowercase letters, digits and '_' (it namespaces the plugin's metrics)", pd.Name)
		case names[pd.Name]:
			l.addf(key+".name", "plugin %q is declared twice", pd.Name)
		case contains(BuiltinFormats, pd.Name):
			// A report plugin's format is its name, and the built-in
			// format would answer to it: the plugin would never run.
			l.addf(key+".name", "plugin name %q is taken by the built-in report format %s: rename the plugin", pd.Name, pd.Name)
		case claims[i] != nil:
			l.addf(key+".name", "%v", claims[i])
		}
		names[pd.Name] = true
		ref := pd.Path
		if ref == "" {
			ref = pd.Name
		}
		if ref != "" && !strings.ContainsRune(ref, '/') && !strings.HasSuffix(ref, ".wasm") {
			ps.FirstParty = true
			ps.Path = filepath.Join(assets.CacheDir(), "plugins", ref+".wasm")
			if _, err := os.Stat(ps.Path); err != nil {
				p.Warnings = append(p.Warnings, fmt.Sprintf("plugin %s: %s is not built yet; run `make plugins`", ps.Name, ps.Path))
			}
		} else if ref != "" {
			ps.Path = l.resolvePath(key+".path", ref)
			if _, err := os.Stat(ps.Path); err != nil {
				l.addf(key+".path", "no such file %s (paths are relative to the pipeline file; build a plugin with `pipe plugin build DIR`)", ps.Path)
			}
		}
		if l.seen(key + ".memory_mib") {
			ps.MemoryMiB = pd.MemoryMiB
			if pd.MemoryMiB < 1 { // the upper bound is a count limit (limits.go)
				l.addf(key+".memory_mib", "must be within 1–4096 (a 32-bit WebAssembly memory), got %d", pd.MemoryMiB)
			}
		}
		if l.seen(key + ".timeout") {
			ps.Timeout = time.Duration(pd.Timeout)
			if ps.Timeout <= 0 {
				l.addf(key+".timeout", "must be > 0, e.g. \"10s\", got %v", ps.Timeout)
			}
		}
		if l.seen(key + ".max_output") {
			ps.MaxOutput = int(pd.MaxOutput)
			if pd.MaxOutput < 1 || pd.MaxOutput > 1<<30 {
				l.addf(key+".max_output", "must be within 1 byte and 1GiB, got %v", float64(pd.MaxOutput))
			}
		}
		ps.Grant = PluginGrant{Clock: pd.Grant.Clock, Env: pd.Grant.Env}
		for j, dir := range pd.Grant.Read {
			gk := fmt.Sprintf("%s.grant.read.%d", key, j)
			abs, err := filepath.Abs(l.resolvePath(gk, dir))
			if err == nil {
				if st, serr := os.Stat(abs); serr != nil || !st.IsDir() {
					l.addf(key+".grant.read", "%s is not a directory (paths are relative to the pipeline file)", abs)
				}
			}
			ps.Grant.Read = append(ps.Grant.Read, abs)
		}
		for _, name := range pd.Grant.Env {
			if name == "" || strings.ContainsAny(name, "= ") {
				l.addf(key+".grant.env", "%q is not an environment variable name", name)
			}
		}
		p.Plugins = append(p.Plugins, ps)
	}
}

// oversubscription warns when streams × intra-op threads exceed the cores.
func (l *loader) oversubscription(p *Plan) {
	var over []string
	for _, c := range p.Cases {
		threads := c.Threads
		if threads == 0 {
			threads = p.Model.IntraOpThreads
		}
		if threads == 0 {
			threads = l.opts.CPUs
		}
		if c.Streams > 1 && c.Streams*threads > l.opts.CPUs {
			over = append(over, fmt.Sprintf("%s (%d×%d)", c.ID, c.Streams, threads))
		}
	}
	if len(over) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("streams × intra-op threads exceed the %d cores in %s: streams will contend for cores; set model.intra_op_threads (or a threads axis) to cores / streams",
			l.opts.CPUs, strings.Join(over, ", ")))
	}
}

// checkRef checks a result reference: "latest:NAME" or a path.
func checkRef(ref string) error {
	if name, ok := strings.CutPrefix(ref, "latest:"); ok {
		if !namePattern.MatchString(name) {
			return fmt.Errorf("%q: latest: takes a pipeline name, e.g. latest:phase2-latency", ref)
		}
		return nil
	}
	if strings.TrimSpace(ref) == "" {
		return fmt.Errorf("is empty: give latest:NAME or a result path")
	}
	return nil
}

func matchesAny(pattern string, cases []CaseSpec) bool {
	for _, c := range cases {
		if ok, _ := path.Match(pattern, c.ID); ok {
			return true
		}
	}
	return false
}

func caseIDs(cases []CaseSpec) []string {
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.ID
	}
	return out
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func firstDuplicate(list []string) string {
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
