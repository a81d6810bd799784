package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/fidelity"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/runner"
)

// A real run of the tiny GPT-2 with [fidelity]: the first two measured
// runs of each case carry fidelity.* values, targets on them are judged,
// and the result defines them. Against its own precision the variant
// agrees everywhere; int4 and fp16 against fp32, and fp32 against fp16 (a
// reference in float16 caches and logits), do not quite.
func TestRunWithFidelity(t *testing.T) {
	for _, tc := range []struct {
		precision, reference string
		self                 bool
	}{{"fp32", "fp32", true}, {"int4", "fp32", false}, {"fp16", "fp32", false}, {"fp32", "fp16", false}} {
		t.Run(tc.precision+"-vs-"+tc.reference, func(t *testing.T) {
			dir := t.TempDir()
			toml := filepath.Join(dir, "p.toml")
			os.WriteFile(toml, []byte(`name = "fidelity"
[model]
source = "gpt2-tiny"
precision = "`+tc.precision+`"
intra_op_threads = 1
[matrix]
prompt_tokens = 16
new_tokens = 48
batch = [1, 2]
[warmup]
runs = 1
[generate]
runs = 3
[fidelity]
reference = "`+tc.reference+`"
runs = 2
[[target]]
expr = "fidelity.top1_agreement.mean > 0.9"
[[target]]
expr = "fidelity.kl.max < 0.01"
[report]
formats = ["json", "md"]
out_dir = "`+filepath.Join(dir, "out")+`"
`), 0o644)
			plan, err := pipeline.Load(toml, pipeline.LoadOptions{Names: registry.New().Names()})
			if err != nil {
				t.Fatal(err)
			}
			out, err := runner.Execute(context.Background(), plan, runner.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := out.Result
			for _, c := range r.Cases {
				scored := 0
				for _, run := range c.Runs {
					if _, ok := run.Values[fidelity.KL]; ok {
						scored++
					}
				}
				if scored != 2 {
					t.Errorf("case %s: %d runs scored, want 2 (fidelity.runs)", c.ID, scored)
				}
				top1, kl, div := c.Stats[fidelity.Top1Agreement], c.Stats[fidelity.KL], c.Stats[fidelity.FirstDivergence]
				t.Logf("%s: top-1 %.4f, KL mean %.3g nats, max |Δlogit| %.3g, first divergence min %g", c.ID, top1.Mean, kl.Mean, c.Stats[fidelity.MaxAbsDLogit].Max, div.Min)
				if tc.self && (top1.Min != 1 || kl.Max != 0 || c.Stats[fidelity.MaxAbsDLogit].Max != 0 || div.Min != 48) {
					t.Errorf("case %s against itself: top-1 %+v, KL %+v, first divergence %+v", c.ID, top1, kl, div)
				}
				if !tc.self && kl.Min <= 0 {
					t.Errorf("case %s: %s against %s: KL %+v, want > 0", c.ID, tc.precision, tc.reference, kl)
				}
			}
			if len(r.Targets) != 4 {
				t.Fatalf("%d verdicts, want 4: %+v", len(r.Targets), r.Targets)
			}
			for _, v := range r.Targets {
				if !v.Pass {
					t.Errorf("target %s on %s: observed %g, want a pass", v.Target, v.Case, v.Observed)
				}
			}
			units := map[string]string{}
			for _, d := range r.Metrics {
				units[d.ID] = d.Unit
			}
			if units[fidelity.KL] != "nats" || units[fidelity.FirstDivergence] != "tokens" {
				t.Errorf("result's definitions: %v", units)
			}
		})
	}
}

// TestFidelityModelOnDisk: an ONNX model on disk is not rebuilt at another
// precision, so a reference other than its own is refused before any run.
func TestFidelityModelOnDisk(t *testing.T) {
	dir := t.TempDir()
	src, _ := filepath.Abs("../gen/ortgen/testdata/torch-gpt2-tiny-gqa")
	toml := filepath.Join(dir, "p.toml")
	os.WriteFile(toml, []byte(`name = "fidelity"
[model]
source = "`+src+`"
tokenizer = "none"
intra_op_threads = 1
[matrix]
prompt_tokens = 8
new_tokens = 4
[generate]
runs = 1
[fidelity]
reference = "int8"
[report]
formats = ["json"]
out_dir = "`+filepath.Join(dir, "out")+`"
`), 0o644)
	plan, err := pipeline.Load(toml, pipeline.LoadOptions{Names: registry.New().Names()})
	if err != nil {
		t.Fatal(err)
	}
	out, err := runner.Execute(context.Background(), plan, runner.Options{})
	if err == nil || out != nil {
		t.Fatalf("outcome %v, error %v: want no run and an error", out, err)
	}
	t.Logf("error: %v", err)
	want := `fidelity.reference = "int8": model ` + src + ` is an ONNX model on disk with its own weights (fp32); pipe builds other precisions only of a built-in model or a checkpoint directory: remove [fidelity] or use such a source`
	if err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
}
