package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// gqaRunner runs single forward passes of a StyleGQA model, its cache either
// shared (one max-length tensor per layer's key and value, bound as past
// and present: GroupQueryAttention writes the new positions in place) or
// concatenated (an empty past for prefill, each present fed back).
type gqaRunner struct {
	m      *Model
	sess   *ort.DynamicAdvancedSession
	shared bool
	maxLen int
	cache  []*ort.Tensor[float32] // 2 per layer: key, value
}

func newGQARunner(t testing.TB, dir string, shared bool) *gqaRunner {
	t.Helper()
	return newGQARunnerThreads(t, dir, shared, 1)
}

// newGQARunnerThreads is newGQARunner with threads intra-op threads and no
// spinning (the benchmarks' settings).
func newGQARunnerThreads(t testing.TB, dir string, shared bool, threads int) *gqaRunner {
	t.Helper()
	requireORT(t)
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		t.Fatal(err)
	}
	opts.SetInterOpNumThreads(1)
	opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0")
	outs := []string{Logits}
	for i := 0; i < m.Config.Layers; i++ {
		outs = append(outs, PresentKey(i), PresentValue(i))
	}
	sess, err := ort.NewDynamicAdvancedSession(m.Path, m.InputNames, outs, opts)
	if err != nil {
		t.Fatalf("session for %s: %v", m.Path, err)
	}
	r := &gqaRunner{m: m, sess: sess, shared: shared, maxLen: gqaLength(m.Config)}
	t.Cleanup(func() {
		sess.Destroy()
		r.drop()
	})
	return r
}

func (r *gqaRunner) drop() {
	for _, c := range r.cache {
		c.Destroy()
	}
	r.cache = nil
}

// step runs one pass over ids (right-padded rows) with the mask and, for
// GPT-2, positions; the first step of a sequence starts a new cache. It
// returns each row's logits of its last position.
func (r *gqaRunner) step(t testing.TB, ids, mask, pos [][]int64) [][]float32 {
	t.Helper()
	c := r.m.Config
	b := len(ids)
	var owned []ort.Value
	defer func() {
		for _, v := range owned {
			v.Destroy()
		}
	}()
	int64Tensor := func(rows [][]int64) ort.Value {
		var flat []int64
		for _, row := range rows {
			flat = append(flat, row...)
		}
		v, err := ort.NewTensor(ort.NewShape(int64(len(rows)), int64(len(rows[0]))), flat)
		if err != nil {
			t.Fatal(err)
		}
		owned = append(owned, v)
		return v
	}
	if r.cache == nil {
		n := 0
		if r.shared {
			n = r.maxLen
		}
		for range 2 * c.Layers {
			v, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(b), int64(c.KVHeads), int64(n), int64(c.HeadDim)))
			if err != nil {
				t.Fatal(err)
			}
			r.cache = append(r.cache, v)
		}
	}
	inputs := make([]ort.Value, len(r.m.InputNames))
	for i, name := range r.m.InputNames {
		switch name {
		case InputIDs:
			inputs[i] = int64Tensor(ids)
		case AttentionMask:
			inputs[i] = int64Tensor(mask)
		case PositionIDs:
			inputs[i] = int64Tensor(pos)
		default:
			found := false
			for l := range c.Layers {
				if name == PastKey(l) {
					inputs[i], found = r.cache[2*l], true
				} else if name == PastValue(l) {
					inputs[i], found = r.cache[2*l+1], true
				}
			}
			if !found {
				t.Fatalf("unexpected input %q", name)
			}
		}
	}
	outputs := make([]ort.Value, 1+2*c.Layers)
	if r.shared {
		for i, v := range r.cache {
			outputs[1+i] = v
		}
	}
	if err := r.sess.Run(inputs, outputs); err != nil {
		t.Fatalf("run: %v", err)
	}
	lt := outputs[0].(*ort.Tensor[float32])
	defer lt.Destroy()
	if got := lt.GetShape(); len(got) != 3 || got[0] != int64(b) || got[1] != 1 || got[2] != int64(c.Vocab) {
		t.Fatalf("logits shape %v, want [%d 1 %d]", got, b, c.Vocab)
	}
	if !r.shared {
		r.drop()
		for _, v := range outputs[1:] {
			r.cache = append(r.cache, v.(*ort.Tensor[float32]))
		}
	} else {
		for i, v := range outputs[1:] {
			if v != ort.Value(r.cache[i]) {
				t.Fatalf("present %d is not the shared buffer", i)
			}
		}
	}
	data := lt.GetData()
	out := make([][]float32, b)
	for i := range b {
		out[i] = append([]float32(nil), data[i*c.Vocab:(i+1)*c.Vocab]...)
	}
	return out
}

