package ortgen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

const layoutSeed = 11

// genaiNames are deliberately not optimum's: a runtime that assumes the
// usual names cannot open the GenAI fixture.
var genaiFixtureNames = fixtureNames{"tokens", "mask", "scores", "cache.%d.k", "cache.%d.v", "cache_out.%d.k", "cache_out.%d.v"}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeTransformersJS writes a Transformers.js folder: config.json at the
// top, onnx/model.onnx (fp32, weights in three external files) and
// onnx/model_q4.onnx. It returns each variant's weights.
func writeTransformersJS(t *testing.T) (string, map[string]fixtureWeights) {
	t.Helper()
	dir := t.TempDir()
	s := layoutShape
	writeJSON(t, filepath.Join(dir, "config.json"), map[string]any{
		"model_type": "llama", "num_hidden_layers": s.Layers, "num_attention_heads": s.Heads, "num_key_value_heads": s.KVHeads,
		"hidden_size": s.Hidden, "vocab_size": s.Vocab, "max_position_embeddings": s.MaxLen, "bos_token_id": 1, "eos_token_id": 2,
	})
	w := map[string]fixtureWeights{
		"fp32": writeLayoutModel(t, filepath.Join(dir, "onnx", "model.onnx"), s, fixtureSpec{mode: "fp32", names: optimumFixtureNames, external: "_data"}, layoutSeed),
		"q4":   writeLayoutModel(t, filepath.Join(dir, "onnx", "model_q4.onnx"), s, fixtureSpec{mode: "q4", names: optimumFixtureNames}, layoutSeed),
	}
	return dir, w
}

// genaiConfigFor is a genai_config.json for the fixture, as ONNX Runtime
// GenAI's model builder writes one, with the fixture's custom names.
func genaiConfigFor(s fixtureShape, file string, n fixtureNames, share bool) map[string]any {
	return map[string]any{
		"model": map[string]any{
			"bos_token_id": 1, "eos_token_id": []int{2, 3}, "pad_token_id": 0, "context_length": s.MaxLen, "vocab_size": s.Vocab, "type": "llama",
			"decoder": map[string]any{
				"session_options": map[string]any{"log_id": "onnxruntime-genai", "intra_op_num_threads": 1, "provider_options": []any{}},
				"filename":        file, "head_size": s.HeadDim, "hidden_size": s.Hidden,
				"num_attention_heads": s.Heads, "num_key_value_heads": s.KVHeads, "num_hidden_layers": s.Layers,
				"inputs":  map[string]string{"input_ids": n.IDs, "attention_mask": n.Mask, "past_key_names": n.PastKey, "past_value_names": n.PastValue},
				"outputs": map[string]string{"logits": n.Logits, "present_key_names": n.PresKey, "present_value_names": n.PresVal},
			},
		},
		"search": map[string]any{"max_length": s.MaxLen, "past_present_share_buffer": share, "do_sample": false},
	}
}

// writeGenAI writes an ONNX Runtime GenAI folder for mode with a long
// custom decoder file name (its weights in external data for fp32).
func writeGenAI(t *testing.T, mode string, share bool) (string, fixtureWeights) {
	t.Helper()
	dir := t.TempDir()
	s := layoutShape
	file := "fixture-" + mode + "-gqa-cpu-decoder.onnx"
	spec := fixtureSpec{mode: mode, names: genaiFixtureNames}
	if mode == "fp32" {
		spec.external = ".data"
	}
	w := writeLayoutModel(t, filepath.Join(dir, file), s, spec, layoutSeed)
	writeJSON(t, filepath.Join(dir, model.GenAIConfigFile), genaiConfigFor(s, file, genaiFixtureNames, share))
	return dir, w
}

// readBytesPerToken is what a decode step of the fixture reads of its
// weights, counted from the weights the fixture wrote: everything but the
// token table (only gathered from), packed int4 weights and their float32
// scales as stored, and the float rope caches.
func readBytesPerToken(s fixtureShape, w fixtureWeights, elem, ropeElem int64) int64 {
	n := 2 * ropeElem * int64(s.MaxLen*s.HeadDim/2) // cos, sin
	for name, x := range w {
		switch {
		case name == "wte":
		case x.Packed != nil:
			n += int64(len(x.Packed)) + 4*int64(len(x.Scales))
		default:
			n += elem * int64(len(x.Data))
		}
	}
	return n
}

var layoutPrompts = [][]int64{{5, 17, 40, 3, 88}, {9, 1, 77, 23, 60, 12, 31, 45, 70}, {64, 2, 19}}

const layoutNewTokens = 8

