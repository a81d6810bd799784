package finalreport_test

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/finalreport"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// inputsRoot holds the fixture's phase results as pipe writes them; other
// packages' tests (the HTML report) read them too.
const inputsRoot = "testdata/inputs"

var fixedNow = func() time.Time { return time.Date(2026, 1, 28, 18, 5, 0, 0, time.UTC) }

// TestFixtureFiles keeps testdata/inputs equal to what fixturePhases
// builds; -update rewrites them.
func TestFixtureFiles(t *testing.T) {
	for name, r := range fixturePhases() {
		st, err := time.Parse(time.RFC3339, r.StartedAt)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(inputsRoot, result.DirName(name, r.Model.Model, st))
		if golden.Updating() {
			if err := result.Write(dir, r); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := result.Read(filepath.Join(dir, result.FileName))
		if err != nil {
			t.Fatalf("%v (run go test ./host/finalreport -update)", err)
		}
		want, _ := json.Marshal(r)
		have, _ := json.Marshal(got)
		if !bytes.Equal(want, have) {
			t.Errorf("%s differs from fixturePhases(); run go test ./host/finalreport -update", dir)
		}
	}
}

func phase5Plan() *pipeline.Plan {
	return &pipeline.Plan{
		Name:        "phase5-report",
		Description: "the seed's phase 5: one report over the latest results of phases 1–4",
		Inputs: map[string]string{
			"quick": "latest:phase1-quick", "latency": "latest:phase2-latency",
			"memory": "latest:phase3-memory", "throughput": "latest:phase4-throughput",
		},
		InputOrder: []string{"quick", "latency", "memory", "throughput"},
		Targets: []pipeline.TargetSpec{
			{Expr: "ttft_ms.p95 < 300ms", Case: "latency/p128-*"},
			{Expr: "decode_tps.mean >= 25tok/s", Case: ""},
			{Expr: "e2e_ms.p99 < 8s", Case: "latency/*"},
			{Expr: "peak_rss_mib.max < 900MiB", Case: "memory/*"},
		},
	}
}

func build(t *testing.T, plan *pipeline.Plan, root string) *result.Result {
	t.Helper()
	m, err := finalreport.BuildWith(context.Background(), plan, root, finalreport.Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMergedMarkdownGolden(t *testing.T) {
	tests := []struct {
		name   string
		plan   func() *pipeline.Plan
		golden string
	}{
		{"all four phases", phase5Plan, "phase5.golden.md"},
		{"memory and throughput missing", func() *pipeline.Plan {
			p := phase5Plan()
			p.Inputs["memory"] = "latest:phase3-memory-gpu"
			p.Inputs["throughput"] = filepath.Join(inputsRoot, "no-such-run")
			return p
		}, "phase5-missing.golden.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := build(t, tt.plan(), inputsRoot)
			var b bytes.Buffer
			if err := finalreport.WriteMarkdown(&b, m); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.golden, b.Bytes())
		})
	}
}

func TestBuildMerges(t *testing.T) {
	m := build(t, phase5Plan(), inputsRoot)
	if len(m.Inputs) != 4 {
		t.Fatalf("got %d inputs, want 4", len(m.Inputs))
	}
	for i, role := range []string{"quick", "latency", "memory", "throughput"} {
		in := m.Inputs[i]
		if in.Role != role || in.Result == nil || !strings.HasSuffix(in.Path, result.FileName) {
			t.Errorf("input %d = {%s %s %v}, want role %s read from a result.json", i, in.Role, in.Path, in.Result != nil, role)
		}
	}
	// The latency fixture holds a run with E2E < TTFT: the merged result
	// must be invalid and say where.
	if m.Valid {
		t.Error("merged result is valid, but the latency input is not")
	}
	if len(m.Problems) == 0 || !strings.HasPrefix(m.Problems[0], "latency: p768-n256-b1: run 7") {
		t.Errorf("problems = %q, want the latency input's broken run first", m.Problems)
	}
	// Targets are judged per input case and named ROLE/CASE.
	byCase := map[string]result.Verdict{}
	for _, v := range m.Targets {
		byCase[v.Target+" @ "+v.Case] = v
	}
	// The fixture has 10 runs a case; a p95 is judged on 20 (target.MinRuns).
	if v, ok := byCase["ttft_ms.p95 < 300ms @ latency/p128-n64-b1"]; !ok || v.Pass || !strings.Contains(v.Message, "insufficient runs: p95 needs ≥ 20 valid runs") {
		t.Errorf("latency/p128 TTFT target: %+v (present %v), want a failure for insufficient runs", v, ok)
	}
	// decode ≥ 25 tok/s over every input's cases: p768 (24.1 tok/s) fails.
	if v, ok := byCase["decode_tps.mean >= 25tok/s @ latency/p768-n256-b1"]; !ok || v.Pass {
		t.Errorf("decode target at latency/p768: %+v (present %v), want a failure", v, ok)
	}
	if _, ok := byCase["decode_tps.mean >= 25tok/s @ quick/p30-n50-b1"]; !ok {
		t.Error("an unscoped target did not judge the quick input's case")
	}
	if m.StartedAt != fixedNow().Format(time.RFC3339Nano) {
		t.Errorf("started_at = %s, want the injected clock's", m.StartedAt)
	}
	// The merged result round-trips through the result schema.
	dir := t.TempDir()
	if err := result.Write(dir, m); err != nil {
		t.Fatal(err)
	}
	back, err := result.Read(filepath.Join(dir, result.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Inputs) != 4 || back.Inputs[2].Result.Memory == nil || len(back.Inputs[2].Result.Memory.Leak) != 1 {
		t.Error("the merged result lost its inputs' memory analysis in a write/read round trip")
	}
}

func TestBuildSadPaths(t *testing.T) {
	tests := []struct {
		name    string
		plan    func() *pipeline.Plan
		opt     finalreport.Options
		wantErr string // "" means Build succeeds
		// check inspects a successful build.
		check func(t *testing.T, m *result.Result)
	}{
		{name: "no inputs", plan: func() *pipeline.Plan { return &pipeline.Plan{Name: "p5"} },
			wantErr: "final report p5: the pipeline names no inputs; add an [inputs] table"},
		{name: "nil plan", plan: func() *pipeline.Plan { return nil }, wantErr: "final report: no plan"},
		{name: "required input missing", opt: finalreport.Options{Required: []string{"memory"}},
			plan: func() *pipeline.Plan {
				p := phase5Plan()
				p.Inputs["memory"] = "latest:nothing-here"
				return p
			},
			wantErr: `final report: required input memory: latest:nothing-here: no result of pipeline "nothing-here"`},
		{name: "optional input missing is reported, not fatal",
			plan: func() *pipeline.Plan {
				p := phase5Plan()
				p.Inputs["memory"] = "latest:nothing-here"
				return p
			},
			check: func(t *testing.T, m *result.Result) {
				if m.Inputs[2].Result != nil {
					t.Error("missing memory input has a result")
				}
				if !containsPrefix(m.Warnings, "input memory missing: latest:nothing-here") {
					t.Errorf("warnings = %q, want the missing input named", m.Warnings)
				}
				v := findVerdict(m, "peak_rss_mib.max < 900MiB")
				if v == nil || v.Pass || !strings.Contains(v.Message, "input memory is missing") {
					t.Errorf("target scoped to the missing input: %+v, want a failure saying the input is missing", v)
				}
			}},
		{name: "unreadable input file",
			plan: func() *pipeline.Plan {
				p := phase5Plan()
				bad := filepath.Join(t.TempDir(), "result.json")
				os.WriteFile(bad, []byte(`{"schema":"pipe.result/v9"}`), 0o644)
				p.Inputs["quick"] = bad
				return p
			},
			check: func(t *testing.T, m *result.Result) {
				if !containsPrefix(m.Warnings, "input quick missing: read result") || !strings.Contains(strings.Join(m.Warnings, "\n"), "pipe.result/v9") {
					t.Errorf("warnings = %q, want the schema refusal kept", m.Warnings)
				}
			}},
		{name: "target names an unknown role",
			plan: func() *pipeline.Plan {
				p := phase5Plan()
				p.Targets = []pipeline.TargetSpec{{Expr: "ttft_ms.p50 < 1s", Case: "latncy/*"}}
				return p
			},
			check: func(t *testing.T, m *result.Result) {
				if len(m.Targets) != 1 || m.Targets[0].Pass || !strings.Contains(m.Targets[0].Message, `no input has role "latncy" (inputs: quick, latency, memory, throughput)`) {
					t.Errorf("targets = %+v, want one failure naming the roles", m.Targets)
				}
			}},
		{name: "target matches no case anywhere",
			plan: func() *pipeline.Plan {
				p := phase5Plan()
				p.Targets = []pipeline.TargetSpec{{Expr: "ttft_ms.p50 < 1s", Case: "p4096-*"}}
				return p
			},
			check: func(t *testing.T, m *result.Result) {
				if len(m.Targets) != 1 || m.Targets[0].Pass || !strings.Contains(m.Targets[0].Message, "select one as ROLE/CASE") {
					t.Errorf("targets = %+v, want one failure explaining ROLE/CASE", m.Targets)
				}
			}},
		{name: "target expression does not parse",
			plan: func() *pipeline.Plan {
				p := phase5Plan()
				p.Targets = []pipeline.TargetSpec{{Expr: "ttft_ms.p95 <<< 3", Case: ""}}
				return p
			},
			check: func(t *testing.T, m *result.Result) {
				if len(m.Targets) != 1 || m.Targets[0].Pass || m.Targets[0].Message == "" {
					t.Errorf("targets = %+v, want one failure with the parser's message", m.Targets)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := finalreport.BuildWith(context.Background(), tt.plan(), inputsRoot, tt.opt)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want prefix %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}
}

func TestBuildCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := finalreport.Build(ctx, phase5Plan(), inputsRoot); err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestAnalysisNumbers(t *testing.T) {
	a := finalreport.Analyze(build(t, phase5Plan(), inputsRoot))
	if a.Comparison == nil || a.Comparison.A.Case != "p30-n50-b1" || a.Comparison.B.Case != "p128-n64-b1" {
		t.Fatalf("comparison = %+v, want quick p30 against latency p128", a.Comparison)
	}
	if a.Scaling == nil || len(a.Scaling.Rows) != 3 || a.Scaling.Rows[2].PromptRatio != 6 {
		t.Fatalf("scaling = %+v, want three rows ending at ×6 tokens", a.Scaling)
	}
	// TTFT about 62 → 391 ms over 128 → 768 tokens: exponent log(6.3)/log(6) ≈ 1.03.
	if e := a.Scaling.Rows[2].Exponent; e < 0.9 || e > 1.2 {
		t.Errorf("TTFT exponent %.3f, want about 1.03", e)
	}
	if a.Memory == nil || len(a.Memory.Leaks) != 1 || a.Memory.Leaks[0].Verdict != "no leak" {
		t.Errorf("memory = %+v, want one leak check with verdict no leak", a.Memory)
	}
	// Tokens over the wall span of the runs: b8-s2's two streams of three
	// runs each span no less than b8-s1's six, so it is not faster; b8-s1
	// gains +7 % over b4-s1, [+5 %, +9 %], below 10 %.
	if tp := a.Throughput; tp == nil || tp.Best.Case != "b8-s1" || tp.Saturation != "b4-s1" || tp.BeyondGainCI[1] >= 0.10 {
		t.Errorf("throughput best/saturation = %+v, want b8-s1 / b4-s1 with the gain's interval below 10 %%", a.Throughput)
	}
	var noisy, rerun string
	for _, f := range a.Findings {
		if strings.HasPrefix(f, "latency: CV ") {
			noisy = f
		}
	}
	for _, r := range a.Recommendations {
		if strings.HasPrefix(r, "latency/p512-n128-b1: ") {
			rerun = r
		}
	}
	if !strings.Contains(noisy, "at p512-n128-b1: foreign CPU load 0.82 cores") {
		t.Errorf("findings lack the noisy p512 case explained by foreign load: %q", a.Findings)
	}
	if !strings.Contains(rerun, "Rerun on an idle machine") {
		t.Errorf("recommendations lack a rerun of p512 on an idle machine: %q", a.Recommendations)
	}
}

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func findVerdict(m *result.Result, expr string) *result.Verdict {
	for i := range m.Targets {
		if m.Targets[i].Target == expr {
			return &m.Targets[i]
		}
	}
	return nil
}

// TestMarkdownFormatRendersMerged: host/internal/report's "md" format hands a merged
// result to this package, with the options' title.
func TestMarkdownFormatRendersMerged(t *testing.T) {
	m := build(t, phase5Plan(), inputsRoot)
	var direct bytes.Buffer
	if err := finalreport.WriteMarkdown(&direct, m); err != nil {
		t.Fatal(err)
	}
	got, err := registry.New().Formats().Render("md", m, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, direct.Bytes()) {
		t.Error("the md format renders a merged result differently from WriteMarkdown")
	}
	titled, err := registry.New().Formats().Render("md", m, report.Options{Title: "GPT-2 on bench-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(titled, []byte("# GPT-2 on bench-1\n")) {
		t.Errorf("title option ignored: %q", titled[:40])
	}
}

// TestDefinitionsNamePluginMetrics: phase 5's metric definitions are the
// run report's (result.MetricDefs): a plugin metric an input defines is
// listed with its unit and direction after the built-ins.
func TestDefinitionsNamePluginMetrics(t *testing.T) {
	m := build(t, phase5Plan(), inputsRoot)
	in := m.Inputs[0].Result
	in.Metrics = append(in.Metrics, metric.Def{ID: "jitter.itl_cv", Unit: "1", Better: metric.Lower, Description: "ITL coefficient of variation", Source: "jitter"})
	var b bytes.Buffer
	if err := finalreport.WriteMarkdown(&b, m); err != nil {
		t.Fatal(err)
	}
	defs := b.String()[strings.Index(b.String(), "## Metric definitions"):]
	ttft, plug := strings.Index(defs, "**ttft_ms**"), strings.Index(defs, "- **jitter.itl_cv** (1, lower is better): ITL coefficient of variation")
	if ttft < 0 || plug < ttft {
		t.Errorf("definitions: ttft_ms at %d, jitter.itl_cv at %d; want both, the plugin's after:\n%s", ttft, plug, defs)
	}
}