// runGQAChecks runs the sequence ids through r (prefill of prompt tokens, then
// one token per step) and compares each step's logits with want[position],
// then a right-padded batch of two rows of different lengths against each
// row alone (want for the long row; ref computes any sequence).
func runGQAChecks(t *testing.T, r *gqaRunner, ids []int64, prompt int, want [][]float32, ref func([]int64) [][]float32) {
	positions := func(from, n int) []int64 {
		p := make([]int64, n)
		for i := range p {
			p[i] = int64(from + i)
		}
		return p
	}
	t.Run("prefill and decode", func(t *testing.T) {
		r.drop()
		got := r.step(t, [][]int64{ids[:prompt]}, [][]int64{ones(prompt)}, [][]int64{positions(0, prompt)})
		if d := maxAbsDiff(got[0], want[prompt-1]); d > tol {
			t.Errorf("prefill: max |ort − reference| = %.3g > %g", d, tol)
		}
		for n := prompt; n < len(ids); n++ {
			got = r.step(t, [][]int64{{ids[n]}}, [][]int64{ones(n + 1)}, [][]int64{{int64(n)}})
			if d := maxAbsDiff(got[0], want[n]); d > tol {
				t.Errorf("decode after %d tokens: max |ort − reference| = %.3g > %g", n+1, d, tol)
			}
		}
	})
	t.Run("right-padded batch", func(t *testing.T) {
		r.drop()
		long := ids[:prompt+2]
		short := []int64{7, 30, 4, 61}
		pad := len(long) - len(short)
		rows := [][]int64{append(append([]int64(nil), short...), make([]int64, pad)...), long}
		mask := [][]int64{append(ones(len(short)), make([]int64, pad)...), ones(len(long))}
		pos := [][]int64{append(positions(0, len(short)), make([]int64, pad)...), positions(0, len(long))}
		got := r.step(t, rows, mask, pos)
		next := [2]int64{25, 33}
		wantShort := ref(append(append([]int64(nil), short...), next[0], 9))
		wantLong := ref(append(append([]int64(nil), long...), next[1], 9))
		if d := maxAbsDiff(got[0], wantShort[len(short)-1]); d > tol {
			t.Errorf("padded row, prefill: max |ort − row alone| = %.3g", d)
		}
		if d := maxAbsDiff(got[1], wantLong[len(long)-1]); d > tol {
			t.Errorf("full row, prefill: max |ort − row alone| = %.3g", d)
		}
		// Two decode steps, each row at its own length.
		lens := [2]int{len(short), len(long)}
		for s, tok := range [][2]int64{next, {9, 9}} {
			width := lens[1] + 1
			m := make([][]int64, 2)
			for row := range 2 {
				m[row] = append(ones(lens[row]+1), make([]int64, width-lens[row]-1)...)
			}
			got = r.step(t, [][]int64{{tok[0]}, {tok[1]}}, m, [][]int64{{int64(lens[0])}, {int64(lens[1])}})
			if d := maxAbsDiff(got[0], wantShort[lens[0]]); d > tol {
				t.Errorf("padded row, decode step %d: max |ort − row alone| = %.3g", s+1, d)
			}
			if d := maxAbsDiff(got[1], wantLong[lens[1]]); d > tol {
				t.Errorf("full row, decode step %d: max |ort − row alone| = %.3g", s+1, d)
			}
			lens[0]++
			lens[1]++
		}
	})
}

// tinyGQALlama is the family's tiny config with head_dim 16, the least
// GroupQueryAttention's CPU kernel takes.
func tinyGQALlama(t testing.TB, family string) LlamaConfig {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(tinyLlamaConfigs[family]), &raw); err != nil {
		t.Fatal(err)
	}
	raw["head_dim"] = 16
	b, _ := json.Marshal(raw)
	c, err := ParseLlamaConfig(b)
	if err != nil {
		t.Fatalf("%s: %v", family, err)
	}
	return c
}

// TestGQALlamaMatchesReference: every family built in StyleGQA (rotary
// inside GroupQueryAttention, q/k norms before it, sliding windows as
// local_window_size) gives ORT logits equal to the float64 reference
// within 1e-4, in prefill and in decode with the cache shared in place and
// concatenated, and a right-padded batch equals each row alone.
func TestGQALlamaMatchesReference(t *testing.T) {
	for _, family := range LlamaFamilies {
		for _, precision := range []string{PrecisionFP32, PrecisionInt4} {
			t.Run(family+"/"+precision, func(t *testing.T) {
				c := tinyGQALlama(t, family)
				fill := strongWeights(11)
				q := exactQuant(t, precision, 16)
				dir := t.TempDir()
				if err := writeLlama(dir, c, fill, q, pipeInfo{Name: "test", Style: StyleGQA, BuilderVersion: BuilderVersion}, ""); err != nil {
					t.Fatal(err)
				}
				ref := func(ids []int64) [][]float32 { return llamaReference(t, c, quantizedFill(fill, q, llamaRole), ids) }
				ids := testIDs(10, c.Vocab)
				want := ref(ids)
				for _, shared := range []bool{true, false} {
					t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
						runGQAChecks(t, newGQARunner(t, dir, shared), ids, 6, want, ref)
					})
				}
			})
		}
	}
}

