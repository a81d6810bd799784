package memmodel_test

import (
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/memmodel"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/sdk/schema"
)

// Hand-computed: bytes = copies × 2 (key, value) × layers × batch ×
// kv_heads × (prompt + new − 1) × head_dim × element size; logits = batch ×
// rows × vocab × size (+ one float32 row for half-precision logits).
func TestPredictHandComputed(t *testing.T) {
	gpt2 := schema.Model{Layers: 12, KVHeads: 12, HeadDim: 64, Vocab: 50257, KVCacheType: "float32", LogitsType: "float32", WeightBytes: 497_759_232, WeightPrecision: "fp32"}
	// SmolLM2-135M's shape, int4 weights, the concat cache in float32.
	int4 := schema.Model{Layers: 30, KVHeads: 3, HeadDim: 64, Vocab: 49152, KVCacheType: "float32", LogitsType: "float32", WeightBytes: 101_000_000, WeightPrecision: "int4"}
	// Llama-3.2-1B's shape on GroupQueryAttention: one shared fp16 buffer,
	// fp16 logits of the last position only.
	gqa := schema.Model{Layers: 16, KVHeads: 8, HeadDim: 64, Vocab: 128256, KVCacheType: "float16", LogitsType: "float16", WeightBytes: 2_471_000_000,
		KVShareBuffer: true, LogitsLastOnly: true, WeightPrecision: "fp16"}
	for _, tc := range []struct {
		name       string
		m          schema.Model
		c          schema.CaseParams
		kv, logits int64
	}{
		// 2 parities × 2 × 12 × 1×12×191×64×4 B; 128 × 50257 × 4 B.
		{"gpt2 fp32", gpt2, schema.CaseParams{PromptTokens: 128, NewTokens: 64, Batch: 1, Streams: 1}, 28_164_096, 25_731_584},
		// 2 × 2 × 30 × 2×3×639×64×4 B; 2 × 512 × 49152 × 4 B.
		{"int4 batch 2", int4, schema.CaseParams{PromptTokens: 512, NewTokens: 128, Batch: 2, Streams: 1}, 117_780_480, 201_326_592},
		// 1 buffer × 2 × 16 × 8×191×64×2 B; 128256 × 2 B + 128256 × 4 B.
		{"gqa share buffer", gqa, schema.CaseParams{PromptTokens: 128, NewTokens: 64, Batch: 1, Streams: 1}, 6_258_688, 769_536},
	} {
		got := memmodel.Predict(tc.m, []schema.CaseParams{tc.c}, false)[0]
		want := schema.MemoryModel{Weights: tc.m.WeightBytes, KVCache: tc.kv, Logits: tc.logits, Total: tc.m.WeightBytes + tc.kv + tc.logits}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, want)
		}
	}
	// The device-resident cache: past and present both alive, on the GPU.
	got := memmodel.Predict(schema.Model{Layers: 16, KVHeads: 8, HeadDim: 64, Vocab: 128256, KVCacheType: "float16", LogitsType: "float16", KVShareBuffer: true, LogitsLastOnly: true, Device: "cuda"},
		[]schema.CaseParams{{PromptTokens: 128, NewTokens: 64, Batch: 1}}, true)[0]
	if got.KVCache != 2*6_258_688 || !got.OnDevice || !got.WeightsOnGPU {
		t.Errorf("device cache: got %+v, want KV %d on the device", got, 2*6_258_688)
	}
}

// The generator grows its buffers and never shrinks them; each stream
// holds a set.
func TestPredictKeepsLargestBuffers(t *testing.T) {
	m := schema.Model{Layers: 1, KVHeads: 1, HeadDim: 1, Vocab: 10, KVCacheType: "float32", LogitsType: "float32"}
	ps := memmodel.Predict(m, []schema.CaseParams{
		{PromptTokens: 9, NewTokens: 2, Batch: 1, Streams: 1}, // kv 2×2×10×4 = 160, logits 9×10×4 = 360
		{PromptTokens: 3, NewTokens: 2, Batch: 1, Streams: 1}, // needs less: keeps 160, 360
		{PromptTokens: 3, NewTokens: 2, Batch: 1, Streams: 3}, // three sets
	}, false)
	for i, want := range [][2]int64{{160, 360}, {160, 360}, {480, 1080}} {
		if ps[i].KVCache != want[0] || ps[i].Logits != want[1] {
			t.Errorf("case %d: KV %d, logits %d; want %d, %d", i, ps[i].KVCache, ps[i].Logits, want[0], want[1])
		}
	}
	// The device-resident cache is one buffer set: streams take turns.
	if p := memmodel.Predict(m, []schema.CaseParams{{PromptTokens: 9, NewTokens: 2, Batch: 1, Streams: 3}}, true)[0]; p.KVCache != 160 || p.Logits != 360 {
		t.Errorf("device cache, 3 streams: KV %d, logits %d; want one set, 160, 360", p.KVCache, p.Logits)
	}
}

