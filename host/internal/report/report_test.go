package report_test

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
	"github.com/pipe-bench/pipe/sdk/schema"
)

func TestMarkdownGolden(t *testing.T) {
	tests := []struct {
		name string
		r    *result.Result
		opt  report.Options
	}{
		{"phase2_with_baseline.md", resulttest.Phase2(), report.Options{Baseline: resulttest.Baseline()}},
		{"baseline_alone.md", resulttest.Baseline(), report.Options{Title: "Phase 2 baseline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := report.Render("md", tt.r, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.name, got)
		})
	}
}

// TestMarkdownSaysWhatMatters checks the statements the seed report got
// wrong or left out, independent of layout.
func TestMarkdownSaysWhatMatters(t *testing.T) {
	got, err := report.Render("md", resulttest.Phase2(), report.Options{Baseline: resulttest.Baseline()})
	if err != nil {
		t.Fatal(err)
	}
	md := string(got)
	for _, want := range []string{
		"❌ INVALID", // the broken run is visible in the status line
		"E2E ≥ TTFT broken: e2e_ms 180.4 < ttft_ms 242.3", // and named with its invariant
		// the scaling fit over every run, with the exponent's interval and
		// every axis that varied; too wide to claim a shape
		"TTFT ∝ prompt^1.06 [0.90, 1.22] (log-log least squares over 23 runs of 3 cases; varied: prompt 128–768 tokens, output 64–256 tokens",
		"the interval does not tell sub-linear, linear and super-linear apart",
		"foreign CPU load 0.80 cores during the case — rerun on an idle machine",
		"❌ targets: 5 of 13 failed", // the p95 targets on 7-8 runs fail as insufficient runs
		"jitter.itl_cv",             // the plugin metric has a row and a definition
		"from plugin jitter",        // its definition says where it came from
		"## Comparison with baseline",
		"time to first token: request start (before tokenization)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestCSV reads the CSV files back and checks them against the result.
func TestCSV(t *testing.T) {
	r := resulttest.Phase2()
	files, err := report.RenderFiles("csv", r, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != report.RunsCSV || files[1].Name != report.CasesCSV {
		t.Fatalf("files = %v", files)
	}
	for _, f := range files {
		golden.Check(t, f.Name, f.Data)
	}
	runs, err := csv.NewReader(bytes.NewReader(files[0].Data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	nRuns := 0
	for _, c := range r.Cases {
		nRuns += len(c.Runs)
	}
	if len(runs) != nRuns+1 {
		t.Errorf("runs.csv has %d rows, want a header and %d runs", len(runs), nRuns)
	}
	col := map[string]int{}
	for i, h := range runs[0] {
		col[h] = i
	}
	// Row 16 is p512 run 7, the broken one.
	broken := runs[1+8+6]
	if broken[col["case"]] != "p512-n128-b1" || broken[col["valid"]] != "false" || broken[col["e2e_ms"]] != "180.4" ||
		!strings.Contains(broken[col["problems"]], "E2E ≥ TTFT") {
		t.Errorf("broken run row = %v", broken)
	}
	cases, err := csv.NewReader(bytes.NewReader(files[1].Data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 3*len(r.Metrics); len(cases) != want {
		t.Errorf("cases.csv has %d rows, want %d", len(cases), want)
	}
}

func TestJSONIsTheResult(t *testing.T) {
	r := resulttest.Phase2()
	got, err := report.Render("json", r, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := result.Decode("report", got); err != nil {
		t.Fatal(err)
	}
	want, _ := result.Encode(r)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("json format is not result.json:\n%s", diff)
	}
}

func TestMarkdownStableAcrossJSON(t *testing.T) {
	// A report rendered from a result read back from disk equals the one
	// rendered from memory (settings decode as float64 and []any).
	r := resulttest.Phase2()
	dir := t.TempDir()
	if err := result.Write(dir, r); err != nil {
		t.Fatal(err)
	}
	back, err := result.Read(filepath.Join(dir, result.FileName))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := report.Render("md", r, report.Options{})
	b, _ := report.Render("md", back, report.Options{})
	if diff := cmp.Diff(string(a), string(b)); diff != "" {
		t.Errorf("markdown differs after a JSON round trip:\n%s", diff)
	}
}

type plugFormat struct{}

func (plugFormat) Name() string { return "test-plugin" }
func (plugFormat) Render(r *result.Result, _ report.Options) ([]report.File, error) {
	return []report.File{{Name: "cases.txt", Data: []byte(r.Cases[0].ID)}}, nil
}

// clashFormat writes md's file under another name.
type clashFormat struct{}

func (clashFormat) Name() string    { return "clash" }
func (clashFormat) Files() []string { return []string{report.MarkdownFile} }
func (clashFormat) Render(*result.Result, report.Options) ([]report.File, error) {
	return nil, nil
}

// TestRegistry: a registered format renders through the registry; an
// unknown name lists the registered ones; a second format of one name, or
// one claiming another's file, is refused with an error naming both.
func TestRegistry(t *testing.T) {
	reg := builtinRegistry(t)
	if err := reg.Register(plugFormat{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"md", "csv", "json", "test-plugin"} {
		if _, ok := reg.Lookup(name); !ok {
			t.Errorf("format %s not registered", name)
		}
	}
	dir := t.TempDir()
	paths, err := reg.Write(dir, "test-plugin", resulttest.Phase2(), report.Options{})
	if err != nil || len(paths) != 1 {
		t.Fatalf("Write = %v, %v", paths, err)
	}
	if data, _ := os.ReadFile(paths[0]); string(data) != "p128-n64-b1" {
		t.Errorf("plugin file holds %q", data)
	}
	paths, err = reg.Write(dir, "csv", resulttest.Phase2(), report.Options{})
	if err != nil || len(paths) != 2 || filepath.Base(paths[1]) != report.CasesCSV {
		t.Errorf("csv Write = %v, %v", paths, err)
	}
	if _, err := reg.Render("pdf", resulttest.Phase2(), report.Options{}); err == nil || !strings.Contains(err.Error(), `unknown format "pdf"; want one of csv, json, md, test-plugin`) {
		t.Errorf("unknown format error = %v", err)
	}
	if err := reg.Register(plugFormat{}); err == nil || !strings.Contains(err.Error(), `"test-plugin" is registered twice`) {
		t.Errorf("a second test-plugin: %v", err)
	}
	if err := reg.Register(clashFormat{}); err == nil || !strings.Contains(err.Error(), `report formats "md" and "clash" both write report.md`) {
		t.Errorf("a second writer of report.md: %v", err)
	}
	if _, ok := reg.Lookup("clash"); ok {
		t.Error("a refused format is registered")
	}
}

func TestMarkdownSingleCaseValid(t *testing.T) {
	r := resulttest.Baseline()
	r.Cases = r.Cases[:1]
	r.Targets = nil
	md, err := report.Render("md", r, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	if !strings.Contains(s, "✅ valid · no targets set") || strings.Contains(s, "## Scaling") || !strings.Contains(s, "No anomaly") {
		t.Errorf("single valid case report:\n%s", s)
	}
}

func TestMarkdownPhaseSections(t *testing.T) {
	r := resulttest.Baseline()
	r.Pipeline.Name = "phase3-memory"
	r.Memory = &result.Memory{LoadRSSDelta: 640 << 20, LoadPeakRSS: 690 << 20,
		SessionOptions: map[string]string{"arena_extend_strategy": "kSameAsRequested"},
		Leak: []result.Leak{
			{Case: "p128-n64-b1", RSSAfter: make([]int64, 100), SkipRuns: 5, Slope: 12288, SlopeCI: [2]float64{9000, 15500}, R2: 0.93, Threshold: 4096, Verdict: "leak",
				Steps: []result.LeakStep{{Run: 45, Bytes: -16 << 20}}},
			{Case: "p512-n128-b1", RSSAfter: make([]int64, 12), SkipRuns: 5, Slope: 100, SlopeCI: [2]float64{math.Inf(-1), math.Inf(1)}, Threshold: 4096, Verdict: "inconclusive",
				Reason: "7 valid runs after skipping the first 5; the leak check needs at least 10 — add runs"},
		}}
	r.Throughput = &result.Throughput{Saturation: "b2-s1", SaturationGain: 0.1, BeyondGain: 0.06, BeyondGainCI: [2]float64{0.03, 0.09},
		Warnings: []string{"intra-op threads 2 × streams 2 = 4 > 2 cores: oversubscribed"},
		Points: []result.ThroughputPoint{
			{Case: "b1-s1", Batch: 1, Streams: 1, Concurrency: 1, OutputTPS: 30.2, OutputTPSCI: [2]float64{29.8, 30.6}, RequestsPS: 0.47, TTFTp50: 62, TPOTp50: 33, E2Ep50: 2131, ValidRuns: 20, Runs: 20},
			{Case: "b2-s1", Batch: 2, Streams: 1, Concurrency: 2, OutputTPS: 51.9, OutputTPSCI: [2]float64{51.2, 52.5}, RequestsPS: 0.41, TTFTp50: 110, TPOTp50: 38, E2Ep50: 2500,
				Gain: 0.72, GainCI: [2]float64{0.69, 0.75}, ValidRuns: 20, Runs: 20},
			{Case: "b4-s1", Batch: 4, Streams: 1, Concurrency: 4, OutputTPS: 55.1, OutputTPSCI: [2]float64{54.0, 56.1}, RequestsPS: 0.22, TTFTp50: 215, TPOTp50: 71, E2Ep50: 4690,
				Gain: 0.06, GainCI: [2]float64{0.03, 0.09}, ValidRuns: 19, Runs: 20},
		}}
	// The memory model: the first case within the limit (+5 %, −10 %),
	// the second's runtime memory fabricated 40 % above the prediction.
	r.Cases[0].MemoryModel = &schema.MemoryModel{Weights: 500 << 20, KVCache: 28 << 20, Logits: 24 << 20, Total: 552 << 20,
		LoadRSSDelta: 525 << 20, RSSAfterOpen: 600 << 20, PeakRSS: 645 << 20}
	r.Cases[1].MemoryModel = &schema.MemoryModel{Weights: 500 << 20, KVCache: 60 << 20, Logits: 40 << 20, Total: 600 << 20,
		LoadRSSDelta: 525 << 20, RSSAfterOpen: 600 << 20, PeakRSS: 740 << 20}
	got, err := report.Render("md", r, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "phase_sections.md", got)
	for _, want := range []string{"Leak check at p128-n64-b1: leak (RSS slope 12.00 KiB/run", "| p512-n128-b1 | 12 | 5 | 0.098 | unbounded |", "| −16.00 MiB at run 45 |", "Throughput saturates after **b2-s1**: beyond it throughput gains +6 % [+3 %, +9 %]",
		"| p128-n64-b1 | 500.0 MiB | 28.00 MiB (host) | 24.00 MiB | 552.0 MiB |",
		"| p128-n64-b1 | weights vs load RSS growth | 500.0 MiB | 525.0 MiB | +5 % |",
		"| p128-n64-b1 | KV cache + logits vs peak RSS − RSS after open | 52.00 MiB | 45.00 MiB | -13 % |",
		"| p512-n128-b1 | KV cache + logits vs peak RSS − RSS after open | 100.0 MiB | 140.0 MiB | **+40 %** ⚠️ |",
		"- ⚠️ p512-n128-b1, KV cache + logits vs peak RSS − RSS after open: 140.0 MiB measured against 100.0 MiB predicted (+40 %), beyond 15 %"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(string(got), "⚠️ "+r.Cases[0].ID); n != 0 {
		t.Errorf("case %s within the limit is flagged %d times", r.Cases[0].ID, n)
	}
}

// BenchmarkRender measures rendering the fixture (3 cases × 9 metrics × 8
// runs) with a baseline comparison.
func BenchmarkRender(b *testing.B) {
	r, base := resulttest.Phase2(), resulttest.Baseline()
	for _, f := range []string{"md", "csv", "json"} {
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				if _, err := report.RenderFiles(f, r, report.Options{Baseline: base}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestNoiseCauses checks that a high CV is explained by what was measured.
func TestNoiseCauses(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *result.Result)
		want   string
	}{
		{"foreign CPU in the case", func(r *result.Result) {}, "foreign CPU load 0.80 cores during the case"},
		{"busy machine, quiet case", func(r *result.Result) { r.Cases[1].ForeignCPU = 0.1; r.Env.LoadDuring = 6 }, "load average 6.0 on 2 cores during the run"},
		{"outliers only", func(r *result.Result) { r.Cases[1].ForeignCPU = 0.1 }, "2 outlier run(s) (more than 10 robust SDs (Qn) from the median on the log scale) without measured foreign load or steal"},
		{"governor", func(r *result.Result) {
			r.Cases[1].ForeignCPU = 0.1
			r.Env.Governor = "powersave"
			for _, id := range []string{"ttft_ms", "e2e_ms"} {
				s := r.Cases[1].Stats[id]
				s.Outliers = 0
				r.Cases[1].Stats[id] = s
			}
		}, `the CPU governor is "powersave"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resulttest.Phase2()
			tt.modify(r)
			a := report.Analyze(r, report.Options{})
			if got := a.Variance[1].Cause; !strings.Contains(got, tt.want) {
				t.Errorf("cause = %q, want %q", got, tt.want)
			}
			if a.Variance[0].Cause != "" {
				t.Errorf("quiet case got a cause: %q", a.Variance[0].Cause)
			}
		})
	}
}

// TestCSVOfAMergedResult: a merged result's rows say which machine and shard
// ran each case, after the case's parameters; a result of one run has no
// such columns (TestCSV's goldens).
func TestCSVOfAMergedResult(t *testing.T) {
	r := resulttest.Phase2()
	r.Environments = []result.Environment{
		{ID: "shard-1", Env: result.Env{Hostname: "node-a", CPUModel: "EPYC"}, Cases: 2},
		{ID: "shard-2", Env: result.Env{Hostname: "node-b", CPUModel: "Xeon"}, Cases: 1},
	}
	for i := range r.Cases { // the first two cases on node-a, the rest on node-b
		r.Cases[i].Environment = "shard-1"
		if i >= 2 {
			r.Cases[i].Environment = "shard-2"
		}
	}
	files, err := report.RenderFiles("csv", r, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rows, err := csv.NewReader(bytes.NewReader(f.Data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := rows[0][:8]; !slices.Equal(got, []string{"case", "prompt_tokens", "new_tokens", "batch", "streams", "threads", "machine", "shard"}) {
			t.Fatalf("%s header starts %v", f.Name, got)
		}
		want := map[string][2]string{}
		for _, c := range r.Cases {
			host := "node-a"
			if c.Environment == "shard-2" {
				host = "node-b"
			}
			want[c.ID] = [2]string{host, c.Environment}
		}
		for _, row := range rows[1:] {
			if got := [2]string{row[6], row[7]}; got != want[row[0]] {
				t.Errorf("%s: case %s ran on %v, want %v", f.Name, row[0], got, want[row[0]])
			}
		}
	}
}
