package plugin_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/runner"
)

// steadyGen is a generator that needs no model: every token takes 1 ms.
type steadyGen struct{}

func (steadyGen) Generate(_ context.Context, req gen.Request) (*gen.Trace, error) {
	tr := &gen.Trace{StartUnixNano: time.Now().UnixNano()}
	for _, p := range req.Prompts {
		tr.PromptTokens = append(tr.PromptTokens, len(p))
		tr.OutputIDs = append(tr.OutputIDs, make([]int64, req.NewTokens))
	}
	for i := range req.NewTokens {
		tr.TokenNS = append(tr.TokenNS, int64(i+1)*int64(time.Millisecond))
	}
	return tr, nil
}
func (steadyGen) Info() gen.Info { return gen.Info{Model: "steady", Device: "cpu", Runtime: "none"} }
func (steadyGen) Close() error   { return nil }

// TestHostileRunStillWritten: a pipeline run with a misbehaving metric
// plugin fails that stage with the plugin's one-line error, and still
// writes the samples and the built-in results.
func TestHostileRunStillWritten(t *testing.T) {
	wasm := buildPlugin(t, "host/internal/plugin/testdata/hostile")
	dir := t.TempDir()
	toml := filepath.Join(dir, "p.toml")
	os.WriteFile(toml, []byte(`name = "contained"
[model]
source = "gpt2-tiny"
[matrix]
prompt_tokens = 4
new_tokens = 8
[warmup]
runs = 0
[generate]
runs = 3
[report]
formats = ["json"]
out_dir = "`+filepath.Join(dir, "out")+`"
[[plugin]]
name = "hostile"
path = "`+wasm+`"
memory_mib = 64
timeout = "2s"
max_output = "1MiB"
`), 0o644)
	tests := []struct{ mode, want string }{
		{"loop", "plugin hostile: pipe_metric: timed out after 2s"},
		{"alloc", "plugin hostile: pipe_metric: out of memory: it hit its 64 MiB cap"},
		{"panic", "plugin hostile: pipe_metric: failed: panic: assignment to entry in nil map"},
		{"goroutine_panic", "plugin hostile: pipe_metric: crashed: panic: hostile goroutine gave up"},
		{"garbage", "plugin hostile: pipe_metric: bad output"},
		{"flood", "plugin hostile: pipe_metric: output over its cap"},
		{"passwd", "could not read /etc/passwd"},
		{"exit", "plugin hostile: pipe_metric: crashed: it exited with code 3"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			plan, err := pipeline.Load(toml, pipeline.LoadOptions{Names: registry.New().Names()})
			if err != nil {
				t.Fatal(err)
			}
			plan.Cases[0].ID = tt.mode // the hostile plugin misbehaves by case ID
			out, err := runner.Execute(context.Background(), plan, runner.Options{Generator: steadyGen{}})
			if out == nil || out.Result == nil {
				t.Fatalf("no result written: %v", err)
			}
			res := out.Result
			if !strings.Contains(strings.Join(res.Errors, "\n")+errString(err), tt.want) {
				t.Errorf("errors %q (err %v), want one containing %q", res.Errors, err, tt.want)
			}
			for _, f := range []string{"result.json", "samples.jsonl"} {
				if _, err := os.Stat(filepath.Join(out.Dir, f)); err != nil {
					t.Errorf("%s not written: %v", f, err)
				}
			}
			if s := res.Cases[0].Stats[metric.TTFT]; s.N != 3 {
				t.Errorf("built-in TTFT summary has n = %d, want 3", s.N)
			}
			if !res.Valid || len(res.Errors) == 0 {
				t.Errorf("valid %v, errors %q: want a valid result with the stage error (pipe exits 1 on it)", res.Valid, res.Errors)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return "\n" + err.Error()
}

// TestGrantEscapeNeverInResult: through a whole run, a metric plugin granted
// a directory that holds links to /etc/passwd and /etc gets neither: the
// stage fails with the plugin's one-line error, and no byte of either
// reaches result.json.
func TestGrantEscapeNeverInResult(t *testing.T) {
	wasm := buildPlugin(t, "host/internal/plugin/testdata/hostile")
	granted, secret := grantedTree(t)
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	etc, err := os.ReadDir("/etc")
	if err != nil || len(etc) < 2 {
		t.Fatalf("/etc: %v", err)
	}
	firstLine, _, _ := strings.Cut(string(passwd), "\n")
	listed := etc[0].Name() + "," + etc[1].Name() // how a listing of /etc would read
	dir := t.TempDir()
	toml := filepath.Join(dir, "p.toml")
	os.WriteFile(toml, []byte(`name = "granted"
[model]
source = "gpt2-tiny"
[matrix]
prompt_tokens = 4
new_tokens = 8
[warmup]
runs = 0
[generate]
runs = 2
[report]
formats = ["json"]
out_dir = "`+filepath.Join(dir, "out")+`"
[[plugin]]
name = "hostile"
path = "`+wasm+`"
grant.read = ["`+granted+`"]
`), 0o644)
	for _, mode := range []string{"read:" + granted + "/passwd", "list:" + granted + "/etc", "read:" + granted + "/hop"} {
		t.Run(mode, func(t *testing.T) {
			plan, err := pipeline.Load(toml, pipeline.LoadOptions{Names: registry.New().Names()})
			if err != nil {
				t.Fatal(err)
			}
			plan.Cases[0].ID = mode // the hostile plugin misbehaves by case ID
			out, err := runner.Execute(context.Background(), plan, runner.Options{Generator: steadyGen{}})
			if out == nil || out.Result == nil {
				t.Fatalf("no result written: %v", err)
			}
			msgs := strings.Join(out.Result.Errors, "\n")
			if !strings.Contains(msgs, "plugin hostile: pipe_metric: failed: could not") {
				t.Errorf("errors %q, want the plugin's refusal", out.Result.Errors)
			}
			data, err := os.ReadFile(filepath.Join(out.Dir, "result.json"))
			if err != nil {
				t.Fatal(err)
			}
			for _, leak := range []string{firstLine, listed, secret} {
				if strings.Contains(string(data), leak) {
					t.Errorf("result.json holds %q from outside the granted tree", leak)
				}
			}
		})
	}
}
