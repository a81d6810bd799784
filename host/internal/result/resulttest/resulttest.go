// Package resulttest builds synthetic but realistic results for the tests of
// reports, comparisons and the command line: phase 2's three cases on GPT-2,
// with a noisy case under foreign CPU load, a run that broke an invariant, a
// plugin metric, target verdicts, and a baseline to compare against. Values
// are written out, not drawn from a random generator, so golden files stay
// stable across Go releases; statistics are computed by host/internal/stats exactly
// as the engine does.
package resulttest

import (
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/sysinfo"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// JitterMetric is the plugin metric the fixture carries.
var JitterMetric = metric.Def{ID: "jitter.itl_cv", Unit: "%", Better: metric.Lower, Source: "jitter",
	Description: "coefficient of variation of the inter-token gaps within one run"}

// caseData is one case's per-run measurements.
type caseData struct {
	id             string
	prompt, tokens int
	ttft, decode   []float64
	rss, jitter    []float64
	foreign        float64
	// broken maps a run index to the E2E it reported (below TTFT).
	broken map[int]float64
}

var phase2Cases = []caseData{
	{id: "p128-n64-b1", prompt: 128, tokens: 64, foreign: 0.04,
		ttft:   []float64{61.8, 62.4, 60.9, 63.1, 62.0, 61.5, 64.2, 62.7},
		decode: []float64{30.6, 30.4, 30.9, 30.2, 30.5, 30.7, 29.8, 30.3},
		rss:    []float64{702.1, 703.0, 703.4, 703.4, 703.6, 703.6, 703.7, 703.7},
		jitter: []float64{4.1, 3.8, 4.5, 4.0, 3.9, 4.2, 5.1, 4.0}},
	{id: "p512-n128-b1", prompt: 512, tokens: 128, foreign: 0.8,
		ttft:   []float64{238.4, 241.0, 702.5, 239.7, 240.8, 655.1, 242.3, 239.1},
		decode: []float64{28.6, 28.4, 27.9, 28.5, 28.7, 28.0, 28.3, 28.6},
		rss:    []float64{731.5, 732.2, 732.9, 733.0, 733.0, 733.1, 733.1, 733.2},
		jitter: []float64{5.2, 5.0, 9.8, 5.1, 5.3, 9.1, 5.2, 5.0},
		broken: map[int]float64{6: 180.4}},
	{id: "p768-n256-b1", prompt: 768, tokens: 256, foreign: 0.1,
		ttft:   []float64{391.2, 388.7, 395.0, 390.1, 389.9, 393.3, 387.5, 392.8},
		decode: []float64{24.1, 24.3, 23.8, 24.2, 24.0, 24.4, 23.9, 24.1},
		rss:    []float64{768.0, 768.4, 768.9, 769.0, 769.0, 769.1, 769.1, 769.1},
		jitter: []float64{6.0, 6.2, 5.9, 6.1, 6.3, 6.0, 6.2, 6.1}},
}

// Targets are the fixture's target expressions with their case selectors.
var Targets = []struct{ Expr, Case string }{
	{"ttft_ms.p95 < 300ms", "p128-*"},
	{"ttft_ms.p95 < 0.5s", "p512-*"},
	{"decode_tps.mean >= 20tok/s", ""},
	{"ttft_ms.cv < 20%", ""},
	{"jitter.itl_cv.p50 < 10%", ""},
	{"gpu_mem_mb.max < 1GiB", ""},
}

// Phase2 returns the current result: pipeline "phase2-latency", started
// 2026-01-28T17:24:26Z, invalid (one run's E2E < TTFT), with targets judged.
func Phase2() *result.Result {
	r := build("2026-01-28T17:24:26Z", phase2Cases)
	for _, t := range Targets {
		tg, err := target.Parse(t.Expr)
		if err != nil {
			panic(err)
		}
		tg.Case = t.Case
		r.Targets = append(r.Targets, target.Evaluate(tg, r)...)
	}
	r.Targets = append(r.Targets, result.Verdict{Target: "itl jitter below 8 % in every case", Metric: JitterMetric.ID,
		Statistic: "max", Op: "<", Threshold: 8, Observed: 9.8, Unit: "%", Pass: false,
		Message: "p512-n128-b1 peaks at 9.8 %", Source: "jitter"})
	return r
}

// Baseline returns an earlier result of the same pipeline (started a week
// before): p128 TTFT 10 % slower and decode 5 % slower than Phase2's, p512
// identical in distribution (runs in another order, no broken run), and no
// p768 case.
func Baseline() *result.Result {
	old := make([]caseData, 2)
	copy(old, phase2Cases[:2])
	old[0].ttft = scale(old[0].ttft, 1.10)
	old[0].decode = scale(old[0].decode, 0.95)
	p512 := old[1]
	p512.broken = nil
	p512.ttft = []float64{239.1, 242.3, 655.1, 240.8, 239.7, 702.5, 241.0, 238.4}
	p512.decode = []float64{28.6, 28.3, 28.0, 28.7, 28.5, 27.9, 28.4, 28.6}
	old[1] = p512
	r := build("2026-01-21T09:00:00Z", old)
	r.Env.LoadBefore, r.Env.LoadDuring, r.Env.ForeignCPU = 0.05, 0.3, 0.02
	return r
}

func scale(xs []float64, f float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * f
	}
	return out
}

