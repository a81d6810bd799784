package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/pipe-bench/pipe/host/assets"
	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/model"
	"github.com/pipe-bench/pipe/host/stats"
	"github.com/pipe-bench/pipe/host/target"
)

// LoadOptions are the command line's say over a pipeline.
type LoadOptions struct {
	// Sets are "key.path=value" overrides (--set), applied after --quick.
	Sets []string
	// Quick merges the pipeline's [quick] table over it (--quick).
	Quick bool
	// OutDir replaces report.out_dir (--out).
	OutDir string
	// CPUs is the core count oversubscription warnings compare with;
	// 0 means runtime.NumCPU().
	CPUs int
}

// MaxCases bounds the cases one pipeline may expand to.
const MaxCases = 10000

// Defaults for keys a pipeline leaves out.
const (
	DefaultSource      = "gpt2"
	DefaultWarmupRuns  = 1
	DefaultRuns        = 10
	DefaultMinRuns     = 5
	DefaultStopRelCI   = 0.05
	DefaultOutlierZ    = 10
	DefaultOutDir      = "data/benchmarks"
	DefaultRSSInterval = 10 * time.Millisecond
	DefaultPluginMiB   = 256
	DefaultPluginTime  = 10 * time.Second
	DefaultPluginOut   = 16 << 20
)

// Default lists for keys a pipeline leaves out.
var (
	DefaultPercentiles = []float64{50, 90, 95, 99}
	DefaultFormats     = []string{"md", "json", "csv"}
)

// Choices for enumerated keys; the first is the default (graph styles come
// from package model, with its default).
var (
	devices     = []string{"cpu", "cuda"}
	optLevels   = []string{"all", "extended", "basic", "disable"}
	matrixModes = []string{"zip", "cartesian"}
	// BuiltinFormats are the report formats pipe writes itself; a
	// declared report plugin's name is a format too.
	BuiltinFormats = []string{"md", "json", "csv", "html"}
	// engineNamespaces hold metrics the engine and the analyses compute per
	// case (throughput.output_tps, …); targets may name them.
	engineNamespaces = []string{"throughput", "memory", "leak"}
)

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	pluginPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Load reads, overlays and validates the pipeline file at path. Every
// problem with it comes back at once, as Problems.
func Load(file string, opts LoadOptions) (*Plan, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("pipeline %s: %v (give the path of a .toml pipeline, e.g. pipelines/phase1-quick.toml)", file, err)
	}
	return Parse(file, data, opts)
}

// Parse is Load on a file's bytes; file names the source in messages and
// anchors relative paths.
func Parse(file string, data []byte, opts LoadOptions) (*Plan, error) {
	var root map[string]any
	if _, err := toml.Decode(string(data), &root); err != nil {
		p := Problem{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.Line, p.Msg = pe.Position.Line, pe.Message
		}
		return nil, Problems{p}
	}
	l := &loader{file: file, dir: filepath.Dir(file), lines: indexLines(string(data)), opts: opts}
	if l.opts.CPUs <= 0 {
		l.opts.CPUs = runtime.NumCPU()
	}

	var quick map[string]any
	if q, ok := root["quick"]; ok {
		delete(root, "quick")
		if quick, ok = q.(map[string]any); !ok {
			l.problems = append(l.problems, Problem{File: file, Line: l.lines.line("quick"), Key: "quick", Msg: "want a table of overrides, e.g. [quick.generate] runs = 5"})
		}
	}
	var sets []parsedSet
	for _, arg := range opts.Sets {
		p, v, err := parseSet(arg)
		if err == nil && p[0] == "quick" {
			err = fmt.Errorf("set the value itself (it wins over --quick), not its [quick] override")
		}
		if err != nil {
			l.problems = append(l.problems, Problem{Set: arg, Msg: err.Error()})
			continue
		}
		sets = append(sets, parsedSet{arg, p, v})
	}

	plan := l.build(root, quick, opts.Quick, sets)
	if opts.Quick && quick == nil && !plan.ReportOnly() {
		l.problems = append(l.problems, Problem{File: file, Msg: "--quick: the pipeline has no [quick] table; add one (e.g. [quick.generate] runs = 5) or drop --quick"})
	}
	if !opts.Quick && quick != nil {
		l.build(root, quick, true, sets) // the overrides must be valid even when unused
	}
	if len(l.problems) > 0 {
		return nil, l.problems.sorted(opts.Sets)
	}
	plan.SHA256 = sha256Hex(data)
	plan.Quick = opts.Quick
	return plan, nil
}

