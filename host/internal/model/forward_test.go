package model

import (
	"os"
	"path/filepath"
	"testing"
)

// tol is how far ONNX Runtime's float32 logits may drift from the float64
// reference.
const tol = 1e-4

// buildTo writes the model for cfg into a fresh directory (with or without
// config.json) and returns it; the optimum and fused graphs compute every
// position's logits (allLogits), so tests check each prompt position
// (TestLastPositionHead pins the shipped last-position head to them).
func buildTo(t testing.TB, cfg Config, seed uint64, style string, withConfig bool) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := BuildWith(f, cfg, BuildOptions{Seed: seed, Style: style, allLogits: style != StyleGQA}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if withConfig {
		js, err := marshalHFConfig(cfg, pipeInfo{Name: "test", Seed: seed, Style: style, BuilderVersion: BuilderVersion})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func gqaTiny() Config {
	c := GPT2Tiny()
	c.KVHeads = 2
	return c
}

// gpt2VocabTiny is the tiny shape with GPT-2's vocabulary, for tests that
// feed real GPT-2 token ids.
func gpt2VocabTiny() Config {
	c := GPT2Tiny()
	c.Vocab, c.BOS, c.EOS = 50257, 50256, 50256
	return c
}

func testIDs(n int, vocab int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64((i*7919 + 13) % vocab)
	}
	return ids
}

func TestPrefillMatchesReference(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		style string
		seed  uint64
		n     int
	}{
		{"optimum/one token", GPT2Tiny(), StyleOptimum, 1, 1},
		{"optimum/17 tokens", GPT2Tiny(), StyleOptimum, 1, 17},
		{"optimum/other seed", GPT2Tiny(), StyleOptimum, 42, 9},
		{"optimum/grouped-query", gqaTiny(), StyleOptimum, 3, 11},
		{"fused/one token", GPT2Tiny(), StyleFused, 1, 1},
		{"fused/17 tokens", GPT2Tiny(), StyleFused, 1, 17},
		{"fused/other seed", GPT2Tiny(), StyleFused, 42, 9},
		{"optimum/100 tokens", GPT2Tiny(), StyleOptimum, 2, 100},
		{"fused/100 tokens", GPT2Tiny(), StyleFused, 2, 100},
		{"fused/GPT-2 vocab", gpt2VocabTiny(), StyleFused, 4, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(t, buildTo(t, tc.cfg, tc.seed, tc.style, true))
			ids := testIDs(tc.n, tc.cfg.Vocab)
			want := ReferenceLogits(tc.cfg, tc.seed, ids)
			in, mask, pos := seqInputs(ids)
			out := r.step(t, in, mask, pos, nil)
			defer out.destroy()
			for i := range ids {
				if d := maxAbsDiff(out.logits[0][i], want[i]); d > tol {
					t.Errorf("position %d: max |ort − reference| = %.3g > %g", i, d, tol)
				}
			}
		})
	}
}

// TestDecodeWithPastEqualsRecompute feeds each step's present cache back as
// the next step's past, one token at a time, and checks every step's logits
// against a full recompute of the whole sequence by the reference.
func TestDecodeWithPastEqualsRecompute(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		style  string
		prompt int
		decode int
	}{
		{"optimum/prompt 5, 4 steps", GPT2Tiny(), StyleOptimum, 5, 4},
		{"optimum/prompt 1, 6 steps", GPT2Tiny(), StyleOptimum, 1, 6},
		{"optimum/grouped-query", gqaTiny(), StyleOptimum, 6, 3},
		{"fused/prompt 5, 4 steps", GPT2Tiny(), StyleFused, 5, 4},
		{"fused/prompt 1, 6 steps", GPT2Tiny(), StyleFused, 1, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const seed = 7
			r := newRunner(t, buildTo(t, tc.cfg, seed, tc.style, true))
			ids := testIDs(tc.prompt+tc.decode, tc.cfg.Vocab)
			want := ReferenceLogits(tc.cfg, seed, ids)
			in, mask, pos := seqInputs(ids[:tc.prompt])
			out := r.step(t, in, mask, pos, nil)
			for n := tc.prompt; ; n++ {
				if d := maxAbsDiff(out.logits[0][len(out.logits[0])-1], want[n-1]); d > tol {
					t.Errorf("after %d tokens: max |ort − reference| = %.3g > %g", n, d, tol)
				}
				if got := out.present[0].GetShape(); got[2] != int64(n) {
					t.Errorf("after %d tokens: present.0.key has %d positions", n, got[2])
				}
				if n == len(ids) {
					break
				}
				_, mask, _ = seqInputs(ids[:n+1])
				next := r.step(t, [][]int64{{ids[n]}}, mask, [][]int64{{int64(n)}}, out.present)
				out.destroy()
				out = next
			}
			out.destroy()
		})
	}
}

