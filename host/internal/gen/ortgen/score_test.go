package ortgen

import (
	"context"
	"math"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/model"
)

// TestScoreMatchesReference: for every graph style (pipe's graphs compute
// the last position's logits only, so each is stepped on its cache: the
// concat path, or GroupQueryAttention's shared buffer), the teacher-forced
// rows equal the plain-Go reference's logits of the whole sequence within
// 1e-4, and scoring a greedy generation gives that generation's ids back as
// each row's argmax. TestScoreOnePrefill covers graphs with every
// position's logits.
func TestScoreMatchesReference(t *testing.T) {
	prompt := []int64{17, 300, 4, 99, 256, 1, 42, 8, 77}
	const n = 8
	for _, style := range model.Styles {
		t.Run(style, func(t *testing.T) {
			g, m := openBuiltinTiny(t, style)
			out := generate(t, g, gen.Request{Prompts: [][]int64{prompt}, NewTokens: n}).OutputIDs[0]
			ref := model.ReferenceLogits(m.Config, tinySeed, append(append([]int64(nil), prompt...), out...))
			seen := 0
			err := g.Score(context.Background(), prompt, out, func(i int, row []float32) error {
				if i != seen {
					t.Errorf("row %d came after %d rows", i, seen)
				}
				seen++
				want := ref[len(prompt)-1+i]
				worst := 0.0
				for j, w := range want {
					worst = max(worst, math.Abs(float64(row[j]-w)))
				}
				if worst > 1e-4 {
					t.Errorf("row %d differs from the reference by up to %g", i, worst)
				}
				if id := argmax(row); id != out[i] {
					t.Errorf("row %d: argmax %d, greedy generation chose %d", i, id, out[i])
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != n {
				t.Errorf("%d rows, want %d", seen, n)
			}
		})
	}
}

func TestScoreErrors(t *testing.T) {
	g, _ := openBuiltinTiny(t, model.StyleOptimum)
	none := func(int, []float32) error { return nil }
	ctx := context.Background()
	checkErr(t, g.Score(ctx, []int64{1, 2}, nil, none), "empty continuation")
	checkErr(t, g.Score(ctx, []int64{1, 2}, []int64{3, 512}, none), "continuation token 1 is id 512, outside the model's vocabulary [0, 512)")
	checkErr(t, g.Score(ctx, nil, []int64{3}, none), "prompt row 0 is empty")
	long := make([]int64, 120)
	checkErr(t, g.Score(ctx, long, make([]int64, 9), none), "exceeds the model's 128 positions")
}

// TestScoreOnePrefill: a graph with every position's logits (torch's
// export, as optimum's) scores in one prefill, and its rows equal those of
// stepping the same continuation on the cache within 1e-5.
func TestScoreOnePrefill(t *testing.T) {
	g := openFixture(t)
	if g.lay.lastLogitsOnly() {
		t.Fatal("the torch fixture reads as last-position-only")
	}
	prompt, cont := []int64{3, 14, 15, 92, 65}, []int64{35, 89, 79, 32, 38}
	var one, stepped [][]float32
	keep := func(dst *[][]float32) func(int, []float32) error {
		return func(_ int, row []float32) error { *dst = append(*dst, append([]float32(nil), row...)); return nil }
	}
	if err := g.Score(context.Background(), prompt, cont, keep(&one)); err != nil {
		t.Fatal(err)
	}
	b, done := g.acquire()
	err := g.scoreByStep(context.Background(), b, prompt, cont, keep(&stepped))
	done()
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != len(cont) || len(stepped) != len(cont) {
		t.Fatalf("%d rows in one prefill, %d stepped; want %d", len(one), len(stepped), len(cont))
	}
	for i := range one {
		worst := 0.0
		for j := range one[i] {
			worst = max(worst, math.Abs(float64(one[i][j]-stepped[i][j])))
		}
		if worst > 1e-5 {
			t.Errorf("row %d: one prefill and stepping differ by up to %g", i, worst)
		}
	}
}
