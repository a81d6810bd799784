package model

import (
	"fmt"
	"io"
	"testing"
)

// headTol is how far the last-position head's logits may be from the
// every-position graph's last row: the same products on the same row,
// only the GEMM's shape differs.
const headTol = 1e-5

// TestLastPositionHead: the graphs pipe builds in the optimum and fused
// styles compute logits [b, 1, vocab] (Load: LogitsLastOnly), and those
// equal the last row of the every-position graph on the same weights
// within 1e-5 — one row, a left-padded batch of two, each cached decode
// step after them — and greedy decoding picks the same ids. GPT-2 tiny in
// both styles (grouped-query too), every Llama family.
func TestLastPositionHead(t *testing.T) {
	type pair struct {
		name      string
		last, all string // model directories
		vocab     int
	}
	var pairs []pair
	for _, style := range concatStyles {
		for _, cfg := range []Config{GPT2Tiny(), gqaTiny()} {
			if style == StyleFused && cfg.KVHeads != cfg.Heads {
				continue
			}
			last := t.TempDir()
			if err := writeBuiltin(last, "test", cfg, BuildOptions{Seed: 4, Style: style}); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, pair{fmt.Sprintf("gpt2/%s/kv%d", style, cfg.KVHeads), last, buildTo(t, cfg, 4, style, true), cfg.Vocab})
		}
	}
	for _, family := range LlamaFamilies {
		c, fill := tinyLlama(t, family), strongWeights(8)
		last := t.TempDir()
		if err := writeLlama(last, c, fill, Quant{}, pipeInfo{Name: "test", Style: StyleOptimum, BuilderVersion: BuilderVersion}, ""); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, pair{family + "/optimum", last, buildLlamaTo(t, c, fill), c.Vocab})
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			last, all := newRunner(t, p.last), newRunner(t, p.all)
			if !last.m.LogitsLastOnly || all.m.LogitsLastOnly {
				t.Fatalf("LogitsLastOnly: built %v, every-position %v; want true, false", last.m.LogitsLastOnly, all.m.LogitsLastOnly)
			}
			short, long := testIDs(5, p.vocab), testIDs(9, p.vocab)
			const pad = 4
			batches := map[string][3][][]int64{
				"one row": {{long}, {ones(9)}, {iota64(9)}},
				"left-padded": {
					{append(make([]int64, pad), short...), long},
					{append(make([]int64, pad), ones(5)...), ones(9)},
					{append(make([]int64, pad), iota64(5)...), iota64(9)},
				},
			}
			for name, in := range batches {
				ids, mask, pos := in[0], in[1], in[2]
				lo, ao := last.step(t, ids, mask, pos, nil), all.step(t, ids, mask, pos, nil)
				for s := 0; ; s++ {
					if lo.first != len(ids[0])-1 && s == 0 {
						t.Fatalf("%s: the built graph's logits start at position %d of %d", name, lo.first, len(ids[0]))
					}
					next := make([][]int64, len(ids))
					for r := range ids {
						got, want := lo.logits[r][0], ao.logits[r][len(ao.logits[r])-1]
						if d := maxAbsDiff(got, want); d > headTol {
							t.Errorf("%s, row %d, step %d: max |last-position head − every-position graph's last row| = %.3g > %g", name, r, s, d, headTol)
						}
						if a, b := argmax(got), argmax(want); a != b {
							t.Errorf("%s, row %d, step %d: greedy ids %d and %d", name, r, s, a, b)
						}
						next[r] = []int64{int64(argmax(want))}
					}
					if s == 3 {
						lo.destroy()
						ao.destroy()
						break
					}
					for r := range mask {
						mask[r] = append(mask[r], 1)
						pos[r] = []int64{pos[r][len(pos[r])-1] + 1}
					}
					ln, an := last.step(t, next, mask, pos, lo.present), all.step(t, next, mask, pos, ao.present)
					lo.destroy()
					ao.destroy()
					lo, ao = ln, an
				}
			}
		})
	}
}

// TestAllLogitsRefusedForGQA: the every-position head is not built in the
// GenAI layout, whose logits are the last position's; one line says so.
func TestAllLogitsRefusedForGQA(t *testing.T) {
	err := BuildWith(io.Discard, GPT2Tiny(), BuildOptions{Style: StyleGQA, allLogits: true})
	if err == nil {
		t.Fatal("gqa with allLogits built")
	}
	checkOneLineError(t, err, []string{`style "gqa" computes the LM head at the last position only`, `build style "optimum" or "fused"`})
	c := tinyLlama(t, "qwen3")
	err = buildLlama(io.Discard, nil, c, seededWeights(1), Quant{}, StyleGQA, true)
	if err == nil {
		t.Fatal("llama gqa with allLogits built")
	}
	checkOneLineError(t, err, []string{`style "gqa" computes the LM head at the last position only`})
}

// BenchmarkPrefillLastHead compares the prefill of GPT-2 124M (optimum and
// fused styles) and SmolLM2-135M (optimum) with the LM head at every
// position (the graphs before the head moved; allLogits) and at the last
// position only (the graphs pipe builds): ctx prompt tokens, batch 1, 2
// intra-op threads, no spinning, the two graphs' Runs interleaved so other
// processes' load hits both alike, each timed alone (runNS: no copy of the
// logits). It reports each median in ms and the speed-up
// (`go test -run X -bench PrefillLastHead -benchtime 10x ./host/internal/model`).
func BenchmarkPrefillLastHead(b *testing.B) {
	requireORT(b)
	smol, _ := llamaPreset("smollm2-135m")
	for _, tc := range []struct {
		name, style string
		vocab       int
	}{{"gpt2/optimum", StyleOptimum, 50257}, {"gpt2/fused", StyleFused, 50257}, {"smollm2-135m/optimum", StyleOptimum, smol.Vocab}} {
		var dirs [2]string // every position, last position
		for i, all := range []bool{true, false} {
			dirs[i] = b.TempDir()
			var err error
			if tc.vocab == smol.Vocab {
				err = writeLlama(dirs[i], smol, seededWeights(1), Quant{}, pipeInfo{Name: "smollm2-135m", Style: tc.style, BuilderVersion: BuilderVersion, allLogits: all}, "")
			} else {
				err = writeBuiltin(dirs[i], "gpt2", GPT2(), BuildOptions{Seed: 1, Style: tc.style, allLogits: all})
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, ctx := range []int{128, 512} {
			b.Run(fmt.Sprintf("%s/ctx=%d", tc.name, ctx), func(b *testing.B) {
				runs := [2]*ortRunner{newBenchRunner(b, dirs[0]), newBenchRunner(b, dirs[1])}
				ids, mask, pos := seqInputs(testIDs(ctx, tc.vocab))
				var ms [2][]float64
				for b.Loop() {
					for i, r := range runs {
						r.step(b, ids, mask, pos, nil).destroy()
						ms[i] = append(ms[i], float64(r.runNS)/1e6)
					}
				}
				b.ReportMetric(median(ms[0]), "all-ms")
				b.ReportMetric(median(ms[1]), "last-ms")
				b.ReportMetric(median(ms[0])/median(ms[1]), "last-speedup")
			})
		}
	}
}
