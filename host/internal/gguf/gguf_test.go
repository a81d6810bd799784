package gguf

import (
	"bytes"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// q8Inputs are the values testdata/q8_0.py quantises (see there).
func q8Inputs() []float32 {
	var x []float32
	for i := range 6 * 32 {
		x = append(x, float32((i*7919)%2001-1000)/float32(977+13*(i/32)))
	}
	x = append(x, make([]float32, 32)...)
	x = append(x, 127, 2.5, -2.5, 0.5, -0.5, 1.5, -1.5, 126.5, -126.5)
	for k := range 23 {
		x = append(x, 0.25*float32(k))
	}
	return x
}

// TestQ8_0MatchesNumpy: pipe's q8_0 bytes equal numpy's computation of
// quantize_row_q8_0_ref (testdata/q8_0.py), ties and a zero block included.
func TestQ8_0MatchesNumpy(t *testing.T) {
	raw, err := os.ReadFile("testdata/q8_0.golden")
	if err != nil {
		t.Fatal(err)
	}
	want, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Encode(nil, Q8_0, q8Inputs())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("q8_0 differs from numpy at byte %d (block %d): got %#x, want %#x (lengths %d, %d)", i, i/blockQ8_0, got[i], want[i], len(got), len(want))
			}
		}
		t.Fatalf("q8_0: %d bytes, numpy %d", len(got), len(want))
	}
}

// TestF16Known: fp16 encodings of values whose bits are known, ties to even.
func TestF16Known(t *testing.T) {
	for _, c := range []struct {
		x    float32
		bits uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1.0 / 3, 0x3555},
		{float32(math.Ldexp(1, -24)), 0x0001},     // the smallest subnormal
		{1 + float32(math.Ldexp(1, -11)), 0x3c00}, // halfway 1 ↔ 1+2⁻¹⁰: to even
		{1 + 3*float32(math.Ldexp(1, -11)), 0x3c02},
	} {
		b, err := Encode(nil, F16, []float32{c.x})
		if err != nil {
			t.Fatal(err)
		}
		if got := uint16(b[0]) | uint16(b[1])<<8; got != c.bits {
			t.Errorf("f16(%v) = %#04x, want %#04x", c.x, got, c.bits)
		}
	}
}

// tinyGPT2 is GPT-2's architecture at test size with GPT-2's vocabulary
// (GGUF carries the tokenizer, one token per logit).
func tinyGPT2() model.Config {
	c := model.GPT2Tiny()
	c.Vocab, c.BOS, c.EOS = 50257, 50256, 50256
	return c
}

func writeTiny(t *testing.T, typ Type) *File {
	t.Helper()
	tok, err := assets.GPT2Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteGPT2(f, GPT2Options{Config: tinyGPT2(), Seed: 7, Type: typ, TokenizerDir: tok}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGPT2RoundTrip writes pipe's tiny GPT-2 at each type, reads it back and
// finds every weight model.GPT2Weights gives under llama.cpp's name, in
// llama.cpp's layout (Conv1D matrices transposed), with the stored type
// llama.cpp's rule gives, and values equal (f32), within fp16's half ulp
// (f16) or within half a q8_0 step of the block's own scale (q8_0).
func TestGPT2RoundTrip(t *testing.T) {
	for _, typ := range Types {
		t.Run(typ.String(), func(t *testing.T) {
			g := writeTiny(t, typ)
			c := tinyGPT2()
			if g.KV["general.architecture"] != "gpt2" || g.KV["gpt2.block_count"] != uint32(c.Layers) ||
				g.KV["gpt2.embedding_length"] != uint32(c.Hidden) || g.KV["general.file_type"] != typ.FileType() ||
				g.KV["gpt2.attention.layer_norm_epsilon"] != float32(c.LayerNormEps) {
				t.Fatalf("metadata: %v", g.KV)
			}
			toks, _ := g.KV["tokenizer.ggml.tokens"].([]string)
			types, _ := g.KV["tokenizer.ggml.token_type"].([]int32)
			merges, _ := g.KV["tokenizer.ggml.merges"].([]string)
			if len(toks) != c.Vocab || toks[50256] != "<|endoftext|>" || toks[464] != "The" || types[50256] != tokenControl || types[0] != tokenNormal {
				t.Fatalf("tokens: %d, [50256] %q, [464] %q", len(toks), toks[50256], toks[464])
			}
			if len(merges) != 50000 || merges[0] != "Ġ t" {
				t.Fatalf("merges: %d, first %q", len(merges), merges[0])
			}
			seen := 0
			err := model.GPT2Weights(c, 7, func(name string, dims []int64, v []float32) error {
				seen++
				gname, err := GPT2TensorName(name)
				if err != nil {
					return err
				}
				tn, got, err := g.Floats(gname)
				if err != nil {
					return err
				}
				want := v
				wantDims := []uint64{uint64(dims[len(dims)-1])}
				if len(dims) == 2 {
					wantDims = []uint64{uint64(dims[1]), uint64(dims[0])}
				}
				if isConv1D(name) {
					want = transpose(nil, v, int(dims[0]), int(dims[1]))
					wantDims[0], wantDims[1] = wantDims[1], wantDims[0]
				}
				if !slices.Equal(tn.Dims, wantDims) {
					t.Errorf("%s: dims %v, want %v", gname, tn.Dims, wantDims)
				}
				wantType := typ
				if len(dims) == 1 || name == "transformer.wpe.weight" {
					wantType = F32
				}
				if tn.Type != wantType {
					t.Errorf("%s: type %v, want %v", gname, tn.Type, wantType)
				}
				for i, x := range want {
					var tol float64
					switch tn.Type {
					case F16:
						tol = math.Abs(float64(x))*math.Ldexp(1, -11) + math.Ldexp(1, -25)
					case Q8_0:
						blk := want[i/QK8_0*QK8_0 : i/QK8_0*QK8_0+QK8_0]
						var amax float64
						for _, y := range blk {
							amax = max(amax, math.Abs(float64(y)))
						}
						tol = amax/127*0.5*(1+1e-3) + amax*1e-3 // half a step, plus fp16's scale rounding at 127 steps
					}
					if d := math.Abs(float64(got[i]) - float64(x)); d > tol {
						t.Errorf("%s[%d] = %v, want %v (|Δ| %.3g > %.3g)", gname, i, got[i], x, d, tol)
						return nil
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != len(g.Tensors) {
				t.Errorf("%d tensors in the file, pipe has %d", len(g.Tensors), seen)
			}
		})
	}
}

// TestGPT2BadInput: a model whose vocabulary is not the tokenizer's, and
// q8_0 rows that are not whole blocks, are refused in one line.
func TestGPT2BadInput(t *testing.T) {
	tok, err := assets.GPT2Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = WriteGPT2(&buf, GPT2Options{Config: model.GPT2Tiny(), Type: F32, TokenizerDir: tok})
	if err == nil || !strings.Contains(err.Error(), "50257 tokens and the model 512") || strings.Contains(err.Error(), "\n") {
		t.Errorf("vocab 512: %v", err)
	}
	c := tinyGPT2()
	c.Hidden, c.HeadDim = 48, 12
	err = WriteGPT2(&buf, GPT2Options{Config: c, Type: Q8_0, TokenizerDir: tok})
	if err == nil || !strings.Contains(err.Error(), "whole blocks of 32") || strings.Contains(err.Error(), "\n") {
		t.Errorf("hidden 48 at q8_0: %v", err)
	}
	if _, err := ParseType("q4_k"); err == nil || !strings.Contains(err.Error(), "f32, f16, q8_0") {
		t.Errorf("ParseType(q4_k): %v", err)
	}
}
