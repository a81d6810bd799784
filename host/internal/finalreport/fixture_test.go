package finalreport_test

import (
	"fmt"
	"math"

	"github.com/pipe-bench/pipe/host/internal/analysis"
	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// The fixture: the four phase results a phase 5 run merges, GPT-2 124M on a
// 2-core machine, with realistic values written out or derived from a fixed
// noise sequence (splitmix64), so the files under testdata/inputs and the
// golden reports stay stable across Go releases. Statistics come from
// host/internal/stats and the memory/throughput analyses from host/internal/analysis, as the
// engine computes them.

// noise is a deterministic stream of values in [-1, 1).
type noise struct{ state uint64 }

func (n *noise) next() float64 {
	n.state += 0x9e3779b97f4a7c15
	z := n.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11)/float64(1<<53)*2 - 1
}

// caseSpec describes one synthetic case.
type caseSpec struct {
	id                      string
	prompt, newTok          int
	batch, streams          int
	runs                    int
	ttft, decode            float64 // centres: ms, tok/s
	ttftNoise, decodeNoise  float64 // relative half-widths of the noise
	rss                     float64 // MiB after the first run
	rssGrowth               float64 // MiB per run
	foreign                 float64 // cores
	slowRuns                map[int]float64
	brokenRun               int // 1-based run whose E2E is reported below TTFT; 0: none
	stallEvery              int // every n-th token gap is a stall of 3× the gap
	outputTPS, requestsPS   float64
	tpotUnderLoad, e2eScale float64
}

var fixtureEnv = result.Env{Hostname: "bench-1", OS: "linux/amd64", Kernel: "6.1.0-18-amd64", CPUModel: "AMD EPYC 7B13",
	Cores: 2, GoVersion: "go1.26.8", ORTVersion: "onnxruntime 1.29.0", PipeVersion: "test", Governor: "performance",
	MemTotal: 8 << 30, LoadBefore: 0.08, LoadDuring: 1.9, ForeignCPU: 0.06}

var fixtureModel = gen.Info{Model: "gpt2", ModelHash: "3b1f8e2d4c6a9b0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80",
	ModelBytes: 653_000_000, Parameters: 124_439_808, GraphStyle: "optimum", Layers: 12, Heads: 12, KVHeads: 12,
	HeadDim: 64, Vocab: 50257, MaxPositions: 1024, EOS: 50256, Device: "cpu", Runtime: "onnxruntime 1.29.0",
	LoadNS: 1_840_000_000, LoadRSSDelta: 612 << 20, LoadPeakRSS: 688 << 20, Threads: gen.Threads{IntraOp: 2, InterOp: 1}}