func TestGapsFlagAboveLimit(t *testing.T) {
	p := schema.MemoryModel{Weights: 100 << 20, KVCache: 20 << 20, Logits: 10 << 20, LoadRSSDelta: 110 << 20, RSSAfterOpen: 200 << 20, PeakRSS: 250 << 20}
	gs := memmodel.Gaps(p)
	if len(gs) != 2 {
		t.Fatalf("got %d gaps, want 2: %+v", len(gs), gs)
	}
	// Weights: +10 %, within the limit; cache + logits: 50 MiB measured
	// against 30 MiB predicted, +67 %.
	if gs[0].Flagged || gs[0].String() != "+10 %" {
		t.Errorf("weights gap %+v (%s): want +10 %%, not flagged", gs[0], gs[0])
	}
	if !gs[1].Flagged || gs[1].String() != "+67 %" || gs[1].Measured != 50<<20 {
		t.Errorf("cache gap %+v (%s): want +67 %%, flagged", gs[1], gs[1])
	}
	if !strings.Contains(gs[1].Why, "arena") {
		t.Errorf("cache gap above the prediction: why %q, want the arena named", gs[1].Why)
	}
	if g := memmodel.Gaps(schema.MemoryModel{Weights: 100 << 20, LoadRSSDelta: 50 << 20})[0]; !g.Flagged || !strings.Contains(g.Why, "maps") {
		t.Errorf("weights gap below the prediction: %+v, want flagged, naming a mapped file", g)
	}
	// A peak below the RSS after open is a measurement too (−133 %), not
	// a comparison left out.
	if gs := memmodel.Gaps(schema.MemoryModel{KVCache: 20 << 20, Logits: 10 << 20, RSSAfterOpen: 200 << 20, PeakRSS: 190 << 20}); len(gs) != 1 || !gs[0].Flagged || gs[0].Measured != -10<<20 {
		t.Errorf("a peak below the RSS after open: %+v, want one flagged gap of −10 MiB", gs)
	}
	// On CUDA the weights are compared with the GPU peak, not the RSS.
	p.WeightsOnGPU, p.GPUPeak = true, 110<<20
	gs = memmodel.Gaps(p)
	if len(gs) != 2 || gs[1].What != "weights + KV cache vs GPU peak" || gs[1].Predicted != 100<<20 || gs[1].Flagged {
		t.Errorf("cuda gaps: %+v", gs)
	}
}

// TestPredictBuiltFP16: for pipe's own fp16 build (gpt2-tiny, gqa: one
// shared cache, last-position logits), as the generator describes it, the
// prediction holds the weights in half the fp32 build's bytes (to within
// the int64 shape constants both share), a float16 cache of exactly half
// the fp32 one's, and float16 logits plus the one float32 row the sampler
// reads.
func TestPredictBuiltFP16(t *testing.T) {
	c := schema.CaseParams{PromptTokens: 16, NewTokens: 8, Batch: 2, Streams: 1}
	predict := func(precision string) (schema.Model, schema.MemoryModel) {
		m, err := model.OpenWith("gpt2-tiny", model.BuildOptions{Style: model.StyleGQA, Precision: precision})
		if err != nil {
			t.Fatal(err)
		}
		g, err := ortgen.Open(m, ortgen.Options{IntraOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		info := g.Info()
		return info, memmodel.Predict(info, []schema.CaseParams{c}, false)[0]
	}
	m32, p32 := predict(model.PrecisionFP32)
	m16, p16 := predict(model.PrecisionFP16)
	if m16.WeightPrecision != "fp16" || m16.KVCacheType != "float16" || m16.LogitsType != "float16" {
		t.Fatalf("fp16 build described as weights %s, cache %s, logits %s", m16.WeightPrecision, m16.KVCacheType, m16.LogitsType)
	}
	if d := 2*p16.Weights - p32.Weights; d < 0 || d > p32.Weights/100 {
		t.Errorf("weights: fp16 %d B, fp32 %d B: want half, give or take the shared int64 constants", p16.Weights, p32.Weights)
	}
	// 1 shared buffer × 2 × layers × batch × kv_heads × 23 positions × head_dim × 2 B.
	kv := int64(2 * m16.Layers * c.Batch * m16.KVHeads * (c.PromptTokens + c.NewTokens - 1) * m16.HeadDim * 2)
	if p16.KVCache != kv || 2*p16.KVCache != p32.KVCache {
		t.Errorf("KV cache: fp16 %d B, fp32 %d B; want %d and twice it", p16.KVCache, p32.KVCache, kv)
	}
	if want := int64(c.Batch*m16.Vocab*2 + m32.Vocab*4); p16.Logits != want {
		t.Errorf("logits: fp16 %d B, want %d (batch × vocab × 2 + one float32 row)", p16.Logits, want)
	}
}
