package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/roofline"
)

// TestBenchProfileTiny: `pipe bench --profile DIR` leaves the runtime's
// profile per prompt in DIR, prints prefill and decode with their top
// kernels, and carries the summaries in --out's JSON.
func TestBenchProfileTiny(t *testing.T) {
	out, prof := t.TempDir(), t.TempDir()
	code, stdout, stderr := runPipe("bench", "--model", "gpt2-tiny", "--prompts", "4,8", "--new-tokens", "3", "--reps", "1",
		"--threads", "1", "--triad-mib", "1", "--quiet", "--out", out, "--profile", prof)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(prof, "pipe-gpt2-tiny-fp32-p*_*.json"))
	if len(files) != 2 {
		t.Fatalf("--profile wrote %v", files)
	}
	for _, want := range []string{"profile  pipe, fp32, prompt 4", "profile  pipe, fp32, prompt 8", "prefill: 1 Runs", "decode: 2 Runs",
		"outside kernels", "GroupQueryAttention", "top nodes:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	js, _ := filepath.Glob(filepath.Join(out, "bench-*.json"))
	if len(js) != 1 {
		t.Fatalf("--out wrote %v", js)
	}
	b, err := os.ReadFile(js[0])
	if err != nil {
		t.Fatal(err)
	}
	var f roofline.Figures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Profiles) != 2 || f.Profiles[1].PromptTokens != 8 || f.Profiles[1].Decode.Runs != 2 || len(f.Profiles[1].Decode.Ops) == 0 {
		t.Errorf("profiles in the JSON: %+v", f.Profiles)
	}
}

func TestBenchProfileErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--run-path", "--profile", t.TempDir()}, "--profile profiles the roofline bench, not --run-path"},
		{[]string{"--profile", filepath.Join(file, "sub")}, "bench --profile"},
	} {
		code, _, stderr := runPipe(append([]string{"bench", "--model", "gpt2-tiny", "--quiet", "--prompts", "4", "--new-tokens", "2", "--reps", "1", "--triad-mib", "1"}, tc.args...)...)
		if code != ExitError || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q: want one line containing %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestBenchNoBare: --no-bare leaves pipe's rows alone.
func TestBenchNoBare(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runPipe("bench", "--model", "gpt2-tiny", "--prompts", "4,8", "--new-tokens", "3", "--reps", "1",
		"--threads", "1", "--triad-mib", "1", "--quiet", "--no-bare", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	js, _ := filepath.Glob(filepath.Join(out, "bench-*.json"))
	if len(js) != 1 {
		t.Fatalf("--out wrote %v", js)
	}
	b, _ := os.ReadFile(js[0])
	var f roofline.Figures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 2 || f.Rows[0].Engine != "pipe" || f.Rows[1].Engine != "pipe" || f.BareSession != "" {
		t.Errorf("rows %+v, bare session %q: want pipe's two rows only", f.Rows, f.BareSession)
	}
	if len(f.Flatness) != 1 || f.Flatness[0].LongTokens != 8 || f.Flatness[0].Ratio <= 0 || !strings.Contains(stdout, "flatness pipe fp32: decode at 8 tokens ÷ at 4") {
		t.Errorf("flatness %+v in the JSON, output:\n%s", f.Flatness, stdout)
	}
}