type parsedSet struct {
	arg   string
	path  []string
	value any
}

// loader validates one pipeline file.
type loader struct {
	file     string
	dir      string
	lines    lineIndex
	opts     LoadOptions
	problems Problems

	t   *tree    // the tree being validated
	dec *decoder // its decoder
}

// at locates path in the tree being validated.
func (l *loader) at(path string) Problem {
	if o, ok := l.t.originOf(path); ok {
		if o.set != "" {
			return Problem{Set: o.set, Key: path}
		}
		path = o.filePath
	}
	return Problem{File: l.file, Line: l.lines.line(path), Key: path}
}

func (l *loader) addf(path, format string, args ...any) {
	p := l.at(path)
	p.Msg = fmt.Sprintf(format, args...)
	l.problems = append(l.problems, p)
}

// fileProblem is a problem with the pipeline as a whole.
func (l *loader) fileProblem(format string, args ...any) {
	l.problems = append(l.problems, Problem{File: l.file, Msg: fmt.Sprintf(format, args...)})
}

// seen reports whether path holds a value that decoded; a value that did
// not has its problem already, and its checks are skipped.
func (l *loader) seen(path string) bool { return l.dec.seen[path] && !l.dec.bad[path] }

// overlaid reports whether an overlay (--quick, --set) changed anything
// under one of the top-level keys.
func (l *loader) overlaid(keys ...string) bool {
	for p := range l.t.origins {
		if contains(keys, strings.SplitN(p, ".", 2)[0]) {
			return true
		}
	}
	return false
}

// build overlays root (a copy), decodes and validates it into a Plan.
func (l *loader) build(root, quick map[string]any, withQuick bool, sets []parsedSet) *Plan {
	l.t = &tree{root: deepCopy(root).(map[string]any), origins: map[string]origin{}}
	if withQuick && quick != nil {
		overlay(l.t.root, quick, "", func(p string) { l.t.origins[p] = origin{filePath: "quick." + p} })
	}
	for _, s := range sets {
		if err := set(l.t.root, s.path, s.value); err != nil {
			l.problems = append(l.problems, Problem{Set: s.arg, Key: strings.Join(s.path, "."), Msg: err.Error()})
			continue
		}
		key := strings.Join(s.path, ".")
		l.t.origins[key] = origin{set: s.arg}
		if parent := getTable(l.t.root, s.path[:len(s.path)-1]); parent != nil {
			for _, c := range exclusive[indexless(strings.Join(s.path[:len(s.path)-1], "."))][s.path[len(s.path)-1]] {
				delete(parent, c)
			}
		}
	}
	l.dec = &decoder{loc: l.at, seen: map[string]bool{}, bad: map[string]bool{}}
	var doc fileDoc
	l.dec.decodeStruct(l.t.root, reflectValue(&doc), "")
	l.problems = append(l.problems, l.dec.problems...)
	return l.validate(&doc)
}

// getTable returns the table at path, or nil.
func getTable(root map[string]any, path []string) map[string]any {
	var cur any = root
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		default:
			arr, ok := asArray(c)
			i, err := strconv.Atoi(p)
			if !ok || err != nil || i < 0 || i >= len(arr) {
				return nil
			}
			cur = arr[i]
		}
	}
	m, _ := cur.(map[string]any)
	return m
}

