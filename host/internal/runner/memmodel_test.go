package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/memmodel"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/runner"
	"github.com/pipe-bench/pipe/sdk/schema"
)

// A real run of the built-in tiny GPT-2: every case carries the memory
// model, predicted from the result's own model record, beside the
// measured RSS.
func TestResultCarriesMemoryModel(t *testing.T) {
	dir := t.TempDir()
	toml := filepath.Join(dir, "p.toml")
	os.WriteFile(toml, []byte(`name = "memmodel"
[model]
source = "gpt2-tiny"
intra_op_threads = 1
[matrix]
prompt_tokens = [16, 4]
new_tokens = 8
[warmup]
runs = 1
[generate]
runs = 3
[report]
formats = ["json"]
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
	if r.Model.WeightBytes <= 0 || r.Model.Layers < 1 {
		t.Fatalf("model record lacks the shape: %+v", r.Model)
	}
	params := []schema.CaseParams{r.Cases[0].Params, r.Cases[1].Params}
	want := memmodel.Predict(r.Model, params, false)
	for i, c := range r.Cases {
		mm := c.MemoryModel
		if mm == nil {
			t.Fatalf("case %s: no memory model", c.ID)
		}
		if mm.Weights != want[i].Weights || mm.KVCache != want[i].KVCache || mm.Logits != want[i].Logits || mm.Total != want[i].Total || mm.Weights != r.Model.WeightBytes {
			t.Errorf("case %s: predicted %+v, want %+v", c.ID, *mm, want[i])
		}
		if mm.LoadRSSDelta != r.Model.LoadRSSDelta || mm.RSSAfterOpen <= 0 || mm.PeakRSS <= 0 || mm.GPUPeak != 0 {
			t.Errorf("case %s: measured %+v", c.ID, *mm)
		}
		t.Logf("%s: predicted weights %d, KV %d, logits %d; load RSS +%d, peak RSS %d over %d after open; gaps %v",
			c.ID, mm.Weights, mm.KVCache, mm.Logits, mm.LoadRSSDelta, mm.PeakRSS, mm.RSSAfterOpen, memmodel.Gaps(*mm))
	}
	// The second case needs less than the first: the generator keeps the
	// first case's buffers.
	if a, b := r.Cases[0].MemoryModel, r.Cases[1].MemoryModel; b.KVCache != a.KVCache || b.Logits != a.Logits {
		t.Errorf("second case: KV %d, logits %d; want the first's %d, %d", b.KVCache, b.Logits, a.KVCache, a.Logits)
	}
}
