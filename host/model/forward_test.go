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
// config.json) and returns it.
func buildTo(t testing.TB, cfg Config, seed uint64, style string, withConfig bool) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Build(f, cfg, seed, style); err != nil {
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