// resolvePath anchors a relative path from the file at the file's
// directory, and one from --set at the working directory.
func (l *loader) resolvePath(key, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if o, ok := l.t.originOf(key); ok && o.set != "" {
		return filepath.Clean(p)
	}
	return filepath.Join(l.dir, p)
}

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
	reg := metric.NewRegistry()
	namespaces := append(append([]string{}, pluginNames...), engineNamespaces...)
	knownMetric := func(key, id string) {
		if _, ok := reg.Lookup(id); ok {
			return
		}
		ns, _, dotted := strings.Cut(id, ".")
		if dotted && contains(namespaces, ns) {
			return
		}
		l.addf(key, "unknown metric %q; %s", id, suggestMetric(id, reg))
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
			if pc <= 0 || pc >= 100 {
				l.addf("aggregate.percentiles", "percentile %v is outside (0, 100); e.g. 50, 95, 99.9", pc)
			}
		}
	}
	p.Aggregate.OutlierZ = DefaultOutlierZ
	if l.seen("aggregate.outlier_z") {
		p.Aggregate.OutlierZ = a.OutlierZ
		if a.OutlierZ <= 0 {
			l.addf("aggregate.outlier_z", "must be > 0 (hyperfine uses 10), got %v", a.OutlierZ)
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
		if _, ok := reg.Lookup(tg.Metric); !ok {
			if ns, _, dotted := strings.Cut(tg.Metric, "."); !dotted || !contains(namespaces, ns) {
				l.addf(key+".expr", "target %q: unknown metric %q; %s", td.Expr, tg.Metric, suggestMetric(tg.Metric, reg))
				continue
			}
		}
		if !percentileComputed(tg.Statistic, p.Aggregate.Percentiles) {
			l.addf(key+".expr", "target %q: %s is not computed; add %s to aggregate.percentiles", td.Expr, tg.Statistic, strings.TrimPrefix(tg.Statistic, "p"))
		}
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

	l.plugins(doc, p)

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
		builtin, p.Model.MaxPositions = true, preset().MaxPositions
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
			n, err := configPositions(dir)
			if err != nil {
				l.addf("model.source", "%v", err)
			}
			p.Model.MaxPositions = n
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

// configPositions reads the context length from a model directory's
// config.json (0 when the file or the field is absent).
func configPositions(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return 0, nil
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return 0, fmt.Errorf("%s: not valid JSON (%v); fix or remove it", filepath.Join(dir, "config.json"), err)
	}
	for _, k := range []string{"max_position_embeddings", "n_positions", "n_ctx", "seq_length", "max_positions"} {
		if v, ok := cfg[k].(float64); ok && v > 0 {
			return int(v), nil
		}
	}
	return 0, nil
}

func (l *loader) cases(doc *fileDoc, p *Plan) {
	hasMatrix, hasCases := l.seen("matrix"), l.seen("case")
	sampling := doc.Sampling
	if sampling.Temperature < 0 {
		l.addf("sampling.temperature", "must be ≥ 0 (0: greedy), got %v", sampling.Temperature)
	}
	if sampling.TopK < 0 {
		l.addf("sampling.top_k", "must be ≥ 0 (0: off), got %d", sampling.TopK)
	}
	if sampling.TopP < 0 || sampling.TopP > 1 {
		l.addf("sampling.top_p", "must be within [0, 1] (0: off), got %v", sampling.TopP)
	}
	promptFile := ""
	if doc.Prompt.File != "" {
		promptFile = l.resolvePath("prompt.file", doc.Prompt.File)
		l.checkPromptFile("prompt.file", promptFile, p)
	}

	switch {
	case len(doc.Inputs) > 0 && (hasMatrix || hasCases):
		at := "matrix"
		if !hasMatrix {
			at = "case"
		}
		l.addf(at, "a report-only pipeline ([inputs]) generates nothing: remove [matrix]/[[case]], or remove [inputs]")
		return
	case len(doc.Inputs) > 0:
		for _, k := range []string{"model", "prompt", "sampling", "warmup", "generate", "measure"} {
			if l.dec.seen[k] {
				l.addf(k, "[%s] has no effect in a report-only pipeline ([inputs] reads finished results); remove it", k)
			}
		}
		return
	case hasMatrix && hasCases:
		l.addf("case", "use either [matrix] or [[case]] tables, not both")
		return
	case !hasMatrix && !hasCases:
		l.fileProblem("no cases: add a [matrix] with prompt_tokens and new_tokens, or [[case]] tables (or [inputs] for a report-only pipeline)")
		return
	}

	type axis struct {
		key  string
		vals []int
		min  int
	}
	var raw []CaseSpec
	if hasMatrix {
		mx := doc.Matrix
		p.MatrixMode = mx.Mode
		l.choice("matrix.mode", &p.MatrixMode, matrixModes)
		axes := []*axis{
			{"prompt_tokens", mx.PromptTokens, 1}, {"new_tokens", mx.NewTokens, 1},
			{"batch", mx.Batch, 1}, {"streams", mx.Streams, 1}, {"threads", mx.Threads, 0},
		}
		defaults := map[string]int{"batch": 1, "streams": 1, "threads": 0}
		ok := true
		for _, a := range axes {
			key := "matrix." + a.key
			if l.dec.bad[key] {
				ok = false // its problem is reported
				continue
			}
			if !l.seen(key) {
				if d, hasDefault := defaults[a.key]; hasDefault {
					a.vals = []int{d}
					continue
				}
				l.addf("matrix", "%s is missing: list the lengths to try, e.g. %s = [128, 512]", a.key, a.key)
				ok = false
				continue
			}
			if len(a.vals) == 0 {
				l.addf(key, "is empty: give at least one value")
				ok = false
			}
			for _, v := range a.vals {
				if v < a.min {
					l.addf(key, "values must be ≥ %d, got %d", a.min, v)
					ok = false
				}
			}
		}
		if !ok {
			return
		}
		if p.MatrixMode == "zip" {
			var ref *axis
			for _, a := range axes {
				if len(a.vals) == 1 {
					continue
				}
				if ref == nil {
					ref = a
				} else if len(a.vals) != len(ref.vals) {
					l.addf("matrix."+a.key, "zip mode pairs values by position, but %s has %d values and %s has %d; give them the same length (a single value applies to every case), or set mode = \"cartesian\"",
						ref.key, len(ref.vals), a.key, len(a.vals))
					return
				}
			}
			n := 1
			if ref != nil {
				n = len(ref.vals)
			}
			if n > MaxCases {
				l.addf("matrix", "%d cases are more than %d; shorten the lists", n, MaxCases)
				return
			}
			pick := func(a *axis, i int) int {
				if len(a.vals) == 1 {
					return a.vals[0]
				}
				return a.vals[i]
			}
			for i := 0; i < n; i++ {
				raw = append(raw, CaseSpec{PromptTokens: pick(axes[0], i), NewTokens: pick(axes[1], i), Batch: pick(axes[2], i), Streams: pick(axes[3], i), Threads: pick(axes[4], i)})
			}
		} else {
			n := 1
			for _, a := range axes {
				n *= len(a.vals)
				if n > MaxCases {
					l.addf("matrix", "the cartesian product has more than %d cases; shorten the lists, or use mode = \"zip\"", MaxCases)
					return
				}
			}
			for _, pt := range axes[0].vals {
				for _, nt := range axes[1].vals {
					for _, b := range axes[2].vals {
						for _, s := range axes[3].vals {
							for _, th := range axes[4].vals {
								raw = append(raw, CaseSpec{PromptTokens: pt, NewTokens: nt, Batch: b, Streams: s, Threads: th})
							}
						}
					}
				}
			}
		}
		for i := range raw {
			raw[i].Line = l.at("matrix").Line
			raw[i].PromptFile = promptFile
		}
	} else {
		p.MatrixMode = "cases"
		for i, cd := range doc.Case {
			key := fmt.Sprintf("case.%d", i)
			c := CaseSpec{ID: cd.ID, PromptTokens: cd.PromptTokens, NewTokens: cd.NewTokens, Batch: 1, Streams: 1, Threads: cd.Threads, Line: l.at(key).Line, PromptFile: promptFile}
			for _, k := range []string{"prompt_tokens", "new_tokens"} {
				if !l.seen(key + "." + k) {
					l.addf(key, "%s is missing", k)
				}
			}
			if l.seen(key+".prompt_tokens") && cd.PromptTokens < 1 {
				l.addf(key+".prompt_tokens", "must be ≥ 1, got %d", cd.PromptTokens)
			}
			if l.seen(key+".new_tokens") && cd.NewTokens < 1 {
				l.addf(key+".new_tokens", "must be ≥ 1, got %d", cd.NewTokens)
			}
			if l.seen(key + ".batch") {
				c.Batch = cd.Batch
				if cd.Batch < 1 {
					l.addf(key+".batch", "must be ≥ 1, got %d", cd.Batch)
				}
			}
			if l.seen(key + ".streams") {
				c.Streams = cd.Streams
				if cd.Streams < 1 {
					l.addf(key+".streams", "must be ≥ 1, got %d", cd.Streams)
				}
			}
			if cd.Threads < 0 {
				l.addf(key+".threads", "must be ≥ 0 (0: the model's intra_op_threads), got %d", cd.Threads)
			}
			if cd.ID != "" && !namePattern.MatchString(cd.ID) {
				l.addf(key+".id", "case id %q: use letters, digits, '.', '_' and '-'", cd.ID)
			}
			if cd.PromptFile != "" {
				c.PromptFile = l.resolvePath(key+".prompt_file", cd.PromptFile)
				l.checkPromptFile(key+".prompt_file", c.PromptFile, p)
			}
			raw = append(raw, c)
		}
	}

	varies := func(get func(CaseSpec) int) bool {
		for _, c := range raw {
			if get(c) != get(raw[0]) {
				return true
			}
		}
		return false
	}
	vb := varies(func(c CaseSpec) int { return c.Batch })
	vs := varies(func(c CaseSpec) int { return c.Streams })
	vt := varies(func(c CaseSpec) int { return c.Threads })
	ids := map[string]int{}
	for i := range raw {
		c := &raw[i]
		if c.ID == "" {
			c.ID = fmt.Sprintf("p%d-n%d", c.PromptTokens, c.NewTokens)
			if vb {
				c.ID += fmt.Sprintf("-b%d", c.Batch)
			}
			if vs {
				c.ID += fmt.Sprintf("-s%d", c.Streams)
			}
			if vt {
				c.ID += fmt.Sprintf("-t%d", c.Threads)
			}
		}
		c.Sampling = sampling
		c.PromptSeed = doc.Prompt.Seed
		key := "matrix"
		if p.MatrixMode == "cases" {
			key = fmt.Sprintf("case.%d", i)
		}
		lengthKey := key + ".prompt_tokens"
		if o, ok := l.t.originOf(key + ".new_tokens"); ok && o.set != "" {
			lengthKey = key + ".new_tokens"
		}
		if j, dup := ids[c.ID]; dup {
			l.addf(key, "case %s appears twice (cases %d and %d); give distinct values or distinct id keys", c.ID, j+1, i+1)
		}
		ids[c.ID] = i
		if maxPos := p.Model.MaxPositions; maxPos > 0 && c.PromptTokens+c.NewTokens > maxPos {
			l.addf(lengthKey, "case %s: %d prompt + %d new tokens = %d exceeds the %d positions of %s; shorten prompt_tokens or new_tokens",
				c.ID, c.PromptTokens, c.NewTokens, c.PromptTokens+c.NewTokens, maxPos, p.Model.Source)
		}
	}
	p.Cases = raw
}

func (l *loader) checkPromptFile(key, file string, p *Plan) {
	if st, err := os.Stat(file); err != nil || st.IsDir() {
		l.addf(key, "no such file %s (paths in the pipeline are relative to its directory)", file)
	}
	if p.Model.Tokenizer == "" {
		l.addf(key, "a prompt file needs a tokenizer; set model.tokenizer, or drop the file to use seeded random token ids")
	}
}

func (l *loader) plugins(doc *fileDoc, p *Plan) {
	names := map[string]bool{}
	for i, pd := range doc.Plugin {
		key := fmt.Sprintf("plugin.%d", i)
		ps := PluginSpec{Name: pd.Name, Config: pd.Config, Trusted: pd.Trusted, Line: l.at(key).Line,
			MemoryMiB: DefaultPluginMiB, Timeout: DefaultPluginTime, MaxOutput: DefaultPluginOut}
		switch {
		case pd.Name == "":
			l.addf(key, "name is missing, e.g. name = \"jitter\"")
		case !pluginPattern.MatchString(pd.Name):
			l.addf(key+".name", "plugin name %q: use lowercase letters, digits and '_' (it namespaces the plugin's metrics)", pd.Name)
		case names[pd.Name]:
			l.addf(key+".name", "plugin %q is declared twice", pd.Name)
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
			if pd.MemoryMiB < 1 || pd.MemoryMiB > 4096 {
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
