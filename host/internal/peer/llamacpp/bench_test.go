package llamacpp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/roofline"
)

// TestForBenchBadInput: what `pipe bench --peer` cannot do is refused in one
// line naming the fix, before anything is fetched.
func TestForBenchBadInput(t *testing.T) {
	gpt2 := &model.Model{Name: "gpt2", Config: model.GPT2()}
	for _, c := range []struct {
		peer, precisions string
		m                *model.Model
		want             string
	}{
		{"vllm", DefaultPrecisions, gpt2, `--peer "vllm": the one peer is llama.cpp`},
		{"llama.cpp", DefaultPrecisions, &model.Model{Name: "smollm2-135m"}, "not smollm2-135m: use --model gpt2"},
		{"llama.cpp", "f32,q4_k", gpt2, `--peer-precisions: GGUF type "q4_k": use one of f32, f16, q8_0`},
	} {
		o := roofline.BenchOptions{Model: c.m}
		_, err := ForBench(c.peer, c.precisions, c.m, &o, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ForBench(%q, %q, %s): %v, want one line with %q", c.peer, c.precisions, c.m.Name, err, c.want)
		}
		if len(o.Peers) != 0 {
			t.Errorf("peers added on an error")
		}
	}
}

// TestPrintRatios: each pipe row is divided by the llama.cpp row of its
// precision class at its prompt, and issue 12's targets are judged.
func TestPrintRatios(t *testing.T) {
	f := roofline.Figures{
		Peers: []any{Info{Precision: "f32"}, Info{Precision: "q8_0"}},
		Rows: []roofline.Row{
			{Engine: "pipe", Precision: "fp32", PromptTokens: 128, TTFTms: 150, DecodeTPS: 40, DecodeAll: []float64{38, 40, 42}},
			{Engine: "pipe spinning", Precision: "fp32", PromptTokens: 128, TTFTms: 250, DecodeTPS: 44},
			{Engine: "bare", Precision: "fp32", PromptTokens: 128, TTFTms: 1, DecodeTPS: 1},
			{Engine: Name, Precision: "f32", PromptTokens: 128, TTFTms: 250, DecodeTPS: 40, DecodeAll: []float64{8, 40, 48}},
			{Engine: Name, Precision: "q8_0", PromptTokens: 128, TTFTms: 70, DecodeTPS: 100},
			{Engine: Name, Precision: "f32", PromptTokens: 512, TTFTms: 1000, DecodeTPS: 30},
		},
	}
	var b bytes.Buffer
	PrintRatios(&b, f)
	out := strings.Join(strings.Fields(b.String()), " ") // the table's alignment aside
	for _, want := range []string{
		"128 pipe fp32 llama.cpp f32 1.000 0.875 0.600 decode ≥ 1.00, TTFT ≤ 0.75: met",
		"128 pipe spinning fp32 llama.cpp f32 1.100 – 1.000 decode ≥ 1.00, TTFT ≤ 0.75: not met",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "bare") || strings.Count(out, "llama.cpp f32 ") != 2 {
		t.Errorf("only pipe's rows against their class at their prompt:\n%s", out)
	}
}