// TestLayoutFixturesGreedy: for each layout and precision, greedy decoding
// through pipe's generator gives the ids of a numpy full recompute of the
// same weights (scripts/layout-fixture-reference.py), alone and in a batch
// of unequal rows (right-padded for GroupQueryAttention), with the GenAI
// cache shared (one buffer as past and present) and concatenated.
func TestLayoutFixturesGreedy(t *testing.T) {
	tjs, tjsW := writeTransformersJS(t)
	g32, g32W := writeGenAI(t, "fp32", true)
	g16, g16W := writeGenAI(t, "f16io", true)
	h16, h16W := writeGenAI(t, "f16", false)
	for _, tc := range []struct {
		name, dir, variant, mode string
		w                        fixtureWeights
		options                  map[string]string
		share                    bool
		kv, logits, precision    string
	}{
		{"transformers.js fp32, external data", tjs, "fp32", "fp32", tjsW["fp32"], nil, false, "float32", "float32", "fp32"},
		{"transformers.js q4", tjs, "q4", "q4", tjsW["q4"], nil, false, "float32", "float32", "int4"},
		{"genai fp32 share-buffer", g32, "", "fp32", g32W, nil, true, "float32", "float32", "fp32"},
		{"genai fp32 concat", g32, "", "fp32", g32W, map[string]string{ShareBufferKey: "0"}, false, "float32", "float32", "fp32"},
		{"genai f16 cache and logits share-buffer", g16, "", "f16io", g16W, nil, true, "float16", "float16", "fp32"},
		{"genai fp16 weights concat", h16, "", "f16", h16W, nil, false, "float16", "float16", "fp16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := model.LoadVariant(tc.dir, tc.variant)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Open(m, Options{IntraOpThreads: 1, SessionConfig: tc.options})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			info := g.Info()
			elem, ropeElem := int64(4), int64(4)
			if tc.mode == "f16" {
				elem = 2
			}
			if tc.kv == "float16" {
				ropeElem = 2
			}
			if want := readBytesPerToken(layoutShape, tc.w, elem, ropeElem); info.WeightBytesPerToken != want {
				t.Errorf("weight bytes per token %d, want %d", info.WeightBytesPerToken, want)
			}
			if tc.mode == "q4" {
				// The same weights as fp32, unpacked, plus the scales.
				m32, err := model.LoadVariant(tc.dir, "fp32")
				if err != nil {
					t.Fatal(err)
				}
				scales := 0
				for _, x := range tc.w {
					scales += len(x.Scales)
				}
				if info.Parameters != m32.Params+int64(scales) {
					t.Errorf("parameters %d, want fp32's %d + %d scales", info.Parameters, m32.Params, scales)
				}
			}
			if info.KVShareBuffer != tc.share || info.KVCacheType != tc.kv || info.LogitsType != tc.logits || info.WeightPrecision != tc.precision {
				t.Errorf("info: share %v, cache %s, logits %s, weights %s; want %v, %s, %s, %s",
					info.KVShareBuffer, info.KVCacheType, info.LogitsType, info.WeightPrecision, tc.share, tc.kv, tc.logits, tc.precision)
			}
			want := layoutReference(t, layoutShape, tc.mode, tc.w, layoutPrompts, layoutNewTokens)
			var alone [][]int64
			for i, p := range layoutPrompts {
				tr := generate(t, g, gen.Request{Prompts: [][]int64{p}, NewTokens: layoutNewTokens})
				if d := cmp.Diff(want[i], tr.OutputIDs[0]); d != "" {
					t.Errorf("prompt %d: greedy ids (-numpy +pipe):\n%s", i, d)
				}
				alone = append(alone, tr.OutputIDs[0])
			}
			tr := generate(t, g, gen.Request{Prompts: layoutPrompts, NewTokens: layoutNewTokens})
			if d := cmp.Diff(alone, tr.OutputIDs); d != "" {
				t.Errorf("batch of unequal rows (-alone +batched):\n%s", d)
			}
		})
	}
}

// TestLogitsToKeep: a graph taking logits_to_keep ([1] or rank 0) and
// cache_position (transformers' exports) is fed 1 and the positions; its
// logits are the last position's, so greedy ids equal the reference's, and a
// batch of unequal rows — which a right-padded prefill would read at the
// shorter rows' padding — is prefilled row by row and equals the rows alone,
// on the concat path and on the shared cache.
func TestLogitsToKeep(t *testing.T) {
	for _, scalar := range []bool{false, true} {
		for _, share := range []bool{false, true} {
			t.Run(fmt.Sprintf("rank0=%v/share=%v", scalar, share), func(t *testing.T) { testLogitsToKeep(t, scalar, share) })
		}
	}
}

