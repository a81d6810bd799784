package model_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// fp16Tol is how far an fp16 build's logits may be from the fp32 build's
// on the same weights, relative to the logits' scale: |Δ| ≤ fp16Tol ·
// max(1, max |logit|). float16 keeps 11 significant bits, so rounding moves
// a value by up to u = 2⁻¹¹ of itself. A dot product of n terms (each
// rounded once) errs by about n·u of Σ|aᵢbᵢ|, and with random signs that
// sum is ≈ √n times the result, the error ≈ n·u·√n/√n … n·u of the result:
// for the widest product of these models (the MLP's 64 inputs) 64·u ≈
// 0.031. Softmax and the norms run in float32 inside ORT's kernels and add
// no more. The largest gap seen across the styles and families below is
// logged (go test -v); it was 0.019.
const fp16Tol = 64.0 / 2048

// ortLib is the ONNX Runtime library's path, looked up (and loaded) on
// the first call only: a test may move PIPE_CACHE afterwards.
func ortLib(t *testing.T) string {
	t.Helper()
	if ortPath == "" {
		rt, err := ortgen.Init("")
		if err != nil {
			t.Fatal(err)
		}
		ortPath = rt.Path
	}
	return ortPath
}

var ortPath string

// openGen opens pipe's generator (one thread) on the model in dir.
func openGen(t *testing.T, dir string) (*ortgen.Generator, *model.Model) {
	t.Helper()
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ortgen.Open(m, ortgen.Options{LibPath: ortLib(t), IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, m
}

// scoreRows is Score's logits, copied: row i predicts continuation[i].
func scoreRows(t *testing.T, g *ortgen.Generator, prompt, continuation []int64) [][]float32 {
	t.Helper()
	var rows [][]float32
	if err := g.Score(context.Background(), prompt, continuation, func(_ int, l []float32) error {
		rows = append(rows, slices.Clone(l))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

// recompute is each row's logits computed from scratch: one prefill over
// prompt + continuation[:i] per row, no cache carried between them.
func recompute(t *testing.T, g *ortgen.Generator, prompt, continuation []int64) [][]float32 {
	t.Helper()
	var rows [][]float32
	for i := range continuation {
		seq := append(slices.Clone(prompt), continuation[:i]...)
		rows = append(rows, scoreRows(t, g, seq, continuation[i:i+1])[0])
	}
	return rows
}

func greedy(t *testing.T, g *ortgen.Generator, prompts [][]int64, n int) [][]int64 {
	t.Helper()
	tr, err := g.Generate(context.Background(), gen.Request{Prompts: prompts, NewTokens: n})
	if err != nil {
		t.Fatal(err)
	}
	return tr.OutputIDs
}

func argmax(v []float32) int64 {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return int64(best)
}

// lead is v's top-1 logit minus its runner-up.
func lead(v []float32) float64 {
	top, second := math.Inf(-1), math.Inf(-1)
	for _, x := range v {
		if f := float64(x); f > top {
			top, second = f, top
		} else if f > second {
			second = f
		}
	}
	return top - second
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// relDiff is max |a − b| over max(1, max |b|).
func relDiff(a, b []float32) float64 {
	var d, scale float64 = 0, 1
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		scale = max(scale, math.Abs(float64(b[i])))
	}
	return d / scale
}

// TestFP16MatchesFP32: GPT-2 in every style and every Llama family in
// the optimum and gqa styles, built in fp16 (float16 weights, activations,
// KV cache and logits), run on the CPU through pipe's generator: see
// checkFP16, with the greedy ids compared for at least half the tokens of
// each case.
func TestFP16MatchesFP32(t *testing.T) {
	type tc struct{ family, style string }
	var cases []tc
	for _, s := range model.Styles {
		cases = append(cases, tc{"gpt2", s})
	}
	for _, f := range model.LlamaFamilies {
		cases = append(cases, tc{f, model.StyleOptimum}, tc{f, model.StyleGQA})
	}
	var st fp16Stats
	for _, c := range cases {
		t.Run(c.family+"/"+c.style, func(t *testing.T) {
			var one fp16Stats
			checkFP16(t, model.WriteTestModel(t, c.family, c.style, model.PrecisionFP32),
				model.WriteTestModel(t, c.family, c.style, model.PrecisionFP16), &one)
			one.enough(t)
			st.worst, st.compared, st.tokens = max(st.worst, one.worst), st.compared+one.compared, st.tokens+one.tokens
		})
	}
	t.Logf("largest fp16 − fp32 logit gap: %.3g of the logits' scale (tolerance %g); %d greedy ids compared", st.worst, fp16Tol, st.compared)
}

// TestFP16Checkpoints: each torch-written checkpoint under testdata/llama
// (F32, F16 and BF16 safetensors, one file or sharded) built at fp16
// through ResolveWith, as `pipe generate --model DIR --precision fp16`
// does, against its fp32 build: as checkFP16, with the greedy ids compared
// for half the tokens across the fixtures. The fixtures' head_dim is 8,
// below GroupQueryAttention's 16, so they build in the optimum style.
func TestFP16Checkpoints(t *testing.T) {
	ortLib(t) // before PIPE_CACHE moves the cache that holds the library
	t.Setenv("PIPE_CACHE", t.TempDir())
	dirs, _ := filepath.Glob("testdata/llama/*")
	if len(dirs) < len(model.LlamaFamilies) {
		t.Fatalf("%d fixtures under testdata/llama, want one per family", len(dirs))
	}
	var st fp16Stats
	for _, src := range dirs {
		t.Run(filepath.Base(src), func(t *testing.T) {
			build := func(p string) string {
				dir, err := model.ResolveWith(src, model.BuildOptions{Style: model.StyleOptimum, Precision: p})
				if err != nil {
					t.Fatal(err)
				}
				return dir
			}
			checkFP16(t, build(model.PrecisionFP32), build(model.PrecisionFP16), &st)
		})
	}
	st.enough(t) // across the fixtures: llama-f32's leads are thin
	t.Logf("largest fp16 − fp32 logit gap: %.3g of the logits' scale; %d greedy ids compared", st.worst, st.compared)
}

// fp16Stats gathers checkFP16's figures across cases.
type fp16Stats struct {
	worst            float64
	compared, tokens int // greedy ids compared, of all generated
}

// enough fails t unless greedy ids were compared for at least half the
// tokens: else fp32's leads were mostly within float16's error and the
// comparison proved too little.
func (st fp16Stats) enough(t *testing.T) {
	t.Helper()
	if 2*st.compared < st.tokens {
		t.Errorf("greedy ids compared for %d of %d tokens only: fp32's leads are within twice the fp16 gap, the comparison proves too little", st.compared, st.tokens)
	}
}

// checkFP16 compares the fp16 build in dir16 with the fp32 build of the
// same weights in dir32: the fp16 model loads with a float16 cache and
// float16 logits; each step's logits equal fp32's within fp16Tol; greedy
// decoding with the KV cache gives fp32's ids wherever fp32's choice is
// clear of float16's error (counted in st); the fp16 build's cached decode equals its own
// full recompute; and a left-padded batch of two prompts gives each row's
// ids alone.
func checkFP16(t *testing.T, dir32, dir16 string, st *fp16Stats) {
	t.Helper()
	g32, _ := openGen(t, dir32)
	g16, m16 := openGen(t, dir16)
	if m16.Precision != model.PrecisionFP16 || m16.KVType != "float16" || m16.LogitsType != "float16" {
		t.Fatalf("fp16 build loads as precision %s, cache %s, logits %s; want fp16, float16, float16", m16.Precision, m16.KVType, m16.LogitsType)
	}
	prompts := [][]int64{{17, 30, 4, 9, 25, 1, 42, 8, 77}, {5, 6, 40}}
	const n = 8
	compared := 0
	for _, p := range prompts {
		ids32 := greedy(t, g32, [][]int64{p}, n)[0]
		ids16 := greedy(t, g16, [][]int64{p}, n)[0]
		full32 := recompute(t, g32, p, ids32)
		full16 := recompute(t, g16, p, ids32)
		for i := range ids32 {
			d := relDiff(full16[i], full32[i])
			st.worst = max(st.worst, d)
			if d > fp16Tol {
				t.Errorf("prompt %v, token %d: fp16 logits differ from fp32 by %.3g of their scale > %g", p, i, d, fp16Tol)
			}
		}
		// Greedy ids agree while fp32's choice leads its runner-up by more
		// than twice the step's largest fp16 − fp32 gap (then no logit can
		// overtake it); past the first thinner lead they may part.
		same := 0
		for same < n && lead(full32[same]) > 2*maxAbsDiff(full16[same], full32[same]) {
			if ids16[same] != ids32[same] {
				t.Errorf("prompt %v, token %d: fp16 greedy id %d, fp32 %d", p, same, ids16[same], ids32[same])
				break
			}
			same++
		}
		compared += same
		// The fp16 build's own cached decode against its recompute, on its
		// own greedy ids: the same logits, argmax the id.
		cached16 := scoreRows(t, g16, p, ids16)
		self16 := recompute(t, g16, p, ids16)
		for i := range ids16 {
			if d := relDiff(cached16[i], self16[i]); d > fp16Tol {
				t.Errorf("prompt %v, token %d: fp16 cached decode differs from recompute by %.3g of the scale > %g", p, i, d, fp16Tol)
			}
			if got := argmax(self16[i]); got != ids16[i] && lead(self16[i]) > 2*maxAbsDiff(cached16[i], self16[i]) {
				t.Errorf("prompt %v, token %d: cached greedy id %d, recompute's argmax %d", p, i, ids16[i], got)
			}
		}
	}
	st.compared += compared
	st.tokens += n * len(prompts)
	alone := [][]int64{greedy(t, g16, prompts[:1], n)[0], greedy(t, g16, prompts[1:], n)[0]}
	if batch := greedy(t, g16, prompts, n); !slices.EqualFunc(batch, alone, slices.Equal) {
		t.Errorf("left-padded batch: ids %v, each row alone %v", batch, alone)
	}
}
