package model

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteTestModel writes a tiny model into a fresh directory for the
// external tests (package model_test, which drive it through pipe's own
// generator): family "gpt2" (GPT2Tiny) or a Llama family (its tiny config
// with head_dim 16, the least GroupQueryAttention takes), in style and
// precision, with weights at test strength (strongWeights), the same
// values whatever the precision, so logits have margins wider than
// float16's rounding and greedy ids mean something.
func WriteTestModel(t testing.TB, family, style, precision string) string {
	t.Helper()
	q, err := QuantFor(precision, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fill := strongWeights(11)
	if family != "gpt2" {
		info := pipeInfo{Name: "test-" + family, Style: style, Precision: q.precision(), BuilderVersion: BuilderVersion}
		if err := writeLlama(dir, tinyGQALlama(t, family), fill, q, info, ""); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	cfg := GPT2Tiny()
	f, err := os.Create(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := buildGPT2From(f, cfg, BuildOptions{Style: style, Precision: precision}, q, fill); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	js, err := marshalHFConfig(cfg, pipeInfo{Name: "test-gpt2", Style: style, Precision: q.precision(), BuilderVersion: BuilderVersion})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if style == StyleGQA {
		if err := writeGenAIConfig(dir, cfg, "gpt2", true); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
