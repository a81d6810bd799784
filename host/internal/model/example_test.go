package model_test

import (
	"fmt"
	"log"

	"github.com/pipe-bench/pipe/host/internal/model"
)

// Build (or find in the cache) the tiny built-in model and read its shape
// the way the generation engine does.
func ExampleBuiltin() {
	dir, err := model.Builtin("gpt2-tiny", 0, model.StyleOptimum)
	if err != nil {
		log.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	c := m.Config
	fmt.Printf("%s: %d layers, %d heads of %d, vocab %d, %d positions, %d params\n",
		m.Name, c.Layers, c.Heads, c.HeadDim, c.Vocab, c.MaxPositions, m.Params)
	k, v := m.KVInput(1)
	fmt.Println(m.Style, k, v)
	// Output:
	// gpt2-tiny: 2 layers, 4 heads of 16, vocab 512, 128 positions, 141056 params
	// optimum past_key_values.1.key past_key_values.1.value
}

// The reference forward pass gives next-token logits after each prefix;
// greedy decoding takes the argmax of the last row. With random weights and
// a tied LM head the current token's own embedding often wins (here 3
// follows 3), so greedy text from gpt2-tiny tends to repeat itself.
func ExampleReferenceLogits() {
	logits := model.ReferenceLogits(model.GPT2Tiny(), 0, []int64{1, 2, 3})
	last := logits[len(logits)-1]
	best := 0
	for i, v := range last {
		if v > last[best] {
			best = i
		}
	}
	fmt.Println(len(logits), len(last), best)
	// Output: 3 512 3
}
