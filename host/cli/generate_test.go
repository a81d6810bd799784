package cli

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

const torchFixture = "../internal/gen/ortgen/testdata/torch-gpt2-tiny-gqa"

func torchGreedy(t *testing.T) (prompt, greedy []int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(torchFixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Cases []struct{ Prompt, Greedy []int64 }
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e.Cases[0].Prompt, e.Cases[0].Greedy
}

func idsArg(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func TestGenerateJSON(t *testing.T) {
	prompt, greedy := torchGreedy(t)
	code, stdout, stderr := runPipe("generate", "--model", torchFixture, "--prompt-ids", idsArg(prompt), "--new-tokens", "12", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out generateOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	if !slices.Equal(out.OutputIDs, greedy) {
		t.Errorf("output_ids %v, PyTorch generated %v", out.OutputIDs, greedy)
	}
	if len(out.ITLms) != 11 || out.TTFTms <= 0 || out.E2Ems < out.TTFTms || out.PromptTokens != len(prompt) {
		t.Errorf("timings: %d gaps, TTFT %g, E2E %g, prompt %d", len(out.ITLms), out.TTFTms, out.E2Ems, out.PromptTokens)
	}
	for _, key := range []string{`"output_ids"`, `"ttft_ms"`, `"e2e_ms"`, `"itl_ms"`} {
		if !strings.Contains(stdout, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// TestGenerateText checks the human output against a golden file, with the
// measured numbers masked.
func TestGenerateText(t *testing.T) {
	prompt, _ := torchGreedy(t)
	code, stdout, stderr := runPipe("generate", "--model", torchFixture, "--prompt-ids", idsArg(prompt), "--new-tokens", "12", "--threads", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	masked := regexp.MustCompile(`created in \d+ ms`).ReplaceAllString(stdout, "created in N ms")
	masked = regexp.MustCompile(`(?m)^TTFT .*$`).ReplaceAllStringFunc(masked, func(s string) string {
		return regexp.MustCompile(`\b\d+(\.\d+)?\b`).ReplaceAllString(s, "N")
	})
	golden.Check(t, "generate-torch-fixture.txt", []byte(masked))
}

func TestGenerateSeededPrompt(t *testing.T) {
	run := func(seed string) generateOutput {
		code, stdout, stderr := runPipe("generate", "--model", "gpt2-tiny", "--prompt-tokens", "20", "--new-tokens", "3", "--seed", seed, "--threads", "1", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var out generateOutput
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b, c := run("1"), run("1"), run("2")
	if len(a.PromptIDs) != 20 || len(a.OutputIDs) != 3 {
		t.Fatalf("prompt %d ids, output %d ids", len(a.PromptIDs), len(a.OutputIDs))
	}
	if !slices.Equal(a.PromptIDs, b.PromptIDs) || slices.Equal(a.PromptIDs, c.PromptIDs) {
		t.Errorf("seeded prompts: seed 1 gave %v then %v, seed 2 %v", a.PromptIDs, b.PromptIDs, c.PromptIDs)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad id", []string{"--prompt-ids", "1,x"}, `--prompt-ids: "x" is not a token id`},
		{"two prompts", []string{"--prompt-ids", "1", "--prompt-tokens", "3"}, "give one of --prompt-tokens, --prompt-ids, --prompt"},
		{"text without tokenizer", []string{"--prompt", "hello"}, "--prompt needs a tokenizer and model " + torchFixture + " has none"},
		{"negative threads", []string{"--threads", "-1"}, "intra-op threads -1 < 0"},
		{"unknown device", []string{"--device", "tpu"}, `unknown device "tpu"`},
		{"context overflow", []string{"--prompt-tokens", "60", "--new-tokens", "10"}, "prompt of 60 tokens + 10 new tokens = 70 exceeds the model's 64 positions"},
		{"zero prompt", []string{"--prompt-tokens", "0"}, "--prompt-tokens 0: need at least 1"},
		{"not a model", []string{"--model", "testdata"}, "model testdata: no ONNX decoder in the directory"},
		{"missing library", []string{"--ort-lib", "/nonexistent/libonnxruntime.so"}, "--ort-lib /nonexistent/libonnxruntime.so: no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"generate", "--model", torchFixture}, tc.args...)
			code, _, stderr := runPipe(args...)
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			line := strings.TrimSuffix(stderr, "\n")
			if !strings.Contains(line, tc.want) || strings.Contains(line, "\n") {
				t.Errorf("stderr %q: want one line containing %q", stderr, tc.want)
			}
		})
	}
}

func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{"1,2,3", " 4 , 5 ", "", ",", "x", "9223372036854775807", "-1,2", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseIDs(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatalf("%q: no ids and no error", s)
		}
		again, err := parseIDs(idsArg(ids))
		if err != nil || !slices.Equal(ids, again) {
			t.Errorf("%q → %v → %v (%v)", s, ids, again, err)
		}
	})
}

// TestGenerateBuildErrors: a built model's bad precision, block size or
// style is one line naming the fix, before anything is built.
func TestGenerateBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--precision", "int3"}, `unknown precision "int3": use fp32, fp16, int8, int4`},
		{[]string{"--precision", "int4", "--block-size", "24"}, "block_size = 24: MatMulNBits and GatherBlockQuantized take a power of two ≥ 16"},
		{[]string{"--style", "turbo"}, `unknown graph style "turbo": use "optimum", "fused" or "gqa"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("PIPE_CACHE", t.TempDir())
			code, _, stderr := runPipe(append([]string{"generate", "--model", "gpt2-tiny", "--new-tokens", "2"}, tc.args...)...)
			line := strings.TrimSuffix(stderr, "\n")
			if code != ExitError || !strings.Contains(line, tc.want) || strings.Contains(line, "\n") {
				t.Errorf("exit %d, stderr %q: want exit %d and one line containing %q", code, stderr, ExitError, tc.want)
			}
		})
	}
}

// TestGenerateFP16: --precision fp16 builds and runs on the CPU — GPT-2
// in each graph style, and a Llama-family checkpoint (qwen3, the torch
// fixture) — recorded as fp16 weights, float16 cache and float16 logits,
// with the fp32 build's greedy ids (and, for the checkpoint, torch's).
func TestGenerateFP16(t *testing.T) {
	qwen3 := "../internal/model/testdata/llama/qwen3-f32"
	run := func(t *testing.T, args ...string) generateOutput {
		t.Helper()
		code, stdout, stderr := runPipe(append([]string{"generate", "--new-tokens", "6", "--threads", "1", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var out generateOutput
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("not one JSON object: %v\n%s", err, stdout)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		args  []string
		torch []int64 // the fixture's greedy ids, when known
	}{
		{"gpt2-tiny optimum", []string{"--model", "gpt2-tiny", "--style", "optimum", "--prompt-ids", "17,300,4,99,256,1,42"}, nil},
		{"gpt2-tiny fused", []string{"--model", "gpt2-tiny", "--style", "fused", "--prompt-ids", "17,300,4,99,256,1,42"}, nil},
		{"gpt2-tiny gqa", []string{"--model", "gpt2-tiny", "--style", "gqa", "--prompt-ids", "17,300,4,99,256,1,42"}, nil},
		{"qwen3 checkpoint", []string{"--model", qwen3, "--prompt-ids", "5,17,42,3,88,61,29"}, []int64{90, 39, 17, 52, 52, 52}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f32 := run(t, append(tc.args, "--precision", "fp32")...)
			f16 := run(t, append(tc.args, "--precision", "fp16")...)
			if f16.WeightPrecision != "fp16" || f16.KVCacheType != "float16" || f16.LogitsType != "float16" {
				t.Errorf("fp16 run records weights %q, cache %q, logits %q; want fp16, float16, float16", f16.WeightPrecision, f16.KVCacheType, f16.LogitsType)
			}
			if f16.GraphStyle != f32.GraphStyle {
				t.Errorf("fp16 built style %s, fp32 %s", f16.GraphStyle, f32.GraphStyle)
			}
			if !slices.Equal(f16.OutputIDs, f32.OutputIDs) {
				t.Errorf("fp16 greedy ids %v, fp32 %v", f16.OutputIDs, f32.OutputIDs)
			}
			if tc.torch != nil && !slices.Equal(f16.OutputIDs, tc.torch) {
				t.Errorf("fp16 greedy ids %v, torch's %v", f16.OutputIDs, tc.torch)
			}
		})
	}
}

// TestTokenizerFits: a tokenizer whose ids beyond the model's table are all
// reserved (GPT-2's <|endoftext|> is 50256) fits a model one id smaller, as
// Gemma 3's does its models; one id fewer still and an ordinary token would
// fall outside, so it does not fit.
func TestTokenizerFits(t *testing.T) {
	tok, err := tokenize.Load(tokenize.GPT2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		vocab int
		want  bool
	}{{50257, true}, {60000, true}, {50256, true}, {50255, false}, {512, false}} {
		if got := tokenizerFits(tok, tc.vocab); got != tc.want {
			t.Errorf("tokenizerFits(gpt2, %d) = %v, want %v", tc.vocab, got, tc.want)
		}
	}
	gemma, err := tokenize.Load("gemma3") // fetched by pipe setup, which make test runs first
	if err != nil {
		t.Fatal(err)
	}
	if gemma.VocabSize() != 262145 || !tokenizerFits(gemma, 262144) {
		t.Errorf("Gemma 3's tokenizer (%d ids) does not fit its models' 262,144", gemma.VocabSize())
	}
}
