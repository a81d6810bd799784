package ortgen

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// TestLlamaCheckpointsMatchTorch runs pipe's generation loop on each tiny
// Llama-family checkpoint of host/internal/model/testdata/llama (safetensors with
// Hugging Face names, written with its expected outputs by
// scripts/make-llama-fixture.py from an independent torch forward pass),
// built by model.Resolve as `pipe generate --model DIR` builds it: the
// prefill's last logits equal torch's within 1e-4, and greedy decoding gives
// torch's ids, alone and as the left-padded row of a batch.
func TestLlamaCheckpointsMatchTorch(t *testing.T) {
	dirs, _ := filepath.Glob("../../model/testdata/llama/*")
	if len(dirs) == 0 {
		t.Fatal("no fixtures under host/internal/model/testdata/llama: run scripts/make-llama-fixture.py")
	}
	for _, src := range dirs {
		t.Run(filepath.Base(src), func(t *testing.T) {
			var exp struct {
				Prompt     []int64     `json:"prompt"`
				Greedy     []int64     `json:"greedy"`
				StepLogits [][]float32 `json:"step_logits"`
			}
			b, err := os.ReadFile(filepath.Join(src, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &exp); err != nil {
				t.Fatal(err)
			}
			dir, err := model.Resolve(src, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Open(m, Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			n := len(exp.Greedy)
			generate(t, g, gen.Request{Prompts: [][]int64{exp.Prompt}, NewTokens: 1})
			p := len(exp.Prompt)
			got := g.logitsRow(&g.buf, 0, p-1, p)
			worst := 0.0
			for j, w := range exp.StepLogits[0] {
				worst = max(worst, math.Abs(float64(got[j]-w)))
			}
			if worst > 1e-4 {
				t.Errorf("prefill logits differ from torch's by up to %g", worst)
			}
			tr := generate(t, g, gen.Request{Prompts: [][]int64{exp.Prompt}, NewTokens: n})
			if d := cmp.Diff(exp.Greedy, tr.OutputIDs[0]); d != "" {
				t.Errorf("greedy ids (-torch +pipe):\n%s", d)
			}
			longer := append([]int64{9, 8, 7}, exp.Prompt...)
			tr = generate(t, g, gen.Request{Prompts: [][]int64{exp.Prompt, longer}, NewTokens: n})
			if d := cmp.Diff(exp.Greedy, tr.OutputIDs[0]); d != "" {
				t.Errorf("left-padded row in a batch (-torch +pipe):\n%s", d)
			}
		})
	}
}
