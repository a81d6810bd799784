package ortgen

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

const tinySeed = 7

func openBuiltinTiny(t *testing.T, style string) (*Generator, *model.Model) {
	t.Helper()
	dir, err := model.Builtin("gpt2-tiny", tinySeed, style)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(m, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, m
}

// referenceGreedy decodes greedily with the plain-Go forward pass,
// recomputing the whole sequence per token; it also returns the last
// position's logits of every step.
func referenceGreedy(cfg model.Config, prompt []int64, n int) ([]int64, [][]float32) {
	seq := append([]int64(nil), prompt...)
	var out []int64
	var logits [][]float32
	for range n {
		all := model.ReferenceLogits(cfg, tinySeed, seq)
		last := all[len(all)-1]
		id := argmax(last)
		out = append(out, id)
		logits = append(logits, last)
		seq = append(seq, id)
	}
	return out, logits
}

// TestBuiltinMatchesReference: for both graph styles, the prefill logits
// equal the plain-Go reference within 1e-4 and greedy decoding with the KV
// cache gives the reference's tokens, alone and in a left-padded batch.
func TestBuiltinMatchesReference(t *testing.T) {
	prompts := [][]int64{{17, 300, 4, 99, 256, 1, 42, 8, 77}, {5, 6, 400}}
	const n = 8
	for _, style := range []string{model.StyleOptimum, model.StyleFused} {
		t.Run(style, func(t *testing.T) {
			g, m := openBuiltinTiny(t, style)
			var want [][]int64
			for _, p := range prompts {
				ids, logits := referenceGreedy(m.Config, p, n)
				want = append(want, ids)
				generate(t, g, gen.Request{Prompts: [][]int64{p}, NewTokens: 1})
				got := g.logitsRow(&g.buf, 0, len(p)-1, len(p))
				worst := 0.0
				for j, w := range logits[0] {
					worst = max(worst, math.Abs(float64(got[j]-w)))
				}
				if worst > 1e-4 {
					t.Errorf("prompt %v: ORT logits differ from the reference by up to %g", p, worst)
				}
				tr := generate(t, g, gen.Request{Prompts: [][]int64{p}, NewTokens: n})
				if d := cmp.Diff(ids, tr.OutputIDs[0]); d != "" {
					t.Errorf("prompt %v: greedy tokens (-reference +ORT):\n%s", p, d)
				}
			}
			tr := generate(t, g, gen.Request{Prompts: prompts, NewTokens: n})
			if d := cmp.Diff(want, tr.OutputIDs); d != "" {
				t.Errorf("batch (-reference +ORT):\n%s", d)
			}
		})
	}
}

func TestBuiltinInfo(t *testing.T) {
	g, m := openBuiltinTiny(t, model.StyleOptimum)
	info := g.Info()
	want := gen.Info{Model: m.Name, ModelHash: m.SHA256, ModelBytes: m.Bytes, Parameters: m.Params, GraphStyle: model.StyleOptimum,
		Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 16, Vocab: 512, MaxPositions: 128, EOS: 511,
		Layout: model.LayoutOptimum, WeightPrecision: "fp32", KVCacheType: "float32", LogitsType: "float32",
		// Every weight in float32; a decode step reads all but the position
		// table (128 × 64, only gathered from); the token table is the tied
		// LM head, read in full.
		WeightBytes: 4 * m.Params, WeightBytesPerToken: 4 * (m.Params - 128*64),
		LogitsLastOnly: true} // pipe's graphs compute the LM head for the last position only
	got := info
	got.Device, got.Runtime, got.RuntimePath, got.LoadNS, got.LoadRSSDelta, got.LoadPeakRSS, got.Threads = "", "", "", 0, 0, 0, gen.Threads{}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Info (-want +got):\n%s", d)
	}
	if info.Threads.IntraOp != 1 || info.Threads.Spinning {
		t.Errorf("threads %+v: want intra-op 1, spinning off", info.Threads)
	}
}
