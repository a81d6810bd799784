package roofline

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"runtime"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/sysinfo"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
	"github.com/pipe-bench/pipe/sdk/schema"
)

// BenchOptions configures Bench.
type BenchOptions struct {
	Model        *model.Model
	Engine       ortgen.Options // pipe's generator; the bare loop copies threads and spinning
	PromptTokens []int          // default 128, 512, 768
	NewTokens    int            // default 32
	Reps         int            // timed runs per engine and prompt (after one warm-up), default 3
	// CompareSpinning adds pipe's generator with the opposite spinning setting.
	CompareSpinning bool
	// CompareShareBuffer adds pipe's generator with the shared past/present
	// cache off ("pipe concat"), for a model that has one.
	CompareShareBuffer bool
	// NoBare leaves the bare loop out (pipe's figures alone, as for a
	// matrix of models where the yardstick would double the time).
	NoBare bool
	Triad  TriadOptions
	// ProfileDir, when set, profiles pipe's generator at each prompt length
	// after the timed runs (Profile), writing the runtime's JSON there.
	ProfileDir string
	// Peers are other engines timed beside pipe's, interleaved rep by rep
	// (their owner closes them).
	Peers []Peer
	// Progress, when set, is called before each run.
	Progress func(format string, args ...any)
}

// Figures is what Bench measured.
type Figures struct {
	Env        result.Env `json:"env"`
	Model      gen.Info   `json:"model"`
	Triad      Triad      `json:"triad"`
	WeightRead int64      `json:"weight_bytes_per_token"` // bytes of weights read to decode one token
	// RooflineTPS is the triad's best bandwidth over WeightRead.
	RooflineTPS float64 `json:"roofline_tps"`
	NewTokens   int     `json:"new_tokens"`
	Reps        int     `json:"reps"`
	Rows        []Row   `json:"rows"`
	// ForeignCPU is the mean CPU use of other processes while measuring, in
	// cores: figures taken beside someone else's build are not quiet-machine figures.
	ForeignCPU float64 `json:"foreign_cpu_cores"`
	LoadMean   float64 `json:"load_mean"`
	// BareSession is where the bare loop ran (see RunPathFigures).
	BareSession string `json:"bare_session,omitempty"`
	// Flatness is, per engine, decode at the last prompt length over decode
	// at the first, paired rep by rep (median).
	Flatness []Flatness `json:"flatness,omitempty"`
	// Profiles are ONNX Runtime's profiles per prompt (BenchOptions.ProfileDir).
	Profiles []Profile `json:"profiles,omitempty"`
	// Peers is each peer's Info, in BenchOptions.Peers' order.
	Peers []any `json:"peers,omitempty"`
}

// Flatness is how far decode falls from the shortest prompt to the longest:
// the median over reps of decode(LongTokens) / decode(ShortTokens), both
// measured in the same rep (issue 12: ≥ 0.92 from 128 to 768).
type Flatness struct {
	Engine string `json:"engine"`
	// Precision tells apart the rows of one engine at several precisions
	// (a peer's f32, f16, q8_0).
	Precision   string  `json:"precision"`
	ShortTokens int     `json:"short_prompt_tokens"`
	LongTokens  int     `json:"long_prompt_tokens"`
	Ratio       float64 `json:"decode_ratio"`
}

// Row is one engine at one prompt length (medians over the reps).
type Row struct {
	Engine       string `json:"engine"` // "pipe", "pipe concat", "bare", each maybe + " spinning"
	Spinning     bool   `json:"spinning"`
	PromptTokens int    `json:"prompt_tokens"`
	// Precision is the model's weight precision (fp32, fp16, int8, int4).
	Precision string    `json:"precision"`
	TTFTms    float64   `json:"ttft_ms"`
	DecodeTPS float64   `json:"decode_tps"`
	DecodeAll []float64 `json:"decode_tps_runs"`
	// OutsideRunPct is pipe's time outside the runtime's Run call, % of E2E.
	OutsideRunPct float64 `json:"outside_run_pct,omitempty"`
	// KVRooflineTPS is the roofline counting the KV cache read at the mean
	// context length of the decode steps too.
	KVRooflineTPS float64 `json:"kv_roofline_tps"`
	// OfRoofline is DecodeTPS / the weights-only roofline.
	OfRoofline float64 `json:"of_roofline"`
}

// WeightBytesPerToken is what decoding one token reads of m's weights, as
// stored (an int4 model's packed weights and scales, not float32 ones):
// model.Load's figure from the graph's initializers.
func WeightBytesPerToken(m *model.Model) int64 { return m.WeightBytesPerToken }

// KVBytesPerToken is what one decode step reads from m's KV cache at a
// context of ctx positions, in the cache's element type.
func KVBytesPerToken(m *model.Model, ctx int) int64 {
	c := m.Config
	size := int64(schema.ElemBytes(m.KVType))
	return size * 2 * int64(c.Layers) * int64(ctx) * int64(c.KVHeads) * int64(c.HeadDim)
}

