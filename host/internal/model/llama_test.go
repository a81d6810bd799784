package model

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
	"github.com/pipe-bench/pipe/host/internal/safetensors"
	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"
)

// tinyLlamaConfigs are one small config.json per family, each switching on
// what makes the family differ: rope scaling, biases, q/k norms, an explicit
// head_dim, fused projections, sliding windows narrower than the test
// sequences, tied and untied heads.
var tinyLlamaConfigs = map[string]string{
	"llama": `{"model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 80, "max_position_embeddings": 64,
		"rms_norm_eps": 1e-5, "rope_theta": 10000, "attention_bias": true, "mlp_bias": true, "tie_word_embeddings": true,
		"rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 16}}`,
	"mistral": `{"model_type": "mistral", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 80, "max_position_embeddings": 64,
		"rms_norm_eps": 1e-5, "rope_theta": 1000000, "sliding_window": 3, "tie_word_embeddings": false}`,
	"qwen2": `{"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 80, "max_position_embeddings": 64,
		"rms_norm_eps": 1e-6, "rope_theta": 1000000, "use_sliding_window": true, "sliding_window": 4,
		"max_window_layers": 1, "tie_word_embeddings": true}`,
	"qwen3": `{"model_type": "qwen3", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 80,
		"max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 1000000, "tie_word_embeddings": false}`,
	"phi3": `{"model_type": "phi3", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 80, "max_position_embeddings": 64,
		"rms_norm_eps": 1e-5, "rope_theta": 10000, "rope_scaling": {"type": "linear", "factor": 2},
		"sliding_window": 5, "tie_word_embeddings": false}`,
}

func tinyLlama(t testing.TB, family string) LlamaConfig {
	t.Helper()
	c, err := ParseLlamaConfig([]byte(tinyLlamaConfigs[family]))
	if err != nil {
		t.Fatalf("%s: %v", family, err)
	}
	return c
}

// strongWeights is the seeded generator at test strength: random tensors
// scaled to std 0.3 and norm scales 1 ± 0.2, so attention is far from
// uniform and a misplaced rotation, norm or bias moves the logits by much
// more than the tolerance (at GPT-2's std 0.02 the scores of a 32-wide
// model are nearly flat).
func strongWeights(seed uint64) weightFill {
	return func(ws weightSpec, dst []float32) error {
		init := ws.init
		ws.init = initRandom
		ws.fill(seed, dst)
		for i := range dst {
			if init == initOnes {
				dst[i] = 1 + 10*dst[i]
			} else {
				dst[i] *= 15
			}
		}
		return nil
	}
}

// buildLlamaTo writes c with fill into a fresh model directory, in the
// optimum style with every position's logits (allLogits; see buildTo).
func buildLlamaTo(t testing.TB, c LlamaConfig, fill weightFill) string {
	t.Helper()
	dir := t.TempDir()
	if err := writeLlama(dir, c, fill, Quant{}, pipeInfo{Name: "test-" + c.ModelType, Style: StyleOptimum, BuilderVersion: BuilderVersion, allLogits: true}, ""); err != nil {
		t.Fatal(err)
	}
	return dir
}

func llamaReference(t testing.TB, c LlamaConfig, fill weightFill, ids []int64) [][]float32 {
	t.Helper()
	w, err := llamaWeights(c, fill)
	if err != nil {
		t.Fatal(err)
	}
	return LlamaReferenceLogits(c, w, ids)
}