func fixtureResult(name, started string, specs []caseSpec, seed uint64) *result.Result {
	r := &result.Result{
		Schema:    result.Schema,
		Pipeline:  result.PipelineInfo{Name: name, File: "pipelines/" + name + ".toml"},
		StartedAt: started, FinishedAt: started, WallNS: 60_000_000_000,
		Env: fixtureEnv, Model: fixtureModel, Valid: true,
	}
	for _, d := range metric.Builtin {
		switch d.ID {
		case metric.TTFT, metric.TPOT, metric.ITL, metric.E2E, metric.DecodeTPS, metric.OutputTPS, metric.PeakRSS, metric.RSSAfterRun:
			r.Metrics = append(r.Metrics, d)
		}
	}
	nz := &noise{state: seed}
	for _, s := range specs {
		c := result.Case{ID: s.id, Valid: true, ForeignCPU: s.foreign, WallNS: 20_000_000_000,
			Params: result.CaseParams{PromptTokens: s.prompt, NewTokens: s.newTok, Batch: s.batch, Streams: s.streams, Threads: 2}}
		for i := 0; i < s.runs; i++ {
			ttft := s.ttft * (1 + s.ttftNoise*nz.next())
			if f, ok := s.slowRuns[i]; ok {
				ttft *= f
			}
			decode := s.decode * (1 + s.decodeNoise*nz.next())
			gap := 1000 / decode
			itl := make([]float64, s.newTok-1)
			var sum float64
			for k := range itl {
				itl[k] = gap * (1 + 0.04*nz.next())
				if s.stallEvery > 0 && (k+1)%s.stallEvery == 0 {
					itl[k] = 3 * gap
				}
				itl[k] = math.Round(itl[k]*1000) / 1000
				sum += itl[k]
			}
			e2e := ttft + sum
			tpot := sum / float64(len(itl))
			rssAfter := s.rss + s.rssGrowth*float64(i) + 0.35*nz.next()
			run := result.Run{Index: i, Stream: i % max(s.streams, 1), Valid: true, ITLms: itl, Values: map[string]float64{
				metric.TTFT: round3(ttft), metric.E2E: round3(e2e), metric.TPOT: round3(tpot), metric.ITL: round3(tpot),
				metric.DecodeTPS: round3(1000 / tpot), metric.OutputTPS: round3(float64(s.newTok*max(s.batch, 1)) / e2e * 1000),
				metric.PeakRSS: round3(rssAfter + 14), metric.RSSAfterRun: round3(rssAfter),
			}}
			if s.brokenRun == i+1 {
				bad := round3(0.8 * ttft)
				run.Values[metric.E2E] = bad
				run.Valid = false
				run.Problems = []string{fmt.Sprintf("E2E ≥ TTFT broken: e2e_ms %.1f < ttft_ms %.1f", bad, ttft)}
			}
			c.Runs = append(c.Runs, run)
		}
		c.Stats = map[string]stats.Summary{}
		for _, d := range r.Metrics {
			var xs []float64
			for _, run := range c.Runs {
				if v, ok := run.Values[d.ID]; ok && run.Valid {
					xs = append(xs, v)
				}
			}
			c.Stats[d.ID] = stats.Summarize(xs)
		}
		for _, run := range c.Runs {
			if !run.Valid {
				c.Valid, r.Valid = false, false
				c.Problems = append(c.Problems, fmt.Sprintf("run %d: %s", run.Index+1, run.Problems[0]))
				r.Problems = append(r.Problems, fmt.Sprintf("%s: run %d: %s", c.ID, run.Index+1, run.Problems[0]))
			}
		}
		if s.outputTPS > 0 {
			c.Values = map[string]float64{"throughput.output_tps": s.outputTPS, "throughput.requests_ps": s.requestsPS}
		}
		r.Cases = append(r.Cases, c)
	}
	return r
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func judge(r *result.Result, exprs ...[2]string) {
	for _, e := range exprs {
		t, err := target.Parse(e[0])
		if err != nil {
			panic(err)
		}
		t.Case = e[1]
		r.Targets = append(r.Targets, target.Evaluate(t, r)...)
	}
}

// fixturePhases returns the four phase results, by pipeline name.
func fixturePhases() map[string]*result.Result {
	quick := fixtureResult("phase1-quick", "2026-01-28T17:10:02Z", []caseSpec{
		{id: "p30-n50-b1", prompt: 30, newTok: 50, batch: 1, streams: 1, runs: 5, ttft: 19.6, decode: 34.1,
			ttftNoise: 0.05, decodeNoise: 0.02, rss: 702, foreign: 0.05},
	}, 1)
	judge(quick, [2]string{"ttft_ms.p95 < 2500ms", ""}, [2]string{"decode_tps.mean > 20tok/s", ""})

	latency := fixtureResult("phase2-latency", "2026-01-28T17:24:26Z", []caseSpec{
		{id: "p128-n64-b1", prompt: 128, newTok: 64, batch: 1, streams: 1, runs: 10, ttft: 61.8, decode: 30.5,
			ttftNoise: 0.04, decodeNoise: 0.015, rss: 704, foreign: 0.04, stallEvery: 0},
		{id: "p512-n128-b1", prompt: 512, newTok: 128, batch: 1, streams: 1, runs: 10, ttft: 240.0, decode: 28.4,
			ttftNoise: 0.03, decodeNoise: 0.02, rss: 733, foreign: 0.82, slowRuns: map[int]float64{2: 2.9, 5: 2.7}, stallEvery: 23},
		{id: "p768-n256-b1", prompt: 768, newTok: 256, batch: 1, streams: 1, runs: 10, ttft: 391.0, decode: 24.1,
			ttftNoise: 0.02, decodeNoise: 0.02, rss: 769, foreign: 0.07, brokenRun: 7},
	}, 2)
	judge(latency, [2]string{"ttft_ms.p95 < 2500ms", "p128-*"}, [2]string{"ttft_ms.p95 < 500ms", "p512-*"},
		[2]string{"decode_tps.mean >= 20tok/s", ""}, [2]string{"ttft_ms.cv < 20%", ""})

	memory := fixtureResult("phase3-memory", "2026-01-28T17:40:11Z", []caseSpec{
		{id: "p128-n64-b1", prompt: 128, newTok: 64, batch: 1, streams: 1, runs: 100, ttft: 62.3, decode: 30.3,
			ttftNoise: 0.04, decodeNoise: 0.015, rss: 706, rssGrowth: 0.0004, foreign: 0.05},
	}, 3)
	memory.Memory = &result.Memory{LoadRSSDelta: 612 << 20, LoadPeakRSS: 688 << 20,
		SessionOptions: map[string]string{"arena_extend_strategy": "kNextPowerOfTwo", "cpu_mem_arena": "on"}}
	lk, err := analysis.LeakOf(&memory.Cases[0], 64<<10, 5)
	if err != nil {
		panic(err)
	}
	memory.Memory.Leak = []result.Leak{lk}
	judge(memory, [2]string{"peak_rss_mib.max < 1GiB", ""})

	tp := []caseSpec{
		{id: "b1-s1", batch: 1, streams: 1, outputTPS: 30.2, requestsPS: 0.47, e2eScale: 1},
		{id: "b2-s1", batch: 2, streams: 1, outputTPS: 52.8, requestsPS: 0.83, e2eScale: 1.14},
		{id: "b4-s1", batch: 4, streams: 1, outputTPS: 81.0, requestsPS: 1.27, e2eScale: 1.49},
		{id: "b8-s1", batch: 8, streams: 1, outputTPS: 86.4, requestsPS: 1.35, e2eScale: 2.8},
		{id: "b8-s2", batch: 8, streams: 2, outputTPS: 88.1, requestsPS: 1.38, e2eScale: 5.6},
	}
	for i := range tp {
		s := &tp[i]
		s.prompt, s.newTok, s.runs = 128, 64, 6
		s.ttft = 61.8 * s.e2eScale
		s.decode = 30.5 / s.e2eScale
		s.ttftNoise, s.decodeNoise, s.rss, s.foreign = 0.05, 0.03, 710+12*float64(s.batch), 0.05
	}
	throughput := fixtureResult("phase4-throughput", "2026-01-28T17:55:40Z", tp, 4)
	throughput.Throughput = analysis.ThroughputOf(throughput.Cases, analysis.DefaultSaturationGain, 2, 1)
	judge(throughput, [2]string{"throughput.output_tps.max >= 60tok/s", "b4-*"})
	return map[string]*result.Result{"phase1-quick": quick, "phase2-latency": latency, "phase3-memory": memory, "phase4-throughput": throughput}
}