// bareMisfit says why the bare loop (float32, optimum names, concat
// cache, left padding) cannot run m, or "".
func bareMisfit(m *model.Model) string {
	switch {
	case m.KVType != "float32" || m.LogitsType != "float32":
		return fmt.Sprintf("its cache is %s and its logits %s", m.KVType, m.LogitsType)
	case m.Ops["GroupQueryAttention"] > 0 && !m.ShareBuffer:
		return "it uses GroupQueryAttention without a shared cache"
	case m.IO.LogitsToKeep != "" || m.IO.CachePosition != "":
		return "it takes logits_to_keep or cache_position"
	case m.IO.InputIDs != model.InputIDs || m.IO.AttentionMask != model.AttentionMask || m.IO.Logits != model.Logits ||
		m.IO.PastKey[0] != model.PastKey(0) || m.IO.PresentKey[0] != model.PresentKey(0):
		return "its inputs and outputs are not optimum's names"
	}
	return ""
}

// bareModelOf is what the bare loop needs of m.
func bareModelOf(m *model.Model) BareModel {
	return BareModel{Path: m.Path, Layers: m.Config.Layers, KVHeads: m.Config.KVHeads, HeadDim: m.Config.HeadDim,
		Vocab: m.Config.Vocab, PositionIDs: m.HasPositionIDs, SharedKV: m.ShareBuffer, LastLogits: m.LogitsLastOnly}
}

// WithDefaults is o with its unset sizes filled as Bench fills them:
// prompts 128, 512 and 768, 32 new tokens, 3 reps.
func (o BenchOptions) WithDefaults() BenchOptions {
	if len(o.PromptTokens) == 0 {
		o.PromptTokens = []int{128, 512, 768}
	}
	if o.NewTokens == 0 {
		o.NewTokens = 32
	}
	if o.Reps == 0 {
		o.Reps = 3
	}
	return o
}