// TestLeftPadding runs a batch of two rows, the shorter one left-padded
// with its padding masked out: its real positions must give the logits of
// the unpadded sequence, in prefill and in a decode step after it.
func TestLeftPadding(t *testing.T) {
	for _, style := range concatStyles {
		t.Run(style, func(t *testing.T) {
			cfg := GPT2Tiny()
			const seed, pad = 5, 3
			r := newRunner(t, buildTo(t, cfg, seed, style, true))
			long := testIDs(8, cfg.Vocab)
			short := []int64{17, 300, 4, 99, 12}
			shortNext, longNext := int64(250), int64(33)
			ids := [][]int64{append([]int64{0, 0, 0}, short...), long}
			mask := [][]int64{{0, 0, 0, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1}}
			// Positions count real tokens only (Hugging Face: cumsum(mask) − 1;
			// padded slots get 1, any value works since they are masked).
			pos := [][]int64{{1, 1, 1, 0, 1, 2, 3, 4}, {0, 1, 2, 3, 4, 5, 6, 7}}
			out := r.step(t, ids, mask, pos, nil)
			defer out.destroy()
			wantShort := ReferenceLogits(cfg, seed, append(short, shortNext))
			wantLong := ReferenceLogits(cfg, seed, append(long, longNext))
			for i := range short {
				if d := maxAbsDiff(out.logits[0][pad+i], wantShort[i]); d > tol {
					t.Errorf("padded row, position %d: max |ort − reference| = %.3g", i, d)
				}
			}
			for i := range long {
				if d := maxAbsDiff(out.logits[1][i], wantLong[i]); d > tol {
					t.Errorf("full row, position %d: max |ort − reference| = %.3g", i, d)
				}
			}
			mask = [][]int64{append(mask[0], 1), append(mask[1], 1)}
			dec := r.step(t, [][]int64{{shortNext}, {longNext}}, mask, [][]int64{{int64(len(short))}, {int64(len(long))}}, out.present)
			defer dec.destroy()
			if d := maxAbsDiff(dec.logits[0][0], wantShort[len(short)]); d > tol {
				t.Errorf("padded row, decode step: max |ort − reference| = %.3g", d)
			}
			if d := maxAbsDiff(dec.logits[1][0], wantLong[len(long)]); d > tol {
				t.Errorf("full row, decode step: max |ort − reference| = %.3g", d)
			}
		})
	}
}

// TestStylesAgree checks the two graph styles against each other on the
// same weights (the reference covers each; this pins them together).
func TestStylesAgree(t *testing.T) {
	cfg := GPT2Tiny()
	ids := testIDs(12, cfg.Vocab)
	in, mask, pos := seqInputs(ids)
	var logits [][][]float32
	for _, style := range concatStyles {
		out := newRunner(t, buildTo(t, cfg, 9, style, false)).step(t, in, mask, pos, nil)
		logits = append(logits, out.logits[0])
		out.destroy()
	}
	for i := range ids {
		if d := maxAbsDiff(logits[0][i], logits[1][i]); d > tol {
			t.Errorf("position %d: max |optimum − fused| = %.3g > %g", i, d, tol)
		}
	}
}

// TestReferenceIsNotTrivial guards the oracle itself: logits must depend on
// the seed, on the tokens and on their order (causality), else the
// comparisons above would prove nothing.
func TestReferenceIsNotTrivial(t *testing.T) {
	cfg := GPT2Tiny()
	a := ReferenceLogits(cfg, 1, []int64{1, 2, 3})
	cases := []struct {
		name string
		got  []float32
		want bool // whether it should equal a's last row
	}{
		{"other seed", ReferenceLogits(cfg, 2, []int64{1, 2, 3})[2], false},
		{"other token", ReferenceLogits(cfg, 1, []int64{1, 2, 4})[2], false},
		{"other order", ReferenceLogits(cfg, 1, []int64{2, 1, 3})[2], false},
		{"same input", ReferenceLogits(cfg, 1, []int64{1, 2, 3})[2], true},
	}
	for _, tc := range cases {
		d := maxAbsDiff(a[2], tc.got)
		if tc.want != (d == 0) {
			t.Errorf("%s: max diff %.3g, want equal = %v", tc.name, d, tc.want)
		}
	}
	// A later token must not change earlier logits (causal masking).
	if d := maxAbsDiff(ReferenceLogits(cfg, 1, []int64{1, 2, 9})[1], a[1]); d != 0 {
		t.Errorf("position 1 changed with token 2: %.3g", d)
	}
}
