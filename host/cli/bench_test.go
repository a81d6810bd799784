package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/roofline"
)

func TestBenchTiny(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runPipe("bench", "--model", "gpt2-tiny", "--prompts", "4,8", "--new-tokens", "3", "--reps", "1",
		"--threads", "1", "--triad-mib", "1", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"triad ", "roofline", "prompt", "engine", "decode tok/s", "outside Run"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "bench-*.json"))
	if len(files) != 1 {
		t.Fatalf("--out wrote %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var f roofline.Figures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range f.Rows {
		got = append(got, r.Engine)
	}
	if !slices.Equal(got, []string{"pipe", "bare", "pipe", "bare"}) || f.Rows[1].PromptTokens != 4 || f.Rows[2].PromptTokens != 8 {
		t.Errorf("rows %+v", f.Rows)
	}
}

func TestBenchErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad prompt list", []string{"--prompts", "128,x"}, `--prompts: "x" is not a token count`},
		{"zero prompt", []string{"--prompts", "0"}, `--prompts: "0" is not a token count`},
		{"too long", []string{"--prompts", "120", "--new-tokens", "20"}, "bench: prompt 120 + 20 new tokens exceeds the model's 128 positions"},
		{"one token", []string{"--new-tokens", "1", "--prompts", "4"}, "need ≥ 2 tokens"},
		{"tiny triad", []string{"--triad-mib", "0"}, "--triad-mib 0: need at least 1"},
		{"argument", []string{"extra"}, `bench takes no arguments, got "extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runPipe(append([]string{"bench", "--model", "gpt2-tiny", "--quiet"}, tc.args...)...)
			if code != ExitError || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q: want one line containing %q", code, stderr, tc.want)
			}
		})
	}
}

// TestBenchRunPathTiny: `pipe bench --run-path` prints the three engines
// with the foreign CPU beside each, writes its figures, and leaves nothing
// in the cache (the run path's journal is scratch).
func TestBenchRunPathTiny(t *testing.T) {
	out := t.TempDir()
	before, _ := filepath.Glob(filepath.Join("..", "..", ".cache", "bench-run-path-*"))
	code, stdout, stderr := runPipe("bench", "--run-path", "--model", "gpt2-tiny", "--prompts", "8", "--new-tokens", "4", "--reps", "2",
		"--threads", "1", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"pipe run", "generator", "bare", "foreign CPU", "pipe run / bare: decode ×"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "bench-run-path-*.json"))
	if len(files) != 1 {
		t.Fatalf("--out wrote %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var fs []roofline.RunPathFigures
	if err := json.Unmarshal(b, &fs); err != nil || len(fs) != 1 || len(fs[0].Rows) != 3 || len(fs[0].Rows[0].DecodeAll) != 2 {
		t.Errorf("figures %s: %v", b, err)
	}
	after, _ := filepath.Glob(filepath.Join("..", "..", ".cache", "bench-run-path-*"))
	if len(after) != len(before) {
		t.Errorf("the run path's scratch journal stayed in the cache: %v", after)
	}
}
