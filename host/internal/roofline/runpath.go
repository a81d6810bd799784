package roofline

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/sysinfo"
)

// The three ways RunPath decodes one case.
const (
	// EngineRunPath is `pipe run`'s path: host/internal/engine with everything it
	// does around a run (the RSS sampler, the collection and RSS read after
	// it, the journal line), one single-run case per call.
	EngineRunPath = "pipe run"
	// EngineGenerator is pipe's generator called directly, as `pipe bench`
	// does.
	EngineGenerator = "generator"
	// EngineBare is the bare ONNX Runtime loop.
	EngineBare = "bare"
)

// RunPathOptions configures RunPath.
type RunPathOptions struct {
	Model        *model.Model
	Engine       ortgen.Options // the bare loop copies threads and spinning
	PromptTokens int            // default 128
	NewTokens    int            // default 64
	Reps         int            // timed runs per engine after one warm-up each, default 9
	// Dir receives the run path's journal (samples.jsonl); the caller
	// removes it.
	Dir string
	// Progress, when set, is called before each run.
	Progress func(format string, args ...any)
}

// RunPathFigures is what RunPath measured.
type RunPathFigures struct {
	Env          result.Env   `json:"env"`
	Model        gen.Info     `json:"model"`
	PromptTokens int          `json:"prompt_tokens"`
	NewTokens    int          `json:"new_tokens"`
	Reps         int          `json:"reps"`
	Rows         []RunPathRow `json:"rows"`
	// DecodeRatio and TTFTRatio are the run path's medians over the bare
	// loop's; the Paired ones are the medians of the per-round ratios (the
	// two ran back to back in each round, so drift cancels).
	DecodeRatio       float64 `json:"decode_ratio"`
	TTFTRatio         float64 `json:"ttft_ratio"`
	PairedDecodeRatio float64 `json:"paired_decode_ratio"`
	PairedTTFTRatio   float64 `json:"paired_ttft_ratio"`
	// BareSession is where the bare loop ran: on the generator's own
	// session whenever its names allow, so that the ratios compare code
	// on the same weights in the same memory (BareOnGeneratorsSession).
	BareSession string `json:"bare_session"`
	// ForeignCPU is other processes' mean CPU use over the whole window, in
	// cores, and LoadMean the mean 1-minute load average.
	ForeignCPU float64 `json:"foreign_cpu_cores"`
	LoadMean   float64 `json:"load_mean"`
}

// RunPathRow is one engine's runs and their medians.
type RunPathRow struct {
	Engine    string    `json:"engine"`
	TTFTms    float64   `json:"ttft_ms"`
	DecodeTPS float64   `json:"decode_tps"`
	TTFTAll   []float64 `json:"ttft_ms_runs"`
	DecodeAll []float64 `json:"decode_tps_runs"`
	// ForeignCPU is the median over this engine's timed runs of other
	// processes' mean CPU use during the run, in cores.
	ForeignCPU float64 `json:"foreign_cpu_cores"`
	// VoluntarySwitches and MinorFaults are this process's (all threads')
	// medians per call, the call's work outside the timed window included:
	// counts of what the harness itself wakes and touches, which other
	// processes' load hardly moves, unlike the timings.
	VoluntarySwitches float64 `json:"voluntary_switches"`
	MinorFaults       float64 `json:"minor_faults"`
	foreign           []float64
	switches, faults  []float64
}