// TestLlamaFamiliesMatchReference: for every family, ONNX Runtime's logits
// of the built graph equal the float64 reference in prefill, in cached
// decode (each step's present fed back as past, checked against a full
// recompute), and for a left-padded batch row against the row alone.
func TestLlamaFamiliesMatchReference(t *testing.T) {
	for _, family := range LlamaFamilies {
		t.Run(family, func(t *testing.T) {
			c := tinyLlama(t, family)
			fill := strongWeights(11)
			r := newRunner(t, buildLlamaTo(t, c, fill))
			if r.m.Style != StyleOptimum || r.m.Config.Heads != c.Heads || r.m.Config.KVHeads != c.KVHeads || r.m.Config.HeadDim != c.HeadDim {
				t.Fatalf("Load: style %s, heads %d/%d, head_dim %d; want optimum, %d/%d, %d",
					r.m.Style, r.m.Config.Heads, r.m.Config.KVHeads, r.m.Config.HeadDim, c.Heads, c.KVHeads, c.HeadDim)
			}
			const prompt, steps = 6, 4
			ids := testIDs(prompt+steps, c.Vocab)
			want := llamaReference(t, c, fill, ids)

			t.Run("prefill and cached decode", func(t *testing.T) {
				checkPrefillThenDecode(t, r, ids, prompt, want)
			})

			t.Run("left-padded batch", func(t *testing.T) {
				const pad = 3
				long := ids[:prompt+pad]
				short := []int64{7, 30, 4, 61, 12, 2}
				shortNext, longNext := int64(25), int64(33)
				rows := [][]int64{append(make([]int64, pad), short...), long}
				mask := [][]int64{append(make([]int64, pad), ones(len(short))...), ones(len(long))}
				pos := [][]int64{append([]int64{1, 1, 1}, iota64(len(short))...), iota64(len(long))}
				out := r.step(t, rows, mask, pos, nil)
				defer out.destroy()
				wantShort := llamaReference(t, c, fill, append(append([]int64(nil), short...), shortNext))
				wantLong := llamaReference(t, c, fill, append(append([]int64(nil), long...), longNext))
				for i := range short {
					if d := maxAbsDiff(out.logits[0][pad+i], wantShort[i]); d > tol {
						t.Errorf("padded row, position %d: max |ort − row alone| = %.3g", i, d)
					}
				}
				for i := range long {
					if d := maxAbsDiff(out.logits[1][i], wantLong[i]); d > tol {
						t.Errorf("full row, position %d: max |ort − row alone| = %.3g", i, d)
					}
				}
				mask = [][]int64{append(mask[0], 1), append(mask[1], 1)}
				dec := r.step(t, [][]int64{{shortNext}, {longNext}}, mask, [][]int64{{int64(len(short))}, {int64(len(long))}}, out.present)
				defer dec.destroy()
				if d := maxAbsDiff(dec.logits[0][0], wantShort[len(short)]); d > tol {
					t.Errorf("padded row, decode step: max |ort − row alone| = %.3g", d)
				}
				if d := maxAbsDiff(dec.logits[1][0], wantLong[len(long)]); d > tol {
					t.Errorf("full row, decode step: max |ort − row alone| = %.3g", d)
				}
			})
		})
	}
}

func ones(n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func iota64(n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(i)
	}
	return v
}

// TestLlamaReferenceIsNotTrivial guards the oracle: the features the
// families switch on must change its logits, else agreeing with it would
// prove nothing about them.
func TestLlamaReferenceIsNotTrivial(t *testing.T) {
	ids := testIDs(8, 80)
	fill := strongWeights(3)
	cases := []struct {
		family string
		change func(*LlamaConfig)
	}{
		{"llama", func(c *LlamaConfig) { c.Rope = RopeScaling{} }},
		{"llama", func(c *LlamaConfig) { c.RopeTheta = 500 }},
		{"mistral", func(c *LlamaConfig) { c.SlidingWindow = 0 }},
		{"qwen2", func(c *LlamaConfig) { c.SlidingLayer = []bool{false, false} }},
	}
	for _, tc := range cases {
		c := tinyLlama(t, tc.family)
		base := llamaReference(t, c, fill, ids)
		tc.change(&c)
		if c.SlidingWindow == 0 {
			c.SlidingLayer = make([]bool, c.Layers)
		}
		if d := maxAbsDiff(base[7], llamaReference(t, c, fill, ids)[7]); d < 1e-3 {
			t.Errorf("%s: the change moved the last logits by only %.3g", tc.family, d)
		}
	}
	// Causality: a later token leaves earlier logits alone.
	c := tinyLlama(t, "qwen3")
	a := llamaReference(t, c, fill, []int64{1, 2, 3})
	b := llamaReference(t, c, fill, []int64{1, 2, 9})
	if d := maxAbsDiff(a[1], b[1]); d != 0 {
		t.Errorf("position 1 changed with token 2: %.3g", d)
	}
}