func build(started string, cases []caseData) *result.Result {
	r := &result.Result{
		Schema: result.Schema,
		Pipeline: result.PipelineInfo{
			Name:        "phase2-latency",
			Description: "the seed's phase 2: three prompt/output lengths (768→256 replaces 1024→256, which overflows GPT-2's 1024 positions)",
			File:        "pipelines/phase2-latency.toml",
			SHA256:      "9f2c1e0b7a4d5c3e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
			Settings: map[string]any{"warmup_runs": 1, "runs": 8, "percentiles": []float64{50, 90, 95, 99},
				"outlier_z": 10, "graph_style": "optimum", "intra_op_threads": 2, "device": "cpu"},
		},
		StartedAt:  started,
		FinishedAt: started[:len(started)-3] + "58Z",
		WallNS:     92_400_000_000,
		Env: result.Env{Hostname: "bench-1", OS: "linux/amd64", Kernel: "6.1.0-18-amd64", CPUModel: "AMD EPYC 7B13",
			Cores: 2, GoVersion: "go1.26.8", ORTVersion: "onnxruntime 1.29.0", PipeVersion: "test",
			Governor: "performance", MemTotal: 8 << 30, LoadBefore: 0.12, LoadDuring: 1.35, ForeignCPU: 0.31},
		Model: gen.Info{Model: "gpt2", ModelHash: "3b1f8e2d4c6a9b0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80",
			ModelBytes: 653_000_000, Parameters: 124_439_808, GraphStyle: "optimum", Layers: 12, Heads: 12, KVHeads: 12,
			HeadDim: 64, Vocab: 50257, MaxPositions: 1024, EOS: 50256, Device: "cpu", Runtime: "onnxruntime 1.29.0",
			RuntimePath: ".cache/onnxruntime/1.29.0/libonnxruntime.so.1", LoadNS: 1_840_000_000,
			LoadRSSDelta: 640 << 20, LoadPeakRSS: 690 << 20, Threads: gen.Threads{IntraOp: 2, InterOp: 1}},
		Valid:   true,
		Plugins: []result.PluginInfo{{Name: "jitter", File: ".cache/plugins/jitter.wasm", SHA256: "5e1d0c2b", Kinds: []string{"metric", "target"}}},
	}
	for _, d := range metric.Builtin {
		switch d.ID {
		case metric.TTFT, metric.TPOT, metric.ITL, metric.E2E, metric.DecodeTPS, metric.PrefillTPS, metric.OutputTPS, metric.PeakRSS:
			r.Metrics = append(r.Metrics, d)
		}
	}
	r.Metrics = append(r.Metrics, JitterMetric)
	for _, cd := range cases {
		c := result.Case{ID: cd.id, Valid: true, ForeignCPU: cd.foreign, WallNS: 30_000_000_000,
			Params: result.CaseParams{PromptTokens: cd.prompt, NewTokens: cd.tokens, Batch: 1, Streams: 1, Threads: 2}}
		for i := range cd.ttft {
			tpot := 1000 / cd.decode[i]
			e2e := cd.ttft[i] + float64(cd.tokens-1)*tpot
			run := result.Run{Index: i, Valid: true, Values: map[string]float64{
				metric.TTFT: cd.ttft[i], metric.TPOT: tpot, metric.ITL: tpot, metric.E2E: e2e,
				metric.DecodeTPS: cd.decode[i], metric.PrefillTPS: float64(cd.prompt) / cd.ttft[i] * 1000,
				metric.OutputTPS: float64(cd.tokens) / e2e * 1000, metric.PeakRSS: cd.rss[i], JitterMetric.ID: cd.jitter[i],
			}}
			if bad, ok := cd.broken[i]; ok {
				run.Values[metric.E2E] = bad
				run.Valid = false
				run.Problems = []string{fmt.Sprintf("E2E ≥ TTFT broken: e2e_ms %.1f < ttft_ms %.1f", bad, cd.ttft[i])}
				c.Valid = false
				c.Problems = append(c.Problems, fmt.Sprintf("run %d: %s", i+1, run.Problems[0]))
				r.Valid = false
				r.Problems = append(r.Problems, fmt.Sprintf("%s: run %d: %s", cd.id, i+1, run.Problems[0]))
			}
			c.Runs = append(c.Runs, run)
		}
		c.Stats = map[string]stats.Summary{}
		for _, d := range r.Metrics {
			s := stats.Summarize(c.RunValues(d.ID))
			c.Stats[d.ID] = s
			if s.Outliers > 0 {
				c.Warnings = append(c.Warnings, stats.OutlierWarning(d.ID, s, 0, sysinfo.Interference(c.ForeignCPU, c.StealCPU)))
			}
		}
		r.Cases = append(r.Cases, c)
	}
	return r
}