func testLogitsToKeep(t *testing.T, scalar, share bool) {
	dir := t.TempDir()
	s := layoutShape
	w := writeLayoutModel(t, filepath.Join(dir, "model.onnx"), s, fixtureSpec{mode: "fp32", names: optimumFixtureNames, keep: true, keepScalar: scalar}, layoutSeed)
	if share {
		writeJSON(t, filepath.Join(dir, model.GenAIConfigFile), genaiConfigFor(s, "model.onnx", optimumFixtureNames, true))
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.IO.LogitsToKeep != model.LogitsToKeep || m.IO.CachePosition != model.CachePosition || m.LogitsToKeepScalar != scalar {
		t.Fatalf("IO %+v, scalar %v: want logits_to_keep (rank 0: %v) and cache_position found", m.IO, m.LogitsToKeepScalar, scalar)
	}
	g, err := Open(m, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Info().KVShareBuffer != share {
		t.Fatalf("shared cache %v, want %v", g.Info().KVShareBuffer, share)
	}
	want := layoutReference(t, s, "fp32", w, layoutPrompts, layoutNewTokens)
	for i, p := range layoutPrompts {
		tr := generate(t, g, gen.Request{Prompts: [][]int64{p}, NewTokens: layoutNewTokens})
		if d := cmp.Diff(want[i], tr.OutputIDs[0]); d != "" {
			t.Errorf("prompt %d (-numpy +pipe):\n%s", i, d)
		}
	}
	equal := [][]int64{layoutPrompts[0], layoutPrompts[0]}
	if tr := generate(t, g, gen.Request{Prompts: equal, NewTokens: layoutNewTokens}); cmp.Diff([][]int64{want[0], want[0]}, tr.OutputIDs) != "" {
		t.Errorf("batch of equal rows: %v, want %v twice", tr.OutputIDs, want[0])
	}
	tr := generate(t, g, gen.Request{Prompts: layoutPrompts, NewTokens: layoutNewTokens})
	if d := cmp.Diff(want, tr.OutputIDs); d != "" {
		t.Errorf("batch of unequal rows (-numpy +pipe):\n%s", d)
	}
}

// TestDecoderLayouts: the device-resident cache path (ortcuda, here on the
// CPU provider) generates what the host path generates for the layout
// fixtures: GroupQueryAttention right-padded, a float16 cache and logits,
// int4 weights; a graph taking logits_to_keep is refused there in one line.
func TestDecoderLayouts(t *testing.T) {
	tjs, _ := writeTransformersJS(t)
	f16, _ := writeGenAI(t, "f16io", false)
	reqs := map[string]gen.Request{"batch": {Prompts: layoutPrompts, NewTokens: layoutNewTokens}}
	for i, p := range layoutPrompts {
		reqs[fmt.Sprint("prompt ", i)] = gen.Request{Prompts: [][]int64{p}, NewTokens: layoutNewTokens}
	}
	for _, tc := range []struct{ name, dir, variant string }{
		{"fp32", tjs, "fp32"}, {"q4", tjs, "q4"}, {"f16 cache and logits", f16, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := model.LoadVariant(tc.dir, tc.variant)
			if err != nil {
				t.Fatal(err)
			}
			host, err := Open(m, Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer host.Close()
			dev, err := withDecoder(t, host, Options{IntraOpThreads: 1}, false)
			if err != nil {
				t.Fatal(err)
			}
			for name, req := range reqs {
				w, g := generate(t, host, req), generate(t, dev, req)
				if d := cmp.Diff(w.OutputIDs, g.OutputIDs); d != "" {
					t.Errorf("%s: ids (-host KV +device KV):\n%s", name, d)
				}
			}
		})
	}
	dir := t.TempDir()
	writeLayoutModel(t, filepath.Join(dir, "model.onnx"), layoutShape, fixtureSpec{mode: "fp32", names: optimumFixtureNames, keep: true}, layoutSeed)
	rt, err := Init("")
	if err != nil {
		t.Fatal(err)
	}
	_, err = openDecoder(fixtureLayout(t, dir), Options{IntraOpThreads: 1}, rt, false)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `does not feed logits_to_keep and cache_position yet: set [model.options] pipe.kv_cache = "host"`) {
		t.Errorf("logits_to_keep on the device cache: %v", err)
	}
}

// TestGenAISessionOptions: genai_config.json's intra_op_num_threads applies
// when the pipeline leaves threads unset and is reported as overridden when
// it sets them.
func TestGenAISessionOptions(t *testing.T) {
	dir, _ := writeGenAI(t, "fp32", true)
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		threads     int
		wantThreads int
		applied     string
	}{
		{0, 1, "intra_op_num_threads=1"},
		{2, 2, "intra_op_num_threads=1 (overridden by the pipeline's 2)"},
	} {
		g, err := Open(m, Options{IntraOpThreads: tc.threads})
		if err != nil {
			t.Fatal(err)
		}
		info := g.Info()
		g.Close()
		if info.Threads.IntraOp != tc.wantThreads || strings.Join(info.ModelOptionsApplied, "; ") != tc.applied {
			t.Errorf("threads %d: intra-op %d, applied %q; want %d, %q", tc.threads, info.Threads.IntraOp, info.ModelOptionsApplied, tc.wantThreads, tc.applied)
		}
	}
}