// TestGQAGPT2MatchesReference: GPT-2 in StyleGQA (learned positions from
// position_ids, no rotary) equals the reference the same ways.
func TestGQAGPT2MatchesReference(t *testing.T) {
	cfg := GPT2Tiny()
	for _, precision := range []string{PrecisionFP32, PrecisionInt8} {
		t.Run(precision, func(t *testing.T) {
			q := exactQuant(t, precision, 32)
			dir := t.TempDir()
			f, err := os.Create(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if err := buildGPT2(f, cfg, BuildOptions{Seed: 5, Style: StyleGQA}, q); err != nil {
				t.Fatal(err)
			}
			f.Close()
			js, _ := marshalHFConfig(cfg, pipeInfo{Name: "test", Style: StyleGQA, BuilderVersion: BuilderVersion})
			os.WriteFile(filepath.Join(dir, "config.json"), js, 0o644)
			if err := writeGenAIConfig(dir, cfg, "gpt2", true); err != nil {
				t.Fatal(err)
			}
			w := weightsOf(cfg, quantizedFill(seededWeights(5), q, gpt2Role))
			ref := func(ids []int64) [][]float32 { return referenceLogits(cfg, w, ids) }
			ids := testIDs(10, cfg.Vocab)
			want := ref(ids)
			for _, shared := range []bool{true, false} {
				t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
					runGQAChecks(t, newGQARunner(t, dir, shared), ids, 6, want, ref)
				})
			}
		})
	}
}

// TestGQABuiltinLayout: a built-in model in StyleGQA is a GenAI directory
// that Load reads as one: genai_config.json names the decoder and the
// cache templates, asks for the shared buffer, and the graph's logits are
// the last position only.
func TestGQABuiltinLayout(t *testing.T) {
	t.Setenv("PIPE_CACHE", t.TempDir())
	for _, name := range []string{"gpt2-tiny", "smollm2-135m"} {
		if name == "smollm2-135m" && testing.Short() {
			continue
		}
		dir, err := BuiltinWith(name, BuildOptions{Style: StyleGQA, Precision: PrecisionInt4})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, GenAIConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		var g genaiFile
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		if !g.Search.ShareBuffer || g.Model.Decoder.Filename != "model.onnx" || g.Search.MaxLength <= 0 {
			t.Errorf("%s: genai_config.json %s", name, b)
		}
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !m.ShareBuffer || m.MaxLength != g.Search.MaxLength || !m.LogitsLastOnly || m.Style != StyleGQA {
			t.Errorf("%s: Load: share %v, max length %d, last-only logits %v, style %s", name, m.ShareBuffer, m.MaxLength, m.LogitsLastOnly, m.Style)
		}
		if m.Ops["GroupQueryAttention"] != m.Config.Layers || m.Ops["MatMulNBits"] == 0 {
			t.Errorf("%s: ops %v", name, m.Ops)
		}
	}
}

// TestLlamaProjectionsPacked: every family's built graph runs four
// products per layer, q·k·v and gate·up packed, o and down (plus the LM
// head), where the unpacked graph ran seven (q, k, v, o, gate, up, down): counted in
// the model.onnx Load reads, at fp32 (Gemm) and int4 (MatMulNBits), in
// both styles. GroupQueryAttention takes the packed QKV unsplit except
// where qwen3's q/k norms come between.
func TestLlamaProjectionsPacked(t *testing.T) {
	for _, family := range LlamaFamilies {
		for _, style := range []string{StyleGQA, StyleOptimum} {
			for _, precision := range []string{PrecisionFP32, PrecisionInt4} {
				c := tinyGQALlama(t, family)
				dir := t.TempDir()
				if err := writeLlama(dir, c, strongWeights(1), exactQuant(t, precision, 16), pipeInfo{Name: "test", Style: style, BuilderVersion: BuilderVersion}, ""); err != nil {
					t.Fatal(err)
				}
				m, err := Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				product := "Gemm"
				if precision == PrecisionInt4 {
					product = "MatMulNBits"
				}
				if got, want := m.Ops[product], 4*c.Layers+1; got != want {
					t.Errorf("%s/%s/%s: %d %s, want %d (4 per layer and the head): ops %v", family, style, precision, got, product, want, m.Ops)
				}
				if style != StyleGQA {
					continue
				}
				splits := c.Layers // gate·up; GroupQueryAttention unpacks q·k·v itself
				if c.QKNorm {
					splits = 2 * c.Layers
				}
				if m.Ops["Split"] != splits {
					t.Errorf("%s/%s/%s: %d Split, want %d: ops %v", family, style, precision, m.Ops["Split"], splits, m.Ops)
				}
			}
		}
	}
}
