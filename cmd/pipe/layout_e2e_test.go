package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyTorch is a small decoder in the optimum layout (torch.onnx.export,
// 2 layers, 2 KV heads of 8, vocab 96, scripts/make-torch-fixture.py).
const tinyTorch = "../../host/internal/gen/ortgen/testdata/torch-gpt2-tiny-gqa"

// copyTiny copies tinyTorch's ONNX file to each path.
func copyTiny(t *testing.T, paths ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tinyTorch, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLayoutsThroughTheBinary: a Transformers.js folder runs with
// --variant (pipe generate) and model.variant (pipe run); each bad layout
// input is one line on stderr, exit 1, no stack.
func TestLayoutsThroughTheBinary(t *testing.T) {
	bin := buildPipe(t)
	tjs := t.TempDir()
	copyTiny(t, filepath.Join(tjs, "onnx", "model.onnx"), filepath.Join(tjs, "onnx", "model_fp16.onnx"))
	if err := os.WriteFile(filepath.Join(tjs, "config.json"), []byte(`{"n_positions": 64, "n_head": 4, "num_key_value_heads": 2, "vocab_size": 96}`), 0o644); err != nil {
		t.Fatal(err)
	}
	genai := t.TempDir()
	copyTiny(t, filepath.Join(genai, "decoder-with-a-long-name.onnx"))
	cfg, _ := json.Marshal(map[string]any{"model": map[string]any{"vocab_size": 96, "decoder": map[string]any{
		"filename": "decoder-with-a-long-name.onnx", "num_hidden_layers": 3, "num_key_value_heads": 2, "head_size": 8, "num_attention_heads": 4,
	}}})
	if err := os.WriteFile(filepath.Join(genai, "genai_config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "weights.bin"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runCmd(t, nil, bin, "generate", "--model", tjs, "--variant", "fp16", "--prompt-ids", "1,2,3", "--new-tokens", "4", "--json")
	if code != 0 {
		t.Fatalf("generate --variant fp16: exit %d: %s", code, stderr)
	}
	var out struct {
		OutputIDs []int64 `json:"output_ids"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || len(out.OutputIDs) != 4 {
		t.Errorf("generate --variant fp16: output %q (%v)", stdout, err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"several variants", []string{"generate", "--model", tjs, "--new-tokens", "2"}, "holds 2 variants (fp16, fp32): choose one with model.variant (--variant)"},
		{"unknown variant", []string{"generate", "--model", tjs, "--variant", "q4f16", "--new-tokens", "2"}, `no variant "q4f16" in onnx/ (found fp16, fp32)`},
		{"variant of a built-in", []string{"bench", "--model", "gpt2-tiny", "--variant", "fp16"}, "a built-in model has no variants"},
		{"run with an unknown variant", []string{"run", "pipelines/testdata/gpt2-tiny.toml", "--set", "model.source=" + `"` + tjs + `"`, "--variant", "int8", "--out", t.TempDir()}, `no variant "int8"`},
		{"genai config for another model", []string{"generate", "--model", genai, "--new-tokens", "2"}, "genai_config.json says num_hidden_layers = 3 but the graph has no input \"past_key_values.2.key\""},
		{"nothing found", []string{"generate", "--model", empty, "--new-tokens", "2"}, "and it holds weights.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, nil, bin, tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			oneLine(t, tc.name, stderr, tc.want)
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
				t.Errorf("stderr holds a Go stack trace:\n%s", stderr)
			}
		})
	}
}
