package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// validate checks the decoded file, applies defaults and resolves paths,
// and returns the Plan; problems go to l.problems (the Plan is discarded
// when there are any). Each section has its own check, in the file's
// order; one metric registry resolves every metric name in them: the
// built-ins, and the namespaces the declared plugins claim (their metrics
// are declared when they load; metric.Registry.Known).
func (l *loader) validate(doc *fileDoc) *Plan {
	p := &Plan{
		Name:        doc.Name,
		Description: strings.TrimSpace(doc.Description),
		File:        l.file,
		Dir:         l.dir,
	}
	l.name(doc, p)
	reg, claims := claimPlugins(doc, l.opts.Names)
	l.model(doc, p)
	l.fidelity(doc, p)
	l.cases(doc, p)
	l.warmup(doc, p)
	l.generate(doc, p, reg)
	l.measure(doc, p, reg)
	l.aggregate(doc, p)
	l.report(doc, p)
	l.targets(doc, p, reg)
	l.plugins(doc, p, claims)
	l.inputs(doc, p)
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
		Source: m.Source, Variant: m.Variant, Seed: m.Seed, GraphStyle: m.GraphStyle, Precision: m.Precision, BlockSize: m.BlockSize,
		Device: m.Device, DeviceID: m.DeviceID,
		IntraOpThreads: m.IntraOpThreads, InterOpThreads: m.InterOpThreads, Spinning: m.Spinning,
		OptLevel: m.OptLevel, Options: m.Options,
	}
	if p.Model.Source == "" {
		p.Model.Source = DefaultSource
	}
	builtin, sourceOK := false, true
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
			dir, sourceOK = "", false
		}
		if dir != "" {
			if cfg, _, err := model.ReadConfig(dir); err != nil {
				l.addf("model.source", "%v", err)
				sourceOK = false
			} else {
				l.modelShape, p.Model.MaxPositions = cfg, cfg.MaxPositions
			}
		}
	}
	if p.Model.GraphStyle == "" {
		p.Model.GraphStyle = model.DefaultStyleFor(p.Model.Device)
	}
	l.choice("model.graph_style", &p.Model.GraphStyle, model.Styles)
	if p.Model.Precision == "" {
		p.Model.Precision = model.PrecisionFP32
	}
	l.choice("model.precision", &p.Model.Precision, model.Precisions)
	blockOK := true
	if p.Model.BlockSize != 0 { // the same rule for int8 and int4
		if _, err := model.QuantFor(model.PrecisionInt4, p.Model.BlockSize); err != nil {
			l.addf("model.block_size", "%v", err)
			blockOK = false
		}
	}
	// What building the model would refuse (model.CheckBuild: a preset's
	// or config.json's shape against the style and precision, config.json's
	// model_type and rope_scaling, a checkpoint's tensors, a directory with
	// nothing to build from), now instead of when pipe run builds; once the
	// keys it reads have passed their own checks.
	if sourceOK && blockOK && contains(model.Styles, p.Model.GraphStyle) && contains(model.Precisions, p.Model.Precision) {
		if err := model.CheckBuild(p.Model.Source, p.Model.BuildOptions()); err != nil {
			l.addf("model.source", "%v", err)
		}
	}
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
	case isFamilyTokenizer(tk):
		p.Model.Tokenizer = tk // fetched by `pipe setup`; tokenize.Load resolves the name
	default:
		dir := l.resolvePath("model.tokenizer", tk)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			l.addf("model.tokenizer", "%q is not \"gpt2\", %s, \"none\" or a directory holding tokenizer.json or encoder.json + vocab.bpe", tk, familyTokenizerNames())
		}
		p.Model.Tokenizer = dir
	}
}

// BuildOptions are the options pipe run builds the model with (a model on
// disk ignores them).
func (m ModelSpec) BuildOptions() model.BuildOptions {
	return model.BuildOptions{Seed: m.Seed, Style: m.GraphStyle, Precision: m.Precision, BlockSize: m.BlockSize}
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
// through: a copy of names.Metrics with the namespace of every declared
// plugin whose name is well-formed, not declared before and no report
// format's, claimed for it. The errors are the refused claims (a plugin
// named like a built-in metric), by the plugin's index, for plugins to
// report.
func claimPlugins(doc *fileDoc, names Names) (*metric.Registry, map[int]error) {
	reg, refused := &metric.Registry{}, map[int]error{}
	if names.Metrics != nil {
		reg = names.Metrics.Clone()
	}
	seen := map[string]bool{}
	for i, pd := range doc.Plugin {
		if pluginPattern.MatchString(pd.Name) && !seen[pd.Name] && !contains(names.Formats, pd.Name) {
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
		case contains(l.opts.Names.Formats, pd.Name):
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
		if cached, ok := FirstPartyPlugin(ref); ok {
			ps.FirstParty = true
			ps.Path = cached
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

// isFamilyTokenizer reports whether name is one of the tokenizers `pipe
// setup` fetches by name (assets.FamilyTokenizers).
func isFamilyTokenizer(name string) bool {
	_, ok := assets.FamilyTokenizerFor(name)
	return ok
}

// familyTokenizerNames lists those names quoted, for an error.
func familyTokenizerNames() string {
	var q []string
	for _, f := range assets.FamilyTokenizers {
		q = append(q, strconv.Quote(f.Name))
	}
	return strings.Join(q, ", ")
}
