package cli

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		golden   string // stdout and stderr, in testdata/
		contains string // or a line stdout must hold
	}{
		{name: "ok with the plan", args: []string{"validate", "../../pipelines/testdata/gpt2-tiny.toml"}, golden: "validate-ok.txt"},
		{name: "every problem with file:line", args: []string{"validate", "testdata/validate-bad.toml"}, code: ExitError, golden: "validate-bad.txt"},
		{name: "--set problems name --set", args: []string{"validate", "--set", "generate.runs=0", "--set", "matrix.new_tokens=[4, 500]", "../../pipelines/testdata/gpt2-tiny.toml"}, code: ExitError, golden: "validate-set.txt"},
		{name: "a config.json the builder refuses", args: []string{"validate", "testdata/validate-llama.toml"}, code: ExitError, golden: "validate-llama.txt"},
		{name: "--quick and --out", args: []string{"validate", "--quick", "--out", "elsewhere", "../../pipelines/phase2-latency.toml"}, contains: "generate  5 runs per case"},
		{name: "no file", args: []string{"validate"}, code: ExitError, golden: "validate-noarg.txt"},
		{name: "missing file", args: []string{"validate", "nope.toml"}, code: ExitError, golden: "validate-missing.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runPipe(tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if tt.golden != "" {
				golden.Check(t, tt.golden, []byte("$ pipe "+strings.Join(tt.args, " ")+"\n--- stdout\n"+stdout+"--- stderr\n"+stderr))
			}
			if tt.contains != "" && !strings.Contains(stdout, tt.contains) {
				t.Errorf("stdout lacks %q:\n%s", tt.contains, stdout)
			}
		})
	}
}

func TestFlagsAfterTheFile(t *testing.T) {
	code, stdout, stderr := runPipe("validate", "../../pipelines/phase2-latency.toml", "--quick", "--set", "matrix.prompt_tokens=[64, 128, 256]", "--out=elsewhere")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"(../../pipelines/phase2-latency.toml, --quick)", "p64-n64", "→ elsewhere"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}
