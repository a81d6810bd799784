package ortgen

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

const torchFixture = "testdata/torch-gpt2-tiny-gqa"

type torchExpected struct {
	NewTokens int `json:"new_tokens"`
	Cases     []struct {
		Prompt            []int64   `json:"prompt"`
		Greedy            []int64   `json:"greedy"`
		PrefillLastLogits []float64 `json:"prefill_last_logits"`
	} `json:"cases"`
}

func readExpected(t *testing.T, dir string) torchExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e torchExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// fixtureLayout loads a model directory as Open sees it.
func fixtureLayout(t *testing.T, dir string) layout {
	t.Helper()
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	lay, err := layoutOf(m)
	if err != nil {
		t.Fatal(err)
	}
	return lay
}

// TestTorchFixtureGreedy: pipe's generator produces the greedy tokens
// PyTorch generated, from the file torch.onnx.export wrote and from the same
// graph in optimum's merged form (use_cache_branch).
func TestTorchFixtureGreedy(t *testing.T) {
	for _, tc := range []struct {
		dir    string
		merged bool
	}{
		{torchFixture, false},
		{torchFixture + "-merged", true},
	} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			lay := fixtureLayout(t, tc.dir)
			if (lay.io.UseCacheBranch != "") != tc.merged || lay.kvHeads != 2 || lay.heads != 4 {
				t.Fatalf("layout: merged %q, kv heads %d, heads %d", lay.io.UseCacheBranch, lay.kvHeads, lay.heads)
			}
			g, err := openLayout(lay, Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			exp := readExpected(t, tc.dir)
			for i, c := range exp.Cases {
				tr, err := g.Generate(context.Background(), gen.Request{Prompts: [][]int64{c.Prompt}, NewTokens: exp.NewTokens})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(tr.OutputIDs[0]) != fmt.Sprint(c.Greedy) {
					t.Errorf("case %d: pipe %v, torch %v", i, tr.OutputIDs[0], c.Greedy)
				}
			}
		})
	}
}