// Bench measures, side by side, pipe's generator and the bare loop on one
// model at several prompt lengths, and the machine's triad bandwidth.
func Bench(ctx context.Context, o BenchOptions) (Figures, error) {
	if o.Model == nil {
		return Figures{}, fmt.Errorf("bench: no model")
	}
	o = o.WithDefaults()
	if o.NewTokens < 2 || o.Reps < 1 {
		return Figures{}, fmt.Errorf("bench: new tokens %d, reps %d: need ≥ 2 tokens (decode speed needs two) and ≥ 1 rep", o.NewTokens, o.Reps)
	}
	for _, p := range o.PromptTokens {
		if mp := o.Model.Config.MaxPositions; p < 1 || (mp > 0 && p+o.NewTokens > mp) {
			return Figures{}, fmt.Errorf("bench: prompt %d + %d new tokens exceeds the model's %d positions: use shorter prompts", p, o.NewTokens, mp)
		}
	}
	say := o.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	m := o.Model
	f := Figures{Env: sysinfo.Collect(), NewTokens: o.NewTokens, Reps: o.Reps, WeightRead: WeightBytesPerToken(m)}

	say("triad: %d goroutines", cmp.Or(o.Triad.Threads, runtime.NumCPU())) // 0: one per CPU, as MeasureTriad runs it
	tri, err := MeasureTriad(o.Triad)
	if err != nil {
		return f, err
	}
	f.Triad = tri
	f.RooflineTPS = TokensPerSecond(tri.BestGBps*1e9, f.WeightRead)

	type engine struct {
		name string
		spin bool
		pipe *ortgen.Generator
		bare *BareLoop
		peer Peer
	}
	var engines []*engine
	defer func() {
		for _, e := range engines {
			if e.pipe != nil {
				e.pipe.Close()
			}
			if e.bare != nil {
				e.bare.Close()
			}
		}
	}()
	spins := []bool{o.Engine.Spinning}
	if o.CompareSpinning {
		spins = append(spins, !o.Engine.Spinning)
	}
	for _, spin := range spins {
		suffix := ""
		if spin {
			suffix = " spinning"
		}
		eo := o.Engine
		eo.Spinning = spin
		say("open pipe%s", suffix)
		g, err := ortgen.Open(m, eo)
		if err != nil {
			return f, err
		}
		engines = append(engines, &engine{name: "pipe" + suffix, spin: spin, pipe: g})
		f.Model = g.Info()
		if o.CompareShareBuffer {
			if !g.Info().KVShareBuffer {
				return f, fmt.Errorf("bench: --compare-share-buffer needs a model whose cache is one shared past/present buffer (genai_config.json search.past_present_share_buffer), and %s has none", m.Name)
			}
			co := eo
			co.SessionConfig = maps.Clone(eo.SessionConfig)
			if co.SessionConfig == nil {
				co.SessionConfig = map[string]string{}
			}
			co.SessionConfig[ortgen.ShareBufferKey] = "0"
			say("open pipe concat%s", suffix)
			gc, err := ortgen.Open(m, co)
			if err != nil {
				return f, err
			}
			engines = append(engines, &engine{name: "pipe concat" + suffix, spin: spin, pipe: gc})
		}
		if o.NoBare {
			continue
		}
		if why := bareMisfit(m); why != "" {
			say("no bare loop: it runs float32 optimum-style graphs, and %s", why)
			continue
		}
		say("open bare%s", suffix)
		b, session, err := openBare(m, g, BareOptions{IntraOpThreads: eo.IntraOpThreads, Spinning: spin})
		f.BareSession = session
		if err != nil {
			return f, err
		}
		engines = append(engines, &engine{name: "bare" + suffix, spin: spin, bare: b})
	}

	for _, p := range o.Peers {
		engines = append(engines, &engine{name: p.Name(), spin: p.Spinning(), peer: p})
		f.Peers = append(f.Peers, p.Info())
	}

	type cell struct { // one engine at one prompt length
		ttft, outside []float64
		row           Row
	}
	cells := make([][]cell, len(o.PromptTokens))
	prompts := make([][]int64, len(o.PromptTokens))
	for pi, p := range o.PromptTokens {
		prompts[pi] = tokenize.SeededIDs(p, m.Config.Vocab, 1)
		cells[pi] = make([]cell, len(engines))
	}
	mon := sysinfo.StartMonitor()
	// Prompt lengths are interleaved as engines are, rep by rep: a ratio
	// between two lengths (Flatness) then sees the same drift in other
	// processes' load, which one block of reps per length put into it.
	for rep := -1; rep < o.Reps; rep++ { // rep −1 warms up
		for pi, p := range o.PromptTokens {
			prompt := prompts[pi]
			for i, e := range engines { // interleaved, so drift hits every engine alike
				if err := ctx.Err(); err != nil {
					return f, err
				}
				say("prompt %d, %s, run %d of %d", p, e.name, rep+2, o.Reps+1)
				var t, tps, out float64
				if e.pipe != nil {
					tr, err := e.pipe.Generate(ctx, gen.Request{Start: time.Now(), Prompts: [][]int64{prompt}, NewTokens: o.NewTokens})
					if err != nil {
						return f, err
					}
					run := measure.FromTrace(tr, measure.Expect{NewTokens: o.NewTokens, Batch: 1})
					t, tps, out = run.Values[metric.TTFT], run.Values[metric.DecodeTPS], run.Values[metric.OutsideRun]
				} else if e.peer != nil {
					var err error
					if t, tps, err = e.peer.Generate(prompt, o.NewTokens); err != nil {
						return f, err
					}
				} else {
					r, err := e.bare.Generate(prompt, o.NewTokens)
					if err != nil {
						return f, err
					}
					t, tps = float64(r.TTFT)/1e6, r.DecodeTPS
				}
				if rep < 0 {
					continue
				}
				c := &cells[pi][i]
				c.ttft = append(c.ttft, t)
				c.row.DecodeAll = append(c.row.DecodeAll, tps)
				c.outside = append(c.outside, out)
			}
		}
	}
	for pi, p := range o.PromptTokens {
		meanCtx := p + o.NewTokens/2
		kvRoof := TokensPerSecond(tri.BestGBps*1e9, f.WeightRead+KVBytesPerToken(m, meanCtx))
		for i, e := range engines {
			c := &cells[pi][i]
			r := &c.row
			r.Engine, r.Spinning, r.PromptTokens = e.name, e.spin, p
			r.TTFTms, r.DecodeTPS = stats.Percentile(c.ttft, 50), stats.Percentile(r.DecodeAll, 50)
			if e.pipe != nil {
				r.OutsideRunPct = stats.Percentile(c.outside, 50)
			}
			r.KVRooflineTPS = kvRoof
			r.OfRoofline = r.DecodeTPS / f.RooflineTPS
			r.Precision = f.Model.WeightPrecision
			if e.peer != nil {
				w := e.peer.WeightBytesPerToken()
				r.Precision = e.peer.Precision()
				r.KVRooflineTPS = TokensPerSecond(tri.BestGBps*1e9, w+e.peer.KVBytesPerToken(meanCtx))
				r.OfRoofline = r.DecodeTPS / TokensPerSecond(tri.BestGBps*1e9, w)
			}
			f.Rows = append(f.Rows, *r)
		}
	}
	if last := len(o.PromptTokens) - 1; last > 0 {
		for i, e := range engines {
			short, long := cells[0][i].row.DecodeAll, cells[last][i].row.DecodeAll
			ratios := make([]float64, len(short))
			for r := range ratios {
				ratios[r] = long[r] / short[r]
			}
			f.Flatness = append(f.Flatness, Flatness{Engine: e.name, Precision: cells[0][i].row.Precision, ShortTokens: o.PromptTokens[0], LongTokens: o.PromptTokens[last],
				Ratio: stats.Percentile(ratios, 50)})
		}
	}
	f.ForeignCPU, f.LoadMean = mon.Stop()
	if o.ProfileDir != "" {
		for _, e := range engines { // one model's sessions at a time
			if e.pipe != nil {
				e.pipe.Close()
			}
			if e.bare != nil {
				e.bare.Close()
			}
		}
		engines = nil
		f.Profiles, err = profilePrompts(ctx, m, o.Engine, o.ProfileDir, o.PromptTokens, o.NewTokens, say)
	}
	return f, err
}
