package ortgen

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipe-bench/pipe/host/gen"
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

// fixtureLayout is a stand-in for model.Load until host/model lands.
func fixtureLayout(t *testing.T, dir string) layout {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		L, H, KVH, HD, V, P int
		EOS                 int64
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	c.L, c.H, c.KVH, c.HD = int(raw["n_layer"].(float64)), int(raw["n_head"].(float64)), int(raw["num_key_value_heads"].(float64)), int(raw["head_dim"].(float64))
	c.V, c.P, c.EOS = int(raw["vocab_size"].(float64)), int(raw["n_positions"].(float64)), int64(raw["eos_token_id"].(float64))
	l := layout{path: filepath.Join(dir, "model.onnx"), name: dir, style: "optimum", layers: c.L, heads: c.H, kvHeads: c.KVH, headDim: c.HD, vocab: c.V, maxPositions: c.P, eos: c.EOS, hasPositionIDs: true}
	for i := range c.L {
		l.pastKey = append(l.pastKey, fmt.Sprintf("past_key_values.%d.key", i))
		l.pastValue = append(l.pastValue, fmt.Sprintf("past_key_values.%d.value", i))
		l.presentKey = append(l.presentKey, fmt.Sprintf("present.%d.key", i))
		l.presentValue = append(l.presentValue, fmt.Sprintf("present.%d.value", i))
	}
	return l
}

func TestTorchFixtureGreedy(t *testing.T) {
	g, err := openLayout(fixtureLayout(t, torchFixture), Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	exp := readExpected(t, torchFixture)
	for i, c := range exp.Cases {
		tr, err := g.Generate(context.Background(), gen.Request{Prompts: [][]int64{c.Prompt}, NewTokens: exp.NewTokens})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(tr.OutputIDs[0]) != fmt.Sprint(c.Greedy) {
			t.Errorf("case %d: pipe %v, torch %v", i, tr.OutputIDs[0], c.Greedy)
		}
	}
}