// RunPath decodes one case through `pipe run`'s path, pipe's generator alone
// and the bare loop, interleaved: each round runs the three back to back,
// starting one engine later each round so none always follows another, and
// load that comes and goes hits all three alike. It answers whether the
// harness moves what it measures: the run path must decode as fast as the
// bare loop.
func RunPath(ctx context.Context, o RunPathOptions) (RunPathFigures, error) {
	if o.Model == nil {
		return RunPathFigures{}, fmt.Errorf("bench run path: no model")
	}
	if o.Dir == "" {
		return RunPathFigures{}, fmt.Errorf("bench run path: no directory for the journal")
	}
	if o.PromptTokens == 0 {
		o.PromptTokens = 128
	}
	if o.NewTokens == 0 {
		o.NewTokens = 64
	}
	if o.Reps == 0 {
		o.Reps = 9
	}
	m := o.Model
	if o.NewTokens < 2 || o.Reps < 1 || o.PromptTokens < 1 {
		return RunPathFigures{}, fmt.Errorf("bench run path: prompt %d, new tokens %d, reps %d: need a prompt, ≥ 2 tokens (decode speed needs two) and ≥ 1 rep", o.PromptTokens, o.NewTokens, o.Reps)
	}
	if mp := m.Config.MaxPositions; mp > 0 && o.PromptTokens+o.NewTokens > mp {
		return RunPathFigures{}, fmt.Errorf("bench run path: prompt %d + %d new tokens exceeds the model's %d positions: use a shorter case", o.PromptTokens, o.NewTokens, mp)
	}
	say := o.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	f := RunPathFigures{Env: sysinfo.Collect(), PromptTokens: o.PromptTokens, NewTokens: o.NewTokens, Reps: o.Reps}
	if why := bareMisfit(m); why != "" {
		return f, fmt.Errorf("bench --run-path: the bare loop runs float32 optimum-style graphs, and in %s %s: drop --run-path, or use such a model", m.Name, why)
	}

	say("open pipe's generator")
	g, err := ortgen.Open(m, o.Engine)
	if err != nil {
		return f, err
	}
	defer g.Close()
	f.Model = g.Info()
	say("open the bare loop")
	bare, session, err := openBare(m, g, BareOptions{IntraOpThreads: o.Engine.IntraOpThreads, Spinning: o.Engine.Spinning})
	f.BareSession = session
	if err != nil {
		return f, err
	}
	defer bare.Close()

	cs := pipeline.CaseSpec{ID: fmt.Sprintf("p%d-n%d-b1", o.PromptTokens, o.NewTokens), PromptTokens: o.PromptTokens, NewTokens: o.NewTokens, Batch: 1, Streams: 1, PromptSeed: 1}
	prompt := engine.SeededPrompt(cs, m.Config.Vocab).IDs[0] // the same ids on every path
	plan := &pipeline.Plan{Name: "bench-run-path", Cases: []pipeline.CaseSpec{cs}}
	plan.Generate.Runs = 1
	plan.Generate.RSSInterval = pipeline.DefaultRSSInterval

	// each runs one generation and returns its TTFT (ms) and decode tok/s.
	each := []struct {
		name string
		run  func() (ttft, decode float64, err error)
	}{
		{EngineRunPath, func() (float64, float64, error) {
			res, err := engine.Run(ctx, plan, g, engine.Options{Dir: o.Dir})
			if err != nil {
				return 0, 0, err
			}
			if len(res.Cases) != 1 || len(res.Cases[0].Runs) != 1 {
				return 0, 0, fmt.Errorf("bench run path: the engine returned %d cases, want one with one run", len(res.Cases))
			}
			v := res.Cases[0].Runs[0].Values
			return v[metric.TTFT], v[metric.DecodeTPS], nil
		}},
		{EngineGenerator, func() (float64, float64, error) {
			tr, err := g.Generate(ctx, gen.Request{Start: time.Now(), Prompts: [][]int64{prompt}, NewTokens: o.NewTokens})
			if err != nil {
				return 0, 0, err
			}
			v := measure.FromTrace(tr, measure.Expect{NewTokens: o.NewTokens, Batch: 1}).Values
			return v[metric.TTFT], v[metric.DecodeTPS], nil
		}},
		{EngineBare, func() (float64, float64, error) {
			r, err := bare.Generate(prompt, o.NewTokens)
			return float64(r.TTFT) / 1e6, r.DecodeTPS, err
		}},
	}
	rows := make([]RunPathRow, len(each))
	window := sysinfo.StartMonitor()
	for rep := -1; rep < o.Reps; rep++ { // rep −1 warms each engine up
		for k := range each {
			i := (k + max(rep, 0)) % len(each)
			if err := ctx.Err(); err != nil {
				return f, err
			}
			say("%s, run %d of %d", each[i].name, rep+2, o.Reps+1)
			var ru0, ru1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			mon := sysinfo.StartMonitor()
			ttft, decode, err := each[i].run()
			foreign, _ := mon.Stop()
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			if err != nil {
				return f, fmt.Errorf("bench run path: %s: %w", each[i].name, err)
			}
			if rep < 0 {
				continue
			}
			r := &rows[i]
			r.TTFTAll = append(r.TTFTAll, ttft)
			r.DecodeAll = append(r.DecodeAll, decode)
			r.foreign = append(r.foreign, foreign)
			r.switches = append(r.switches, float64(ru1.Nvcsw-ru0.Nvcsw))
			r.faults = append(r.faults, float64(ru1.Minflt-ru0.Minflt))
		}
	}
	f.ForeignCPU, f.LoadMean = window.Stop()
	for i := range rows {
		r := &rows[i]
		r.Engine = each[i].name
		r.TTFTms, r.DecodeTPS = stats.Percentile(r.TTFTAll, 50), stats.Percentile(r.DecodeAll, 50)
		r.ForeignCPU = stats.Percentile(r.foreign, 50)
		r.VoluntarySwitches, r.MinorFaults = stats.Percentile(r.switches, 50), stats.Percentile(r.faults, 50)
	}
	f.Rows = rows
	run, bareRow := rows[0], rows[2]
	f.DecodeRatio, f.TTFTRatio = run.DecodeTPS/bareRow.DecodeTPS, run.TTFTms/bareRow.TTFTms
	f.PairedDecodeRatio, f.PairedTTFTRatio = pairedRatio(run.DecodeAll, bareRow.DecodeAll), pairedRatio(run.TTFTAll, bareRow.TTFTAll)
	return f, nil
}

// pairedRatio is the median of a[i] / b[i].
func pairedRatio(a, b []float64) float64 {
	rs := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		rs = append(rs, a[i]/b[i])
	}
	return stats.Percentile(rs, 50)
}