// llamaExpected is a fixture's expected.json, written by
// scripts/make-llama-fixture.py from its own torch forward pass.
type llamaExpected struct {
	Prompt       []int64     `json:"prompt"`
	PromptLogits [][]float32 `json:"prompt_logits"`
	Greedy       []int64     `json:"greedy"`
	StepLogits   [][]float32 `json:"step_logits"`
}

// TestCheckpointsMatchTorch builds each checkpoint under testdata/llama
// (safetensors with Hugging Face names, F32/F16/BF16, one file or sharded,
// written by scripts/make-llama-fixture.py) through Resolve, as `pipe
// generate --model DIR` does, and checks ONNX Runtime against torch: the
// prompt logits, then greedy decoding with the KV cache — the same ids, and
// each step's logits. Regenerate the fixtures with
// `/usr/bin/python3 scripts/make-llama-fixture.py host/internal/model/testdata/llama`.
func TestCheckpointsMatchTorch(t *testing.T) {
	requireORT(t) // before PIPE_CACHE moves the cache that holds the library
	t.Setenv("PIPE_CACHE", t.TempDir())
	dirs, _ := filepath.Glob("testdata/llama/*")
	if len(dirs) < len(LlamaFamilies) {
		t.Fatalf("%d fixtures under testdata/llama, want one per family: run scripts/make-llama-fixture.py", len(dirs))
	}
	for _, src := range dirs {
		t.Run(filepath.Base(src), func(t *testing.T) {
			var exp llamaExpected
			b, err := os.ReadFile(filepath.Join(src, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &exp); err != nil {
				t.Fatal(err)
			}
			dir, err := Resolve(src, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if dir == src || !strings.HasPrefix(dir, os.Getenv("PIPE_CACHE")) {
				t.Fatalf("Resolve(%s) = %s, want a build in the cache", src, dir)
			}
			r := newRunner(t, dir)
			in, mask, pos := seqInputs(exp.Prompt)
			out := r.step(t, in, mask, pos, nil)
			for j, row := range out.logits[0] {
				if d := maxAbsDiff(row, exp.PromptLogits[out.first+j]); d > tol {
					t.Errorf("prompt position %d: max |ort − torch| = %.3g > %g", out.first+j, d, tol)
				}
			}
			ids := append([]int64(nil), exp.Prompt...)
			var greedy []int64
			last := out.logits[0][len(out.logits[0])-1]
			for s := range exp.Greedy {
				if d := maxAbsDiff(last, exp.StepLogits[s]); d > tol {
					t.Errorf("greedy step %d: max |ort − torch| = %.3g > %g", s, d, tol)
				}
				next := int64(argmax(last))
				greedy = append(greedy, next)
				if s == len(exp.Greedy)-1 {
					break
				}
				ids = append(ids, next)
				_, mask, _ = seqInputs(ids)
				step := r.step(t, [][]int64{{next}}, mask, [][]int64{{int64(len(ids) - 1)}}, out.present)
				out.destroy()
				out = step
				last = out.logits[0][0]
			}
			out.destroy()
			if !slices.Equal(greedy, exp.Greedy) {
				t.Errorf("greedy ids %v, torch %v", greedy, exp.Greedy)
			}
			again, err := Resolve(src, 0, "")
			if err != nil || again != dir {
				t.Errorf("second Resolve = %s, %v; want the cached %s", again, err, dir)
			}
		})
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// TestGoReferenceMatchesTorch pins the two independent oracles together on
// the fixtures (the Go float64 pass reading the checkpoint's weights).
func TestGoReferenceMatchesTorch(t *testing.T) {
	for _, src := range []string{"testdata/llama/qwen3-f32", "testdata/llama/phi3-bf16", "testdata/llama/llama-f32"} {
		c, err := ReadLlamaConfig(filepath.Join(src, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		fill, ck := openFixture(t, src, c)
		w, err := llamaWeights(c, fill)
		ck.Close()
		if err != nil {
			t.Fatal(err)
		}
		var exp llamaExpected
		b, _ := os.ReadFile(filepath.Join(src, "expected.json"))
		if err := json.Unmarshal(b, &exp); err != nil {
			t.Fatal(err)
		}
		got := LlamaReferenceLogits(c, w, exp.Prompt)
		for i := range got {
			if d := maxAbsDiff(got[i], exp.PromptLogits[i]); d > tol {
				t.Errorf("%s position %d: max |go − torch| = %.3g > %g", src, i, d, tol)
			}
		}
	}
}

// copyDir copies the files of src into a fresh directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestLlamaBadInput: each bad config or checkpoint is refused by Resolve
// with one line naming the problem.
func TestLlamaBadInput(t *testing.T) {
	t.Setenv("PIPE_CACHE", t.TempDir())
	editConfig := func(dir string, edit func(map[string]any)) {
		p := filepath.Join(dir, "config.json")
		b, _ := os.ReadFile(p)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, _ = json.Marshal(m)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		fixture string
		prepare func(dir string)
		want    []string
	}{
		{"unknown model_type", "llama-f32", func(d string) { editConfig(d, func(m map[string]any) { m["model_type"] = "gemma2" }) },
			[]string{`model_type "gemma2" is not an architecture pipe builds`, "llama, mistral, qwen2, qwen3, phi3"}},
		{"unsupported rope_scaling", "llama-f32", func(d string) {
			editConfig(d, func(m map[string]any) { m["rope_scaling"] = map[string]any{"rope_type": "yarn", "factor": 4} })
		}, []string{`rope_scaling type "yarn" is not supported`, "default, linear, llama3"}},
		{"dynamic rope_scaling", "llama-f32", func(d string) {
			editConfig(d, func(m map[string]any) { m["rope_scaling"] = map[string]any{"type": "dynamic", "factor": 2} })
		}, []string{`rope_scaling type "dynamic" is not supported`}},
		{"missing tensor", "mistral-bf16", func(d string) {
			// qwen2 has q/k/v biases, which a mistral checkpoint lacks.
			editConfig(d, func(m map[string]any) { m["model_type"] = "qwen2" })
		}, []string{"tensor model.layers.0.self_attn.q_proj.bias [32] is missing"}},
		{"missing lm_head", "llama-f32", func(d string) { editConfig(d, func(m map[string]any) { m["tie_word_embeddings"] = false }) },
			[]string{"tensor lm_head.weight [96 32] is missing"}},
		{"wrong shape", "llama-f32", func(d string) { editConfig(d, func(m map[string]any) { m["intermediate_size"] = 40 }) },
			[]string{"tensor model.layers.0.mlp.gate_proj.weight has shape [48 32], but config.json implies [40 32]"}},
		{"shard missing", "qwen2-f16-sharded", func(d string) { os.Remove(filepath.Join(d, "model-00002-of-00002.safetensors")) },
			[]string{"model.safetensors.index.json", "lives in model-00002-of-00002.safetensors, which is missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, filepath.Join("testdata/llama", tc.fixture))
			tc.prepare(dir)
			_, err := Resolve(dir, 0, "")
			if err == nil {
				t.Fatal("Resolve accepted it")
			}
			checkOneLineError(t, err, tc.want)
		})
	}
}

// openFixture opens a fixture's checkpoint and checks it against c.
func openFixture(t testing.TB, dir string, c LlamaConfig) (weightFill, *safetensors.Checkpoint) {
	t.Helper()
	ck, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	fill, err := checkpointWeights(ck, c)
	if err != nil {
		ck.Close()
		t.Fatal(err)
	}
	return fill, ck
}

// TestLlamaPresets: the embedded configs parse, resolve as built-in names,
// and have the published parameter counts (Hugging Face model cards:
// SmolLM2-135M 134,515,008; Qwen2.5-0.5B 494,032,768; Llama-3.2-1B
// 1,235,814,400 — each with its tied head counted once).
func TestLlamaPresets(t *testing.T) {
	want := map[string]struct {
		params                       int64
		layers, heads, kv, hd, vocab int
		rope                         string
	}{
		"smollm2-135m": {134515008, 30, 9, 3, 64, 49152, ""},
		"qwen2.5-0.5b": {494032768, 24, 14, 2, 64, 151936, ""},
		"llama-3.2-1b": {1235814400, 16, 32, 8, 64, 128256, "llama3"},
	}
	if got := LlamaPresetNames(); len(got) != len(want) {
		t.Errorf("LlamaPresetNames = %v", got)
	}
	for name, w := range want {
		c, ok := llamaPreset(name)
		if !ok {
			t.Fatalf("no preset %s", name)
		}
		if !IsBuiltin(name) || Presets[name]().Vocab != w.vocab {
			t.Errorf("%s: IsBuiltin %v, Presets vocab %d", name, IsBuiltin(name), Presets[name]().Vocab)
		}
		if p := llamaParams(c); p != w.params {
			t.Errorf("%s: %d parameters, published %d", name, p, w.params)
		}
		if c.Layers != w.layers || c.Heads != w.heads || c.KVHeads != w.kv || c.HeadDim != w.hd || c.Rope.Type != w.rope || !c.TiedHead {
			t.Errorf("%s: %+v", name, c)
		}
		if c.SlidingWindow != 0 {
			t.Errorf("%s: sliding window %d; none of the presets windows attention", name, c.SlidingWindow)
		}
	}
}

// TestLlamaConfigOnlyDirectory: a directory holding only a config.json is
// built with seeded random weights into the cache, one entry per seed, and
// runs as the reference computes it.
func TestLlamaConfigOnlyDirectory(t *testing.T) {
	requireORT(t) // before PIPE_CACHE moves the cache that holds the library
	t.Setenv("PIPE_CACHE", t.TempDir())
	src := filepath.Join(t.TempDir(), "tiny-qwen3")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "config.json"), []byte(tinyLlamaConfigs["qwen3"]), 0o644); err != nil {
		t.Fatal(err)
	}
	tokConfig := []byte(`{"model_max_length": 64}`)
	if err := os.WriteFile(filepath.Join(src, "tokenizer_config.json"), tokConfig, 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := Resolve(src, 5, StyleFused)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Resolve(src, 6, "")
	if err != nil || other == dir {
		t.Fatalf("seed 6: %s, %v; want an entry other than seed 5's %s", other, err, dir)
	}
	r := newRunner(t, dir)
	if r.m.Name != "tiny-qwen3" || r.m.Seed != 5 || r.m.Style != StyleOptimum {
		t.Errorf("Name, Seed, Style = %q, %d, %q; want tiny-qwen3, 5, optimum", r.m.Name, r.m.Seed, r.m.Style)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err != nil || string(b) != string(tokConfig) {
		t.Errorf("tokenizer_config.json not copied into the build: %q, %v", b, err)
	}
	c := tinyLlama(t, "qwen3")
	ids := testIDs(7, c.Vocab)
	want := llamaReference(t, c, seededWeights(5), ids)
	in, mask, pos := seqInputs(ids)
	out := r.step(t, in, mask, pos, nil)
	defer out.destroy()
	for j, row := range out.logits[0] {
		if d := maxAbsDiff(row, want[out.first+j]); d > tol {
			t.Errorf("position %d: max |ort − reference| = %.3g > %g", out.first+j, d, tol)
		}
	}
}

// TestExternalDataMatchesInline: the same model written with its weights in
// model.onnx.data (as models past 2 GB are) loads, counts the side file, and
// computes bit-identical logits.
func TestExternalDataMatchesInline(t *testing.T) {
	c := tinyLlama(t, "llama")
	fill := strongWeights(2)
	inline := buildLlamaTo(t, c, fill)
	ext := buildLlamaTo(t, c, fill)
	f, err := os.Create(filepath.Join(ext, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.Create(filepath.Join(ext, externalDataName))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeModel(f, &externalData{w: data, location: externalDataName}, newLlamaGraph(c, Quant{}).build(), llamaOuts(c, fill, Quant{}), false); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data.Close()
	os.Remove(filepath.Join(ext, "model.onnx"+digestSuffix))
	ids := testIDs(5, c.Vocab)
	in, mask, pos := seqInputs(ids)
	var logits [][]float32
	for _, dir := range []string{inline, ext} {
		r := newRunner(t, dir)
		out := r.step(t, in, mask, pos, nil)
		logits = append(logits, out.logits[0][len(out.logits[0])-1])
		out.destroy()
		// The weights plus RoPE's inverse frequencies.
		if want := llamaParams(c) + int64(c.HeadDim/2); r.m.Params != want {
			t.Errorf("%s: Params = %d, want %d", dir, r.m.Params, want)
		}
	}
	if d := maxAbsDiff(logits[0], logits[1]); d != 0 {
		t.Errorf("external vs inline: max diff %.3g, want 0", d)
	}
	st, _ := os.Stat(filepath.Join(ext, "model.onnx"))
	if st.Size() > 64<<10 {
		t.Errorf("model.onnx is %d bytes: the weights were written inline", st.Size())
	}
}

// TestLlamaFixturesReproduce reruns scripts/make-llama-fixture.py and
// checks it writes the committed fixtures byte for byte, so the torch
// oracle and testdata/llama cannot drift apart. It needs Debian's
// python3-torch and is skipped, saying so, where that is not installed.
func TestLlamaFixturesReproduce(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skip("SKIPPED: /usr/bin/python3 cannot import torch (apt-get install python3-torch); the committed fixtures are not re-derived")
	}
	out := t.TempDir()
	cmd := exec.Command("/usr/bin/python3", "../../../scripts/make-llama-fixture.py", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-llama-fixture.py: %v\n%s", err, b)
	}
	want, _ := filepath.Glob("testdata/llama/*/*")
	got, _ := filepath.Glob(filepath.Join(out, "*", "*"))
	if len(got) != len(want) {
		t.Errorf("the script wrote %d files, testdata/llama holds %d", len(got), len(want))
	}
	for _, w := range want {
		rel, _ := filepath.Rel("testdata/llama", w)
		a, _ := os.ReadFile(w)
		b, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s differs from what the script writes now (%v): regenerate with `/usr/bin/python3 scripts/make-llama-fixture.py host/internal/model/testdata/llama`", w, err)
		}
	}
}

// TestParseLlamaConfig: what each family's keys switch on, and a one-line
// refusal naming the key for what the builder cannot lay out exactly.
func TestParseLlamaConfig(t *testing.T) {
	base := `"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4,
		"vocab_size": 80, "max_position_embeddings": 64`
	parse := func(extra string) (LlamaConfig, error) {
		return ParseLlamaConfig([]byte("{" + base + ", " + extra + "}"))
	}
	ok := []struct {
		name, extra string
		check       func(LlamaConfig) bool
	}{
		{"defaults", `"model_type": "llama", "head_dim": null, "num_key_value_heads": null`, func(c LlamaConfig) bool {
			return c.HeadDim == 8 && c.KVHeads == 4 && c.RopeTheta == 10000 && !c.TiedHead && c.SlidingWindow == 0 && c.BOS == -1 && c.EOS == -1
		}},
		{"eos list", `"model_type": "llama", "bos_token_id": 1, "eos_token_id": [7, 8]`, func(c LlamaConfig) bool { return c.BOS == 1 && c.EOS == 7 }},
		{"qwen2 windows from max_window_layers", `"model_type": "qwen2", "use_sliding_window": true, "sliding_window": 8, "max_window_layers": 2`,
			func(c LlamaConfig) bool {
				return c.SlidingWindow == 8 && slices.Equal(c.SlidingLayer, []bool{false, false, true}) && c.QKVBias && !c.OBias
			}},
		{"qwen2 window off", `"model_type": "qwen2", "use_sliding_window": false, "sliding_window": 8`, func(c LlamaConfig) bool { return c.SlidingWindow == 0 }},
		{"layer_types", `"model_type": "qwen3", "sliding_window": 4, "layer_types": ["sliding_attention", "full_attention", "sliding_attention"]`,
			func(c LlamaConfig) bool {
				return c.SlidingWindow == 4 && slices.Equal(c.SlidingLayer, []bool{true, false, true}) && c.QKNorm
			}},
		{"rope_parameters (transformers 5)", `"model_type": "llama", "rope_parameters": {"rope_type": "linear", "factor": 4, "rope_theta": 500}`,
			func(c LlamaConfig) bool { return c.Rope.Type == "linear" && c.Rope.Factor == 4 && c.RopeTheta == 500 }},
		{"default rope type", `"model_type": "mistral", "rope_scaling": {"rope_type": "default"}`, func(c LlamaConfig) bool { return c.Rope.Type == "" }},
		{"phi3 fused", `"model_type": "phi3", "sliding_window": 2047`, func(c LlamaConfig) bool { return c.Fused && c.SlidingWindow == 2047 }},
	}
	for _, tc := range ok {
		c, err := parse(tc.extra)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if !tc.check(c) {
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
	bad := []struct{ extra, want string }{
		{`"model_type": "gpt_neox"`, `model_type "gpt_neox" is not an architecture pipe builds`},
		{`"model_type": "gpt2"`, `the built-in gpt2`},
		{`"hidden_size": 32`, `no model_type`},
		{`"model_type": "llama", "hidden_act": "gelu"`, `hidden_act "gelu"`},
		{`"model_type": "phi3", "partial_rotary_factor": 0.75`, `partial_rotary_factor 0.75`},
		{`"model_type": "llama", "rope_interleaved": true`, `rope_interleaved`},
		{`"model_type": "phi3", "rope_scaling": {"type": "longrope", "short_factor": [1], "long_factor": [1]}`, `rope_scaling type "longrope" is not supported`},
		{`"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8}`, `rope_scaling llama3`},
		{`"model_type": "llama", "num_key_value_heads": 3`, `num_attention_heads = 4 is not a multiple of num_key_value_heads = 3`},
		{`"model_type": "llama", "head_dim": 7`, `head_dim = 7`},
		{`"model_type": "qwen3", "layer_types": ["full_attention"]`, `layer_types has 1 entries but num_hidden_layers is 3`},
	}
	for _, tc := range bad {
		_, err := parse(tc.extra)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.extra, err, tc.want)
		}
	}
}

// TestLlamaGraphFusesInORT: ONNX Runtime's optimizer recognises the spelled
// out RMSNorm (SimplifiedLayerNormalization: two per layer, the final norm,
// and qwen3's q/k norms) and SiLU (QuickGelu, one per layer) of the built
// graph; a rewrite that breaks its patterns would run the unfused ops.
func TestLlamaGraphFusesInORT(t *testing.T) {
	requireORT(t)
	for _, family := range []string{"llama", "qwen3"} {
		c := tinyLlama(t, family)
		m, err := Load(buildLlamaTo(t, c, strongWeights(1)))
		if err != nil {
			t.Fatal(err)
		}
		opts, err := ort.NewSessionOptions()
		if err != nil {
			t.Fatal(err)
		}
		optimized := filepath.Join(t.TempDir(), "optimized.onnx")
		if err := opts.SetOptimizedModelFilePath(optimized); err != nil {
			t.Fatal(err)
		}
		outs := []string{Logits}
		for i := 0; i < m.Config.Layers; i++ {
			k, v := m.KVOutput(i)
			outs = append(outs, k, v)
		}
		sess, err := ort.NewDynamicAdvancedSession(m.Path, m.InputNames, outs, opts)
		opts.Destroy()
		if err != nil {
			t.Fatal(err)
		}
		sess.Destroy()
		b, err := os.ReadFile(optimized)
		if err != nil {
			t.Fatal(err)
		}
		var mp onnxpb.ModelProto
		if err := proto.Unmarshal(b, &mp); err != nil {
			t.Fatal(err)
		}
		ops := map[string]int{}
		for _, n := range mp.GetGraph().GetNode() {
			ops[n.GetOpType()]++
		}
		norms := 2*c.Layers + 1
		if c.QKNorm {
			norms += 2 * c.Layers
		}
		if ops["SimplifiedLayerNormalization"] != norms || ops["QuickGelu"] != c.Layers || ops["Pow"] != 0 || ops["Sigmoid"] != 0 {
			t.Errorf("%s: ORT left SimplifiedLayerNormalization ×%d (want %d), QuickGelu ×%d (want %d), Pow ×%d, Sigmoid ×%d (want 0)",
				family, ops["SimplifiedLayerNormalization"], norms, ops["QuickGelu"], c.Layers, ops["Pow"], ops["Sigmoid"])
		}
	}
}