// TestMissingKernelIsOneLine: a bfloat16 GroupQueryAttention on the CPU
// provider, which has no kernel for it, is refused in one line naming the
// op and the provider, not ONNX Runtime's multi-line text.
func TestMissingKernelIsOneLine(t *testing.T) {
	dir, _ := writeGenAI(t, "bf16io", true)
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(m, Options{IntraOpThreads: 1})
	if err == nil {
		g.Close()
		t.Fatal("a bfloat16 GroupQueryAttention opened on the CPU provider: pick an op it lacks a kernel for")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "the cpu execution provider has no kernel for op ") {
		t.Errorf("error %q: want one line naming the op and the provider", msg)
	}
	t.Log(msg)
}

// TestShareBufferWithoutGQA: a genai_config.json asking for a shared cache
// on a graph without GroupQueryAttention runs the concat path and says so;
// asking for it through pipe.kv_share_buffer is refused in one line. A
// session option pipe does not apply is listed as such.
func TestShareBufferWithoutGQA(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(torchFixture, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "decoder.onnx"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := genaiConfigFor(fixtureShape{Vocab: 96, Hidden: 32, Heads: 4, KVHeads: 2, HeadDim: 8, Layers: 2, MaxLen: 64}, "decoder.onnx", optimumFixtureNames, true)
	cfg["model"].(map[string]any)["decoder"].(map[string]any)["session_options"] = map[string]any{"enable_cpu_mem_arena": false}
	writeJSON(t, filepath.Join(dir, model.GenAIConfigFile), cfg)
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(m, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	info := g.Info()
	g.Close()
	want := "enable_cpu_mem_arena (not applied by pipe); search.past_present_share_buffer=true (not applied: the graph has no GroupQueryAttention)"
	if info.KVShareBuffer || strings.Join(info.ModelOptionsApplied, "; ") != want {
		t.Errorf("share %v, applied %q; want concat and %q", info.KVShareBuffer, info.ModelOptionsApplied, want)
	}
	_, err = Open(m, Options{IntraOpThreads: 1, SessionConfig: map[string]string{ShareBufferKey: "1"}})
	if err == nil || !strings.Contains(err.Error(), "needs GroupQueryAttention, which this graph does not use: drop pipe.kv_share_buffer") {
		t.Errorf("forced share buffer: %v", err)
	}
}

// TestBuiltGQAMatchesOptimum: pipe's own GroupQueryAttention build (GenAI
// layout, shared cache, last-position logits) generates what the optimum
// build of the same weights generates, alone and in a batch of unequal rows
// (prefilled row by row).
func TestBuiltGQAMatchesOptimum(t *testing.T) {
	open := func(style string) *Generator {
		m, err := model.OpenWith("gpt2-tiny", model.BuildOptions{Seed: tinySeed, Style: style})
		if err != nil {
			t.Fatal(err)
		}
		g, err := Open(m, Options{IntraOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		return g
	}
	opt, gqa := open(model.StyleOptimum), open(model.StyleGQA)
	if info := gqa.Info(); !info.KVShareBuffer || info.Layout != model.LayoutGenAI {
		t.Fatalf("gqa build: shared %v, layout %s", info.KVShareBuffer, info.Layout)
	}
	prompts := [][]int64{{17, 300, 4, 99, 256, 1, 42, 8, 77}, {5, 6, 400}, {9, 9}}
	for _, req := range []gen.Request{
		{Prompts: prompts[:1], NewTokens: 10},
		{Prompts: prompts, NewTokens: 10},
	} {
		if d := cmp.Diff(generate(t, opt, req).OutputIDs, generate(t, gqa, req).OutputIDs); d != "" {
			t.Errorf("%d rows (-optimum +gqa):\n%s", len(req.Prompts), d)
		}
	}
}
