package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layoutDir writes files (name → contents; ".onnx" names get a node-less
// optimum graph of 2 layers, vocab 96) under a fresh directory.
func layoutDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".onnx") && body == "" {
			writeGraph(t, p, optimumInputs(2, true), optimumOutputs(2, 96))
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// genaiJSON is a genai_config.json for layoutDir's graphs (kv heads 2,
// head size 8, 2 layers, vocab 96), with edit applied to its decoder.
func genaiJSON(t *testing.T, edit func(dec map[string]any)) string {
	t.Helper()
	dec := map[string]any{
		"filename": "custom-decoder-name.onnx", "head_size": 8, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
		"inputs":  map[string]any{"input_ids": "input_ids", "attention_mask": "attention_mask", "position_ids": "position_ids", "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"},
		"outputs": map[string]any{"logits": "logits", "present_key_names": "present.%d.key", "present_value_names": "present.%d.value"},
		"session_options": map[string]any{"log_id": "onnxruntime-genai", "intra_op_num_threads": 3, "graph_optimization_level": "ORT_ENABLE_BASIC",
			"provider_options": []any{map[string]any{"cuda": map[string]any{"enable_cuda_graph": "0"}}}},
	}
	if edit != nil {
		edit(dec)
	}
	b, err := json.Marshal(map[string]any{
		"model":  map[string]any{"bos_token_id": 1, "eos_token_id": []int{7, 8}, "pad_token_id": 0, "context_length": 48, "vocab_size": 96, "decoder": dec},
		"search": map[string]any{"max_length": 40, "past_present_share_buffer": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLayouts(t *testing.T) {
	t.Run("transformers.js variant", func(t *testing.T) {
		dir := layoutDir(t, map[string]string{"config.json": `{"num_attention_heads": 4, "num_key_value_heads": 2}`, "tokenizer.json": "{}", "onnx/model.onnx": "", "onnx/model_q4f16.onnx": "", "onnx/model_quantized.onnx": ""})
		for _, tc := range []struct{ variant, file, want string }{
			{"q4f16", "model_q4f16.onnx", "q4f16"}, {"fp32", "model.onnx", "fp32"}, {"q8", "model_quantized.onnx", "quantized"},
		} {
			m, err := LoadVariant(dir, tc.variant)
			if err != nil {
				t.Fatal(err)
			}
			if m.Layout != LayoutTransformersJS || m.Variant != tc.want || filepath.Base(m.Path) != tc.file || m.Root != dir || m.Config.Heads != 4 {
				t.Errorf("variant %s: layout %s, variant %s, file %s, root %s, heads %d", tc.variant, m.Layout, m.Variant, m.Path, m.Root, m.Config.Heads)
			}
			// The same file given directly, as VariantPath hands it on.
			p, err := VariantPath(dir, tc.variant)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Layout != LayoutTransformersJS || m2.Variant != tc.want || m2.Root != dir || m2.Config.Heads != 4 {
				t.Errorf("%s given directly: layout %s, variant %s, root %s, heads %d", p, m2.Layout, m2.Variant, m2.Root, m2.Config.Heads)
			}
		}
	})
	t.Run("transformers.js one variant needs none", func(t *testing.T) {
		dir := layoutDir(t, map[string]string{"config.json": "{}", "onnx/decoder_model_merged_fp16.onnx": ""})
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Variant != "fp16" {
			t.Errorf("variant %q, want fp16", m.Variant)
		}
	})
	t.Run("genai", func(t *testing.T) {
		dir := layoutDir(t, map[string]string{GenAIConfigFile: genaiJSON(t, nil), "custom-decoder-name.onnx": ""})
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		c := m.Config
		if m.Layout != LayoutGenAI || c.Heads != 4 || c.KVHeads != 2 || c.EOS != 7 || c.BOS != 1 || m.PadID != 0 || c.MaxPositions != 48 || !m.ShareBuffer || m.MaxLength != 40 {
			t.Errorf("layout %s, heads %d/%d, eos %d, bos %d, pad %d, positions %d, share %v, max length %d", m.Layout, c.Heads, c.KVHeads, c.EOS, c.BOS, m.PadID, c.MaxPositions, m.ShareBuffer, m.MaxLength)
		}
		h := m.Session
		if h.IntraOpThreads != 3 || h.OptLevel != "basic" || h.Provider["cuda"]["enable_cuda_graph"] != "0" {
			t.Errorf("session hints %+v", h)
		}
	})
}

func TestLayoutErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		variant string
		want    []string
	}{
		{"several variants, none chosen", map[string]string{"config.json": "{}", "onnx/model.onnx": "", "onnx/model_fp16.onnx": "", "onnx/model_q4.onnx": ""}, "",
			[]string{"holds 3 variants (fp16, fp32, q4)", "model.variant (--variant)"}},
		{"unknown variant", map[string]string{"config.json": "{}", "onnx/model.onnx": "", "onnx/model_fp16.onnx": ""}, "int8",
			[]string{`no variant "int8"`, "found fp16, fp32"}},
		{"variant of an optimum folder", map[string]string{"model.onnx": ""}, "fp16",
			[]string{`variant "fp16"`, "optimum layout (model.onnx)", "drop the variant"}},
		{"nothing found", map[string]string{"weights.bin": "x", "notes/a.txt": "x"}, "",
			[]string{"no ONNX decoder", "looked for genai_config.json; model.onnx", "onnx/model[_VARIANT].onnx", "holds notes/, weights.bin"}},
		{"genai decoder missing", map[string]string{GenAIConfigFile: genaiJSON(t, nil)}, "",
			[]string{`names the decoder "custom-decoder-name.onnx", which is not in the directory`}},
		{"genai layers disagree", map[string]string{GenAIConfigFile: genaiJSON(t, func(d map[string]any) { d["num_hidden_layers"] = 3 }), "custom-decoder-name.onnx": ""}, "",
			[]string{"num_hidden_layers = 3", `no input "past_key_values.2.key"`, "another model"}},
		{"genai heads disagree", map[string]string{GenAIConfigFile: genaiJSON(t, func(d map[string]any) { d["num_key_value_heads"] = 4 }), "custom-decoder-name.onnx": ""}, "",
			[]string{"num_key_value_heads = 4", "cache's kv_heads dim is 2"}},
		{"genai names disagree", map[string]string{GenAIConfigFile: genaiJSON(t, func(d map[string]any) {
			d["inputs"] = map[string]any{"input_ids": "input_ids", "attention_mask": "attention_mask", "past_key_names": "past.%d.k", "past_value_names": "past.%d.v"}
			delete(d, "num_hidden_layers")
		}), "custom-decoder-name.onnx": ""}, "",
			[]string{`names the cache inputs "past.0.k" but the graph has none`, "past_key_values.0.key"}},
		{"genai template without %d", map[string]string{GenAIConfigFile: genaiJSON(t, func(d map[string]any) {
			d["outputs"] = map[string]any{"logits": "logits", "present_key_names": "present.key", "present_value_names": "present.%d.value"}
		}), "custom-decoder-name.onnx": ""}, "",
			[]string{"present_key_names", "exactly one %d"}},
		{"genai variant", map[string]string{GenAIConfigFile: genaiJSON(t, nil), "custom-decoder-name.onnx": ""}, "q4",
			[]string{"GenAI folder has one decoder", "drop the variant"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := layoutDir(t, tc.files)
			_, err := LoadVariant(dir, tc.variant)
			if err == nil {
				t.Fatal("loaded")
			}
			checkOneLineError(t, err, tc.want)
		})
	}
}

// TestBuiltPrecisions: pipe's own builds are recorded in the precision
// they were built in (an fp16 build with a float16 cache), and a decode
// step reads fewer weight bytes the fewer bits the weights have: the bytes
// the roofline divides by.
func TestBuiltPrecisions(t *testing.T) {
	var last int64
	for _, p := range []string{PrecisionFP32, PrecisionFP16, PrecisionInt8, PrecisionInt4} {
		m, err := OpenWith("gpt2-tiny", BuildOptions{Style: StyleGQA, Precision: p})
		if err != nil {
			t.Fatal(err)
		}
		kv := "float32"
		if p == PrecisionFP16 {
			kv = "float16"
		}
		if m.Precision != p || m.KVType != kv || !m.ShareBuffer {
			t.Errorf("%s build: precision %s, cache %s, shared %v", p, m.Precision, m.KVType, m.ShareBuffer)
		}
		if last > 0 && m.WeightBytesPerToken >= last {
			t.Errorf("%s build reads %d weight bytes per token, not fewer than the previous %d", p, m.WeightBytesPerToken, last)
		}
		last = m.WeightBytesPerToken
	}
}
