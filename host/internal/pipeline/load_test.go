package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/host/internal/model"
)

// problemsOf parses src as "p.toml" and returns its problems as lines.
func problemsOf(t *testing.T, src string, opts LoadOptions) ([]string, *Plan) {
	t.Helper()
	if opts.CPUs == 0 {
		opts.CPUs = 2
	}
	opts.Names = testNames
	plan, err := Parse("p.toml", []byte(src), opts)
	if err == nil {
		return nil, plan
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, want Problems: %v", err, err)
	}
	return strings.Split(ps.Error(), "\n"), nil
}

const minimal = `
[model]
source = "gpt2-tiny"
[matrix]
prompt_tokens = [8, 16]
new_tokens = [4, 8]
`

func TestBadPipelines(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts LoadOptions
		want []string
	}{
		{
			name: "syntax error",
			src:  "name = \"x\"\n[model\nsource = 1\n",
			want: []string{`p.toml:3: expected '.' or ']' to end table name, but got '\n' instead`},
		},
		{
			name: "unknown keys with did-you-mean",
			src:  minimal + "[generate]\nrunz = 3\n[model.extra]\n\n[warmup]\nruns = 1\nrun = 2\n",
			want: []string{
				`p.toml:8: generate.runz: unknown key; did you mean generate.runs?`,
				`p.toml:9: model.extra: unknown key; [model] takes source, variant, seed, graph_style, precision, block_size, tokenizer, device, device_id, intra_op_threads, inter_op_threads, spinning, opt_level, ort_lib, options`,
				`p.toml:13: warmup.run: unknown key; did you mean warmup.runs?`,
			},
		},
		{
			name: "precision and block size",
			src:  "[model]\nsource = \"gpt2-tiny\"\nprecision = \"int3\"\nblock_size = 24\n[matrix]\nprompt_tokens = [8]\nnew_tokens = [4]\n",
			want: []string{
				`p.toml:3: model.precision: unknown value "int3"; use "fp32", "fp16", "int8", "int4"`,
				`p.toml:4: model.block_size: block_size = 24: MatMulNBits and GatherBlockQuantized take a power of two ≥ 16 (default 32)`,
			},
		},
		{
			name: "key in the wrong table",
			src:  minimal + "runs = 5\n",
			want: []string{`p.toml:7: matrix.runs: unknown key; did you mean warmup.runs or generate.runs or fidelity.runs?`},
		},
		{
			name: "wrong types",
			src:  minimal + "[generate]\nruns = \"five\"\ntimeout = \"soon\"\n[model.options]\narena = 1\n[aggregate]\npercentiles = [50, \"p95\"]\n",
			want: []string{
				`p.toml:8: generate.runs: want an integer, got string "five"`,
				`p.toml:9: generate.timeout: want a duration such as "30s" or "500ms", got "soon"`,
				`p.toml:11: model.options.arena: want a string, got integer 1`,
				`p.toml:13: aggregate.percentiles.1: want a number, got string "p95"`,
			},
		},
		{
			name: "impossible values",
			src: `
[model]
source = "gpt2-tiny"
device = "tpu"
intra_op_threads = -2
[matrix]
prompt_tokens = [8, 0]
new_tokens = [4, 8]
[warmup]
runs = -1
[generate]
runs = 0
[aggregate]
percentiles = [0, 50, 100]
outlier_z = 0
[report]
formats = ["md", "pdf"]
`,
			want: []string{
				`p.toml:4: model.device: unknown value "tpu"; use "cpu", "cuda"`,
				`p.toml:5: model.intra_op_threads: must be ≥ 0 (0: the runtime's default), got -2`,
				`p.toml:7: matrix.prompt_tokens: values must be ≥ 1, got 0`,
				`p.toml:10: warmup.runs: must be ≥ 0, got -1`,
				`p.toml:12: generate.runs: must be ≥ 1, got 0`,
				`p.toml:14: aggregate.percentiles: percentile 0 is outside (0, 100); e.g. 50, 95, 99.9`,
				`p.toml:14: aggregate.percentiles: percentile 100 is outside (0, 100); e.g. 50, 95, 99.9`,
				`p.toml:15: aggregate.outlier_z: must be > 0 (the default is 5 robust SDs), got 0`,
				`p.toml:17: report.formats.1: unknown format "pdf"; use csv, html, json, md, or the name of a declared report plugin`,
			},
		},
		{
			name: "zip length mismatch names both lengths",
			src:  "[matrix]\nprompt_tokens = [128, 512, 768]\nnew_tokens = [64, 128]\n",
			want: []string{`p.toml:3: matrix.new_tokens: zip mode pairs values by position, but prompt_tokens has 3 values and new_tokens has 2; give them the same length (a single value applies to every case), or set mode = "cartesian"`},
		},
		{
			name: "context overflow on gpt2",
			src:  "[matrix]\nprompt_tokens = [128, 1024]\nnew_tokens = [64, 256]\n",
			want: []string{`p.toml:2: matrix.prompt_tokens: case p1024-n256: 1024 prompt + 256 new tokens = 1280 exceeds the 1024 positions of gpt2; shorten prompt_tokens or new_tokens`},
		},
		{
			name: "context overflow on gpt2-tiny, explicit cases",
			src:  "[model]\nsource = \"gpt2-tiny\"\n[[case]]\nprompt_tokens = 8\nnew_tokens = 4\n[[case]]\nid = \"long\"\nprompt_tokens = 100\nnew_tokens = 29\n",
			want: []string{`p.toml:8: case.1.prompt_tokens: case long: 100 prompt + 29 new tokens = 129 exceeds the 128 positions of gpt2-tiny; shorten prompt_tokens or new_tokens`},
		},
		{
			name: "targets: syntax, unknown metric, uncomputed percentile, selector",
			src: minimal + `
[[target]]
expr = "ttft_ms.p95 2500ms"
[[target]]
expr = "ttf_ms.p95 < 2500ms"
[[target]]
expr = "ttft_ms.p75 < 2500ms"
[[target]]
expr = "e2e_ms.mean < 3 parsecs"
[[target]]
expr = "e2e_ms.mean < 3s"
case = "p999-*"
[[target]]
case = "p8-n4"
[[target]]
expr = "throughput.output_tps.mean > 10"
[[target]]
expr = "throughput.output_tpz.mean > 10"
`,
			want: []string{
				`p.toml:9: target.0.expr: target "ttft_ms.p95 2500ms": column 19: no comparison; want METRIC.STAT OP VALUE, e.g. ttft_ms.p95 < 2500ms`,
				`p.toml:11: target.1.expr: target "ttf_ms.p95 < 2500ms": unknown metric "ttf_ms"; did you mean ttft_ms?`,
				`p.toml:13: target.2.expr: target "ttft_ms.p75 < 2500ms": p75 is not computed; add 75 to aggregate.percentiles`,
				`p.toml:15: target.3.expr: target "e2e_ms.mean < 3 parsecs": column 17: unknown unit "parsecs"; want one of ns us ms s, B KiB MiB GiB, tok/s req/s, %`,
				`p.toml:18: target.4.case: "p999-*" matches no case; cases are p8-n4, p16-n8`,
				`p.toml:19: target.5: expr is missing, e.g. expr = "ttft_ms.p95 < 2500ms"`,
				`p.toml:24: target.7.expr: target "throughput.output_tpz.mean > 10": unknown metric "throughput.output_tpz"; did you mean throughput.output_tps?`,
			},
		},
		{
			name: "adaptive and fixed runs together",
			src:  minimal + "[generate]\nruns = 5\nmax_runs = 20\n",
			want: []string{`p.toml:8: generate.runs: set either runs (a fixed count) or min_runs/max_runs/stop_rel_ci (adaptive), not both`},
		},
		{
			name: "adaptive without an upper bound, bad CI share and metric",
			src:  minimal + "[generate]\nmin_runs = 1\nstop_rel_ci = 5\nstop_metric = \"e2e\"\n",
			want: []string{
				`p.toml:7: generate: max_runs is missing: an adaptive run count needs an upper bound, e.g. max_runs = 20`,
				`p.toml:8: generate.min_runs: must be ≥ 2 (a confidence interval needs two runs), got 1`,
				`p.toml:9: generate.stop_rel_ci: must be a fraction between 0 and 1 (0.05: stop at ±5 % of the mean), got 5`,
				`p.toml:10: generate.stop_metric: unknown metric "e2e"; did you mean e2e_ms?`,
			},
		},
		{
			name: "matrix and cases together",
			src:  minimal + "[[case]]\nprompt_tokens = 8\nnew_tokens = 4\n",
			want: []string{`p.toml:7: case: use either [matrix] or [[case]] tables, not both`},
		},
		{
			name: "no cases",
			src:  "name = \"empty\"\n",
			want: []string{`p.toml: no cases: add a [matrix] with prompt_tokens and new_tokens, or [[case]] tables (or [inputs] for a report-only pipeline)`},
		},
		{
			name: "whole tables of the wrong type",
			src:  "quick = 5\ngenerate = 5\n[[matrix]]\nprompt_tokens = 1\n",
			want: []string{
				`p.toml:1: quick: want a table of overrides, e.g. [quick.generate] runs = 5`,
				`p.toml:2: generate: want a table, got integer 5`,
				`p.toml:3: matrix: want a table, got an array`,
			},
		},
		{
			name: "missing matrix axis",
			src:  "[matrix]\nprompt_tokens = [8]\n",
			want: []string{`p.toml:1: matrix: new_tokens is missing: list the lengths to try, e.g. new_tokens = [128, 512]`},
		},
		{
			name: "duplicate case",
			src:  "[matrix]\nprompt_tokens = [8, 8]\nnew_tokens = 4\n",
			want: []string{`p.toml:1: matrix: case p8-n4 appears twice (cases 1 and 2); give distinct values or distinct id keys`},
		},
		{
			name: "report-only with generation tables",
			src:  "[inputs]\nlatency = \"latest:phase2-latency\"\nbad = \"latest:\"\n[generate]\nruns = 3\n",
			want: []string{
				`p.toml:3: inputs.bad: "latest:": latest: takes a pipeline name, e.g. latest:phase2-latency`,
				`p.toml:4: generate: [generate] has no effect in a report-only pipeline ([inputs] reads finished results); remove it`,
			},
		},
		{
			name: "plugins",
			src: minimal + `
[[plugin]]
name = "Jitter"
path = "missing.wasm"
memory_mib = 0
timeout = "0s"
[[plugin]]
path = "x.wasm"
`,
			want: []string{
				`p.toml:9: plugin.0.name: plugin name "Jitter": use lowercase letters, digits and '_' (it namespaces the plugin's metrics)`,
				`p.toml:10: plugin.0.path: no such file missing.wasm (paths are relative to the pipeline file; build a plugin with ` + "`pipe plugin build DIR`" + `)`,
				`p.toml:11: plugin.0.memory_mib: must be within 1–4096 (a 32-bit WebAssembly memory), got 0`,
				`p.toml:12: plugin.0.timeout: must be > 0, e.g. "10s", got 0s`,
				`p.toml:13: plugin.1: name is missing, e.g. name = "jitter"`,
				`p.toml:14: plugin.1.path: no such file x.wasm (paths are relative to the pipeline file; build a plugin with ` + "`pipe plugin build DIR`" + `)`,
			},
		},
		{
			name: "quick overrides are checked without --quick",
			src:  minimal + "[quick.generate]\nruns = 0\nrunz = 1\n",
			want: []string{
				`p.toml:8: quick.generate.runs: must be ≥ 1, got 0`,
				`p.toml:9: quick.generate.runz: unknown key; did you mean quick.generate.runs?`,
			},
		},
		{
			name: "--quick without a [quick] table",
			src:  minimal,
			opts: LoadOptions{Names: testNames, Quick: true},
			want: []string{`p.toml: --quick: the pipeline has no [quick] table; add one (e.g. [quick.generate] runs = 5) or drop --quick`},
		},
		{
			name: "targets the runs cannot judge, and a bare cv read as a fraction",
			src: minimal + "[generate]\nruns = 10\n" +
				"[[target]]\nexpr = \"ttft_ms.p95 < 2s\"\n" +
				"[[target]]\nexpr = \"ttft_ms.cv < 5\"\n" +
				"[[target]]\nexpr = \"ttft_ms.pNaN < 2s\"\n" +
				"[[target]]\nexpr = \"ttft_ms.p90 < 2s\"\n" +
				"[[target]]\nexpr = \"ttft_ms.std < 2ms\"\n",
			want: []string{
				`p.toml:10: target.0.expr: target "ttft_ms.p95 < 2s": p95 is judged on ≥ 20 valid runs, but generate.runs = 10; raise generate.runs to 20, or judge max or mean`,
				`p.toml:12: target.1.expr: target "ttft_ms.cv < 5": column 15: a bare cv is a fraction, so 5 reads as 500 %; write 5% for 5 percent, or 0.05 as a fraction`,
				`p.toml:14: target.2.expr: target "ttft_ms.pNaN < 2s": column 9: percentile "pNaN": want p followed by digits, e.g. p95 or p99.9`,
			},
		},
		{
			name: "adaptive runs that cannot reach a tail target",
			src:  minimal + "[generate]\nmin_runs = 3\nmax_runs = 4\n[[target]]\nexpr = \"ttft_ms.cv < 10%\"\n",
			want: []string{`p.toml:11: target.0.expr: target "ttft_ms.cv < 10%": cv is judged on ≥ 5 valid runs, but generate.max_runs = 4; raise generate.max_runs to 5, or judge max or mean`},
		},
		{
			name: "model directory that does not exist",
			src:  "[model]\nsource = \"no/such/model\"\n" + "[matrix]\nprompt_tokens = 8\nnew_tokens = 4\n",
			want: []string{`p.toml:2: model.source: "no/such/model" is not a built-in model, a directory or an .onnx file; use ` + quoteList(model.PresetNames()) + ` or a model directory (relative to the pipeline file)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := problemsOf(t, tt.src, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTargetRunsWarnings: runs lowered by --quick or --set, or an adaptive
// count that may stop early, make warnings, not errors.
func TestTargetRunsWarnings(t *testing.T) {
	src := minimal + "[generate]\nruns = 20\n[[target]]\nexpr = \"ttft_ms.p95.0 < 2s\"\n[quick.generate]\nruns = 3\n"
	for _, opts := range []LoadOptions{{Names: testNames, Quick: true}, {Names: testNames, Sets: []string{"generate.runs=3"}}, {Names: testNames, Sets: []string{"generate.min_runs=3", "generate.max_runs=30"}}} {
		got, plan := problemsOf(t, src, opts)
		if got != nil {
			t.Fatalf("%+v: problems %q", opts, got)
		}
		if plan.Targets[0].Target.Statistic != "p95" {
			t.Errorf("statistic %q, want p95 (normalised)", plan.Targets[0].Target.Statistic)
		}
		want := "p95 is judged on ≥ 20 valid runs, but generate.runs = 3"
		if opts.Sets != nil && len(opts.Sets) == 2 {
			want = "may stop at min_runs = 3; set generate.min_runs = 20"
		}
		if len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], want) {
			t.Errorf("%+v: warnings %q, want one containing %q", opts, plan.Warnings, want)
		}
	}
}

func TestSet(t *testing.T) {
	base := `
[model]
source = "gpt2"
[matrix]
prompt_tokens = [128, 512]
new_tokens = [64, 128]
[generate]
min_runs = 5
max_runs = 20
[[target]]
expr = "ttft_ms.p95 < 2500ms"
case = "p128-n64"
`
	tests := []struct {
		name  string
		sets  []string
		check func(t *testing.T, p *Plan)
		want  []string // problems, when the sets are bad
	}{
		{
			name: "fixed runs replace the adaptive count",
			sets: []string{"generate.runs=3"},
			check: func(t *testing.T, p *Plan) {
				if g := p.Generate; g.Runs != 3 || g.MaxRuns != 0 || g.MinRuns != 0 {
					t.Errorf("generate = %+v, want a fixed count of 3", g)
				}
			},
		},
		{
			name: "lists, bare strings and durations are typed by the schema",
			sets: []string{"matrix.prompt_tokens=[32]", "matrix.new_tokens=16", "model.source=gpt2-tiny", "generate.timeout=90s", "model.spinning=true"},
			check: func(t *testing.T, p *Plan) {
				if len(p.Cases) != 1 || p.Cases[0].ID != "p32-n16" {
					t.Errorf("cases = %v, want one case p32-n16", caseIDs(p.Cases))
				}
				if p.Model.Source != "gpt2-tiny" || !p.Model.Spinning || p.Generate.Timeout != 90*time.Second {
					t.Errorf("model = %+v, timeout %v", p.Model, p.Generate.Timeout)
				}
				if len(p.Warnings) != 2 || !strings.Contains(p.Warnings[0], "may stop at min_runs = 5; set generate.min_runs = 20") ||
					!strings.Contains(p.Warnings[1], `"p128-n64" matches no case`) {
					t.Errorf("warnings = %q, want the target whose case the command line removed", p.Warnings)
				}
			},
		},
		{
			name: "a string key keeps text that TOML would read otherwise",
			sets: []string{"report.title=2025-01-01", "model.tokenizer=none", "report.baseline=\"latest:x\""},
			check: func(t *testing.T, p *Plan) {
				if p.Report.Title != "2025-01-01" || p.Model.Tokenizer != "" || p.Report.Baseline != "latest:x" {
					t.Errorf("title %q, tokenizer %q, baseline %q", p.Report.Title, p.Model.Tokenizer, p.Report.Baseline)
				}
			},
		},
		{
			name: "a tokenizer pipe setup fetches, by name",
			sets: []string{"model.tokenizer=mistral"},
			check: func(t *testing.T, p *Plan) {
				if p.Model.Tokenizer != "mistral" {
					t.Errorf("tokenizer %q, want the name kept for tokenize.Load", p.Model.Tokenizer)
				}
			},
		},
		{
			name: "an unknown tokenizer name lists the known ones",
			sets: []string{"model.tokenizer=llama9"},
			want: []string{`--set model.tokenizer=llama9: model.tokenizer: "llama9" is not "gpt2", "mistral", "gemma3", "none" or a directory holding tokenizer.json or encoder.json + vocab.bpe`},
		},
		{
			name: "array-of-tables element by index",
			sets: []string{"target.0.expr=ttft_ms.p90 < 3s"},
			check: func(t *testing.T, p *Plan) {
				if p.Targets[0].Target.Statistic != "p90" || p.Targets[0].Target.Value != 3 {
					t.Errorf("target = %+v", p.Targets[0].Target)
				}
			},
		},
		{
			name: "errors name --set, not a line",
			sets: []string{"generate.runs=abc", "model.devic=cpu", "case.0.new_tokens=4", "target.3.expr=x", "nokey", "quick.generate.runs=1", "matrix.new_tokens=[64, 2000]"},
			want: []string{
				`--set generate.runs=abc: generate.runs: want an integer, got string "abc"`,
				`--set model.devic=cpu: model.devic: unknown key; did you mean model.device?`,
				`--set case.0.new_tokens=4: case.0.new_tokens: there is no case.0: the pipeline has no case entries`,
				`--set target.3.expr=x: target.3.expr: target has 1 entries: index them from 0, e.g. target.0.expr`,
				`--set nokey: want key.path=value, e.g. generate.runs=3`,
				`--set quick.generate.runs=1: set the value itself (it wins over --quick), not its [quick] override`,
				`--set matrix.new_tokens=[64, 2000]: matrix.new_tokens: case p512-n2000: 512 prompt + 2000 new tokens = 2512 exceeds the 1024 positions of gpt2; shorten prompt_tokens or new_tokens`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, plan := problemsOf(t, base, LoadOptions{Names: testNames, Sets: tt.sets})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("problems (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, plan)
			}
		})
	}
}

func TestMatrixExpansion(t *testing.T) {
	tests := []struct {
		name   string
		matrix string
		want   []string
	}{
		{"zip pairs by position", "prompt_tokens = [128, 512, 768]\nnew_tokens = [64, 128, 256]", []string{"p128-n64", "p512-n128", "p768-n256"}},
		{"zip broadcasts a single value", "prompt_tokens = [8, 16]\nnew_tokens = 4", []string{"p8-n4", "p16-n4"}},
		{"cartesian, suffixes for what varies", "mode = \"cartesian\"\nprompt_tokens = 8\nnew_tokens = [4, 8]\nbatch = [1, 2]", []string{"p8-n4-b1", "p8-n4-b2", "p8-n8-b1", "p8-n8-b2"}},
		{"streams and threads suffixes", "prompt_tokens = 8\nnew_tokens = 4\nstreams = [1, 2]\nthreads = [2, 1]", []string{"p8-n4-s1-t2", "p8-n4-s2-t1"}},
		{"cartesian, the last axis fastest", "mode = \"cartesian\"\nprompt_tokens = [8, 16]\nnew_tokens = 4\nstreams = [1, 2]\nthreads = [1, 2]",
			[]string{"p8-n4-s1-t1", "p8-n4-s1-t2", "p8-n4-s2-t1", "p8-n4-s2-t2", "p16-n4-s1-t1", "p16-n4-s1-t2", "p16-n4-s2-t1", "p16-n4-s2-t2"}},
		{"zip with every axis", "prompt_tokens = [8, 16]\nnew_tokens = [4, 2]\nbatch = [1, 2]\nstreams = 2\nthreads = [1, 2]", []string{"p8-n4-b1-t1", "p16-n2-b2-t2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, plan := problemsOf(t, "[matrix]\n"+tt.matrix+"\n", LoadOptions{Names: testNames})
			if problems != nil {
				t.Fatalf("problems: %q", problems)
			}
			if diff := cmp.Diff(tt.want, caseIDs(plan.Cases)); diff != "" {
				t.Errorf("case IDs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuick(t *testing.T) {
	plan, err := Load(filepath.Join("..", "..", "..", "pipelines", "phase2-latency.toml"), LoadOptions{Names: testNames, Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	if g := plan.Generate; g.Runs != 5 || g.MaxRuns != 0 || !plan.Quick {
		t.Errorf("--quick phase 2: generate = %+v, quick %v; want 5 fixed runs", g, plan.Quick)
	}
	plan, err = Load(filepath.Join("..", "..", "..", "pipelines", "phase4-throughput.toml"), LoadOptions{Names: testNames, Quick: true, CPUs: 64})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p128-n64-b1-s1", "p128-n64-b1-s2", "p128-n64-b4-s1", "p128-n64-b4-s2"}; !cmp.Equal(want, caseIDs(plan.Cases)) {
		t.Errorf("--quick phase 4 cases = %v, want %v", caseIDs(plan.Cases), want)
	}
}

// TestShippedPipelines: every pipeline in pipelines/ validates, with and
// without --quick.
func TestShippedPipelines(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "pipelines", "*.toml"))
	more, _ := filepath.Glob(filepath.Join("..", "..", "..", "pipelines", "testdata", "*.toml"))
	files = append(files, more...)
	if len(files) < 6 {
		t.Fatalf("found %d shipped pipelines, want phase1–5 and the tiny one", len(files))
	}
	for _, f := range files {
		for _, quick := range []bool{false, true} {
			if _, err := Load(f, LoadOptions{Names: testNames, Quick: quick}); err != nil {
				t.Errorf("%s (quick %v):\n%v", f, quick, err)
			}
		}
	}
	// The miniature phases examples/run-phases.sh runs in its test.
	minis, _ := filepath.Glob(filepath.Join("..", "..", "..", "pipelines", "testdata", "phases", "*.toml"))
	for _, f := range minis {
		if _, err := Load(f, LoadOptions{Names: testNames}); err != nil {
			t.Errorf("%s:\n%v", f, err)
		}
	}
}

func TestModelDirectory(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := os.Mkdir(model, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(model, "config.json"), []byte(`{"model_type": "gpt2", "n_positions": 64}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// A decoder beside it: a config.json alone is a model to build
	// (TestModelBuildChecked), and GPT-2's is not one pipe builds.
	if err := os.WriteFile(filepath.Join(model, "model.onnx"), []byte("not checked here"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "p.toml")
	src := "[model]\nsource = \"model\"\n[matrix]\nprompt_tokens = [16, 60]\nnew_tokens = 8\n"
	_, err := Parse(file, []byte(src), LoadOptions{Names: testNames})
	want := file + `:4: matrix.prompt_tokens: case p60-n8: 60 prompt + 8 new tokens = 68 exceeds the 64 positions of ` + model + `; shorten prompt_tokens or new_tokens`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	plan, err := Parse(file, []byte(strings.Replace(src, "60", "56", 1)), LoadOptions{Names: testNames})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Model.Source != model || plan.Model.MaxPositions != 64 || plan.Model.Tokenizer != model {
		t.Errorf("model = %+v: want the directory resolved against the pipeline file, 64 positions, its own tokenizer", plan.Model)
	}

	// An .onnx file: config.json beside it.
	fits := strings.Replace(src, "60", "56", 1)
	plan, err = Parse(file, []byte(strings.Replace(fits, `"model"`, `"model/model.onnx"`, 1)), LoadOptions{Names: testNames})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Model.MaxPositions != 64 || plan.Model.Tokenizer != model {
		t.Errorf("model file: %+v", plan.Model)
	}

	// A broken config.json is named, with the fix.
	if err := os.WriteFile(filepath.Join(model, "config.json"), []byte(`{"n_positions": `), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Parse(file, []byte(src), LoadOptions{Names: testNames})
	want = file + ":2: model.source: " + filepath.Join(model, "config.json") + ": not a JSON object (unexpected end of JSON input); fix it or remove it"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestPluginPaths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PIPE_CACHE", filepath.Join(dir, "cache"))
	if err := os.WriteFile(filepath.Join(dir, "mine.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := minimal + `
[[plugin]]
name = "mine"
path = "mine.wasm"
[plugin.config]
window = 8
[[plugin]]
name = "jitter"
[report]
formats = ["md", "mine"]
[[target]]
expr = "jitter.itl_cv.p90 < 10%"
`
	plan, err := Parse(filepath.Join(dir, "p.toml"), []byte(src), LoadOptions{Names: testNames})
	if err != nil {
		t.Fatal(err)
	}
	mine, jitter := plan.Plugins[0], plan.Plugins[1]
	if mine.Path != filepath.Join(dir, "mine.wasm") || mine.FirstParty || mine.Config["window"] != int64(8) || mine.MemoryMiB != 0 {
		t.Errorf("mine = %+v", mine)
	}
	if jitter.Path != filepath.Join(dir, "cache", "plugins", "jitter.wasm") || !jitter.FirstParty {
		t.Errorf("jitter = %+v", jitter)
	}
	if len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "run `make plugins`") {
		t.Errorf("warnings = %q, want one about the unbuilt first-party plugin", plan.Warnings)
	}
}

func TestOversubscriptionWarning(t *testing.T) {
	src := "[model]\nsource = \"gpt2-tiny\"\nintra_op_threads = 2\n[matrix]\nprompt_tokens = 8\nnew_tokens = 4\nstreams = [1, 2]\n"
	_, plan := problemsOf(t, src, LoadOptions{Names: testNames, CPUs: 4})
	if len(plan.Warnings) != 0 {
		t.Errorf("2 streams × 2 threads on 4 cores: warnings %q, want none", plan.Warnings)
	}
	_, plan = problemsOf(t, src, LoadOptions{Names: testNames, CPUs: 2})
	if len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "p8-n4-s2 (2×2)") {
		t.Errorf("2 streams × 2 threads on 2 cores: warnings %q, want one naming p8-n4-s2", plan.Warnings)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("no/such.toml", LoadOptions{Names: testNames})
	want := "pipeline no/such.toml: no such file or directory (give the path of a .toml pipeline, e.g. pipelines/phase1-quick.toml)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestParseDurationAndSize(t *testing.T) {
	durations := []struct {
		in   any
		want time.Duration
		err  bool
	}{
		{"30s", 30 * time.Second, false}, {"1m30s", 90 * time.Second, false}, {int64(2), 2 * time.Second, false},
		{0.5, 500 * time.Millisecond, false}, {"soon", 0, true}, {true, 0, true}, {int64(1) << 62, 0, true},
	}
	for _, d := range durations {
		got, err := parseDuration(d.in)
		if (err != nil) != d.err || got != d.want {
			t.Errorf("parseDuration(%v) = %v, %v; want %v (error %v)", d.in, got, err, d.want, d.err)
		}
	}
	sizes := []struct {
		in   any
		want float64
		err  bool
	}{
		{"64KiB", 64 << 10, false}, {"1.5 MiB", 1.5 * (1 << 20), false}, {"2GB", 2e9, false}, {int64(512), 512, false},
		{"12 parsecs", 0, true}, {"KiB", 0, true}, {[]any{}, 0, true},
	}
	for _, s := range sizes {
		got, err := parseSize(s.in)
		if (err != nil) != s.err || got != s.want {
			t.Errorf("parseSize(%v) = %v, %v; want %v (error %v)", s.in, got, err, s.want, s.err)
		}
	}
}

func TestIndexLines(t *testing.T) {
	src := `# comment
name = "x"
description = """
two
lines"""
[model]
source = "gpt2"   # trailing
[matrix]
prompt_tokens = [
  128,
  512,
]
new_tokens = [64, 128]
[[case]]
prompt_tokens = 1
[[case]]
"new_tokens" = 2
[[case.sub]]
a.b = 3
[plugin.config]
s = 'it''s'
`
	ix := indexLines(src)
	want := map[string]int{
		"name": 2, "description": 3, "model": 6, "model.source": 7, "matrix.prompt_tokens": 9,
		"matrix.new_tokens": 13, "case": 14, "case.0": 14, "case.0.prompt_tokens": 15, "case.1": 16,
		"case.1.new_tokens": 17, "case.1.sub.0": 18, "case.1.sub.0.a.b": 19, "plugin.config.s": 21,
	}
	for path, line := range want {
		if got := ix.line(path); got != line {
			t.Errorf("line(%s) = %d, want %d", path, got, line)
		}
	}
	if got := ix.line("model.source.deeper"); got != 7 {
		t.Errorf("an unindexed path falls back to its parent: got %d, want 7", got)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "pipelines", "*.toml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "generate.runs=3")
	}
	f.Add([]byte(minimal+"[[target]]\nexpr = \"ttft_ms.p99.9 < 1s\"\n[quick]\nmatrix = 1\n"), "case.0.x=1")
	f.Add([]byte("a = \"\"\"\n\\\n\"\"\"\n[[x.y]]\n'q'.\"r\" = [{a = 1}, [2]]\n"), "x.0.y=[")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		plan, err := Parse("f.toml", data, LoadOptions{Names: testNames, Sets: []string{set}, CPUs: 2})
		if err == nil {
			if plan == nil {
				t.Fatal("no plan and no error")
			}
			var b strings.Builder
			if err := plan.Describe(&b); err != nil {
				t.Fatal(err)
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is not a non-empty Problems: %v", err)
		}
	})
}

// TestReferenceValidates: the commented reference in pipelines/README.md
// is a valid pipeline, with the defaults it claims.
func TestReferenceValidates(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "pipelines", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```toml\n")
	src, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("pipelines/README.md has no ```toml block")
	}
	plan, err := Parse(filepath.Join("..", "..", "..", "pipelines", "README.md"), []byte(src), LoadOptions{Names: testNames, CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Generate.Runs != DefaultRuns || plan.Warmup.Runs != DefaultWarmupRuns || plan.Generate.RSSInterval != DefaultRSSInterval ||
		plan.Aggregate.OutlierZ != DefaultOutlierZ || plan.Report.OutDir != DefaultOutDir || plan.Plugins[0].MemoryMiB != 0 ||
		plan.Plugins[0].Timeout != 0 || plan.Plugins[0].MaxOutput != 0 || plan.Model.Tokenizer != "gpt2" ||
		plan.Model.GraphStyle != model.DefaultStyle {
		t.Errorf("the reference's values differ from the defaults: %+v", plan)
	}
	if got := caseIDs(plan.Cases); !cmp.Equal(got, []string{"p128-n64", "p512-n128", "p768-n256"}) {
		t.Errorf("cases = %v", got)
	}
}

func FuzzIndexLines(f *testing.F) {
	f.Add("[a]\nb = \"\"\"\nx\n\"\"\"\n[[c.d]]\n'e'.f = [1,\n2]\n")
	f.Add("a = 'x\n[b\n\"c\\")
	f.Fuzz(func(t *testing.T, src string) {
		ix := indexLines(src)
		lines := strings.Count(src, "\n") + 1
		for path, line := range ix {
			if line < 1 || line > lines {
				t.Fatalf("%s at line %d of %d", path, line, lines)
			}
		}
	})
}

func TestPluginGrants(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PIPE_CACHE", filepath.Join(dir, "cache"))
	if err := os.Mkdir(filepath.Join(dir, "fixtures"), 0o755); err != nil {
		t.Fatal(err)
	}
	grant := func(body string) string {
		return minimal + "[[plugin]]\nname = \"jitter\"\n[plugin.grant]\n" + body
	}
	plan, err := Parse(filepath.Join(dir, "p.toml"), []byte(grant("clock = true\nenv = [\"TZ\"]\nread = [\"fixtures\"]\n")), LoadOptions{Names: testNames})
	if err != nil {
		t.Fatal(err)
	}
	g := plan.Plugins[0].Grant
	if !g.Clock || len(g.Env) != 1 || g.Env[0] != "TZ" || len(g.Read) != 1 || g.Read[0] != filepath.Join(dir, "fixtures") {
		t.Errorf("grant = %+v", g)
	}
	if (PluginSpec{}).Grant.Clock || len((PluginSpec{}).Grant.Read) != 0 {
		t.Error("the zero PluginSpec grants something")
	}
	_, err = Parse(filepath.Join(dir, "p.toml"), []byte(grant("read = [\"nope\"]\nenv = [\"A=B\"]\nfiles = true\n")), LoadOptions{Names: testNames})
	for _, want := range []string{
		"plugin.0.grant.read: " + filepath.Join(dir, "nope") + " is not a directory",
		`plugin.0.grant.env: "A=B" is not an environment variable name`,
		"plugin.0.grant.files: unknown key",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems %v, want one containing %q", err, want)
		}
	}
}
