package model

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// BenchmarkBuildGPT2 builds GPT-2 124M from scratch (cold: no cache) into a
// file: weight generation, protobuf framing and the write of ~500 MB.
func BenchmarkBuildGPT2(b *testing.B) {
	path := filepath.Join(b.TempDir(), "model.onnx")
	b.SetBytes(GPT2().Params() * 4)
	for b.Loop() {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := Build(f, GPT2(), 1, StyleOptimum); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateWeightsGPT2 is the weight generator alone.
func BenchmarkGenerateWeightsGPT2(b *testing.B) {
	b.SetBytes(GPT2().Params() * 4)
	for b.Loop() {
		if err := writeModel(io.Discard, nil, newGraphBuilder(GPT2()).optimum(), tensorOuts(weightSpecs(GPT2()), seededWeights(1), Quant{}, nil), false); err != nil {
			b.Fatal(err)
		}
	}
}

var gpt2Dirs sync.Map // style → dir, built once per benchmark binary

// gpt2Dir builds GPT-2 124M in style once per test binary, as Builtin
// would (model.onnx, its digest file, config.json), outside the cache.
func gpt2Dir(b *testing.B, style string) string {
	if d, ok := gpt2Dirs.Load(style); ok {
		return d.(string)
	}
	dir, err := os.MkdirTemp("", "pipe-gpt2-bench-")
	if err != nil {
		b.Fatal(err)
	}
	gpt2Dirs.Store(style, dir)
	if err := writeBuiltin(dir, "gpt2", GPT2(), BuildOptions{Seed: 1, Style: style}); err != nil {
		b.Fatal(err)
	}
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	gpt2Dirs.Range(func(_, d any) bool { os.RemoveAll(d.(string)); return true })
	os.Exit(code)
}

// BenchmarkLoadGPT2 is Load on the 124M file (page cache warm): graph
// header by positioned reads, plus the SHA-256 from the digest file a
// built-in model has ("builtin") or streamed over the whole file ("hashed").
func BenchmarkLoadGPT2(b *testing.B) {
	built := gpt2Dir(b, StyleOptimum)
	bare := b.TempDir()
	if err := os.Link(filepath.Join(built, "model.onnx"), filepath.Join(bare, "model.onnx")); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, dir string }{{"builtin", built}, {"hashed", bare}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Load(tc.dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeGPT2 compares one decode step of GPT-2 124M in both
// graph styles (batch 1, ctx tokens already cached, 2 intra-op threads, no
// spinning). Steps alternate between the two sessions so that load from
// other processes hits both alike; it reports each style's median step in
// ms and fused's speed-up: the measurement behind DefaultStyle.
func BenchmarkDecodeGPT2(b *testing.B) {
	for _, ctx := range []int{128, 512} {
		b.Run(fmt.Sprintf("ctx=%d", ctx), func(b *testing.B) {
			requireORT(b)
			type styled struct {
				r     *ortRunner
				past  *stepOut
				steps []float64
			}
			var runs []*styled
			for _, style := range concatStyles {
				r := newBenchRunner(b, gpt2Dir(b, style))
				ids, mask, pos := seqInputs(testIDs(ctx, r.m.Config.Vocab))
				past := r.step(b, ids, mask, pos, nil)
				defer past.destroy()
				runs = append(runs, &styled{r: r, past: past})
			}
			ids, mask, pos := seqInputs(testIDs(ctx+1, 50257))
			ids, pos = [][]int64{{ids[0][ctx]}}, [][]int64{{pos[0][ctx]}}
			b.ResetTimer()
			for b.Loop() {
				for _, s := range runs {
					t0 := time.Now()
					s.r.step(b, ids, mask, pos, s.past.present).destroy()
					s.steps = append(s.steps, float64(time.Since(t0).Nanoseconds())/1e6)
				}
			}
			b.StopTimer()
			for i, s := range runs {
				b.ReportMetric(median(s.steps), Styles[i]+"-ms/step")
			}
			b.ReportMetric(median(runs[0].steps)/median(runs[1].steps), "fused-speedup")
		})
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// newBenchRunner is newRunner with the benchmark's session options.
func newBenchRunner(b *testing.B, dir string) *ortRunner {
	m, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer opts.Destroy()
	opts.SetIntraOpNumThreads(2)
	opts.SetInterOpNumThreads(1)
	opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0")
	outs := []string{Logits}
	for i := 0; i < m.Config.Layers; i++ {
		k, v := m.KVOutput(i)
		outs = append(outs, k, v)
	}
	sess, err := ort.NewDynamicAdvancedSession(m.Path, m.InputNames, outs, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sess.Destroy() })
	return &ortRunner{m: m, sess: sess}
}

// BenchmarkReadGraphHeaderGPT2 is Load's parse of the 124M file alone
// (positioned reads of inputs, outputs and initializer dims), without the
// hash.
func BenchmarkReadGraphHeaderGPT2(b *testing.B) {
	f, err := os.Open(filepath.Join(gpt2Dir(b, StyleOptimum), "model.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	for b.Loop() {
		if _, err := readGraphHeader(f, st.Size()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeGQA compares one decode step of GPT-2 124M in the fused
// style (MultiHeadAttention, the cache concatenated into a new present
// each step) and the gqa style (GroupQueryAttention writing into one
// shared max-length buffer in place), batch 1, ctx tokens cached, 2
// intra-op threads, no spinning, steps interleaved so that other
// processes' load hits both alike. It reports each median step and gqa's
// speed-up: the measurement behind the CPU default
// (`go test -run X -bench DecodeGQA -benchtime 40x ./host/internal/model`).
func BenchmarkDecodeGQA(b *testing.B) {
	for _, ctx := range []int{128, 512, 768} {
		b.Run(fmt.Sprintf("ctx=%d", ctx), func(b *testing.B) {
			requireORT(b)
			fused := newBenchRunner(b, gpt2Dir(b, StyleFused))
			ids, mask, pos := seqInputs(testIDs(ctx, fused.m.Config.Vocab))
			past := fused.step(b, ids, mask, pos, nil)
			defer past.destroy()
			gqa := newGQARunnerThreads(b, gpt2Dir(b, StyleGQA), true, 2)
			gqa.step(b, ids, mask, pos)
			next, nmask, npos := [][]int64{{testIDs(ctx+1, 50257)[ctx]}}, [][]int64{ones(ctx + 1)}, [][]int64{{int64(ctx)}}
			var fusedMs, gqaMs []float64
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				fused.step(b, next, nmask, npos, past.present).destroy()
				t1 := time.Now()
				gqa.step(b, next, nmask, npos) // rewrites position ctx in place
				fusedMs = append(fusedMs, float64(t1.Sub(t0).Nanoseconds())/1e6)
				gqaMs = append(gqaMs, float64(time.Since(t1).Nanoseconds())/1e6)
			}
			b.StopTimer()
			b.ReportMetric(median(fusedMs), "fused-ms/step")
			b.ReportMetric(median(gqaMs), "gqa-ms/step")
			b.ReportMetric(median(fusedMs)/median(gqaMs), "gqa-speedup")
		})
	}
}

// BenchmarkAccuracyLevel compares MatMulNBits' accuracy_level 0 (weights
// dequantised to float32, then an fp32 GEMM) with 4 (activations
// quantised to int8 per block, integer dot products) on GPT-2 124M in the
// gqa style at int8 and int4: one decode step after 128 cached tokens, 2
// intra-op threads, steps interleaved. The measurement behind
// DefaultAccuracyLevel (`go test -run X -bench AccuracyLevel -benchtime 30x
// ./host/internal/model`).
func BenchmarkAccuracyLevel(b *testing.B) {
	for _, precision := range []string{PrecisionInt8, PrecisionInt4} {
		b.Run(precision, func(b *testing.B) {
			var qs []Quant
			for _, level := range []int{0, 4} {
				q, _ := QuantFor(precision, 0)
				q.AccuracyLevel = level
				qs = append(qs, q)
			}
			a, c := compareQuantDecode(b, qs[0], qs[1])
			b.ReportMetric(a, "level0-ms/step")
			b.ReportMetric(c, "level4-ms/step")
			b.ReportMetric(a/c, "level4-speedup")
		})
	}
}

// BenchmarkQuantSymmetry compares symmetric blocks (the implicit zero
// point 2^(bits−1)) with asymmetric ones (a zero point per block) at
// accuracy_level 4, as BenchmarkAccuracyLevel: the measurement behind
// Quant.Asymmetric's default (`-bench QuantSymmetry -benchtime 30x`).
func BenchmarkQuantSymmetry(b *testing.B) {
	for _, precision := range []string{PrecisionInt8, PrecisionInt4} {
		b.Run(precision, func(b *testing.B) {
			sym, _ := QuantFor(precision, 0)
			asym := sym
			asym.Asymmetric = true
			s, a := compareQuantDecode(b, sym, asym)
			b.ReportMetric(s, "symmetric-ms/step")
			b.ReportMetric(a, "asymmetric-ms/step")
			b.ReportMetric(a/s, "symmetric-speedup")
		})
	}
}

// compareQuantDecode builds GPT-2 124M in the gqa style with the weights
// stored as x and as y, caches 128 tokens in each and times one decode
// step of each in turn per iteration; it returns the median steps in ms.
func compareQuantDecode(b *testing.B, x, y Quant) (xMs, yMs float64) {
	requireORT(b)
	var runs []*gqaRunner
	for _, q := range []Quant{x, y} {
		dir := b.TempDir()
		f, err := os.Create(filepath.Join(dir, "model.onnx"))
		if err != nil {
			b.Fatal(err)
		}
		if err := buildGPT2(f, GPT2(), BuildOptions{Seed: 1, Style: StyleGQA, Precision: q.precision()}, q); err != nil {
			b.Fatal(err)
		}
		f.Close()
		js, _ := marshalHFConfig(GPT2(), pipeInfo{Name: "gpt2", Style: StyleGQA, BuilderVersion: BuilderVersion})
		os.WriteFile(filepath.Join(dir, "config.json"), js, 0o644)
		if err := writeGenAIConfig(dir, GPT2(), "gpt2", true); err != nil {
			b.Fatal(err)
		}
		r := newGQARunnerThreads(b, dir, true, 2)
		ids, mask, pos := seqInputs(testIDs(128, 50257))
		r.step(b, ids, mask, pos)
		runs = append(runs, r)
	}
	next, mask, pos := [][]int64{{7}}, [][]int64{ones(129)}, [][]int64{{128}}
	steps := make([][]float64, len(runs))
	b.ResetTimer()
	for b.Loop() {
		for i, r := range runs {
			t0 := time.Now()
			r.step(b, next, mask, pos)
			steps[i] = append(steps[i], float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}
	b.StopTimer()
	return median(steps[0]), median(steps[1])
}

// BenchmarkPrefillGQA compares the prefill of GPT-2 124M in the fused style
// (logits for every prompt position) and the gqa style (the LM head for the
// last position only), ctx prompt tokens, 2 intra-op threads, interleaved:
// what the last-position head saves in TTFT (`go test -run X -bench
// PrefillGQA -benchtime 10x ./host/internal/model`).
func BenchmarkPrefillGQA(b *testing.B) {
	for _, ctx := range []int{128, 512} {
		b.Run(fmt.Sprintf("ctx=%d", ctx), func(b *testing.B) {
			requireORT(b)
			fused := newBenchRunner(b, gpt2Dir(b, StyleFused))
			gqa := newGQARunnerThreads(b, gpt2Dir(b, StyleGQA), true, 2)
			ids, mask, pos := seqInputs(testIDs(ctx, 50257))
			var fusedMs, gqaMs []float64
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				fused.step(b, ids, mask, pos, nil).destroy()
				t1 := time.Now()
				gqa.drop()
				gqa.step(b, ids, mask, pos)
				fusedMs = append(fusedMs, float64(t1.Sub(t0).Nanoseconds())/1e6)
				gqaMs = append(gqaMs, float64(time.Since(t1).Nanoseconds())/1e6)
			}
			b.StopTimer()
			b.ReportMetric(median(fusedMs), "fused-ms")
			b.ReportMetric(median(gqaMs), "gqa-ms")
			b.ReportMetric(median(fusedMs)/median(gqaMs), "gqa-speedup")
		})
	}
}
