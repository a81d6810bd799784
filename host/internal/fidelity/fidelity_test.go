package fidelity

import (
	"context"
	"math"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/gen/ortgen"
	"github.com/pipe-bench/pipe/host/internal/model"
	"github.com/pipe-bench/pipe/host/internal/tokenize"
)

// TestStatsKnownPair: two positions worked by hand. Position 1: reference
// (½, ½) (the tie's argmax is the first), candidate (¾, ¼): agree,
// KL = ½ ln(4/3), |Δ| = ln 3. Position 2: reference [0, 1], candidate
// [1, 0]: disagree, KL = ((e−1)/(e+1))·1 − … computed below, |Δ| = 1.
func TestStatsKnownPair(t *testing.T) {
	var s Stats
	s.Add([]float32{0, 0}, []float32{float32(math.Log(3)), 0})
	s.Add([]float32{0, 1}, []float32{1, 0})
	e := math.E
	p := []float64{1 / (1 + e), e / (1 + e)}
	q := []float64{e / (1 + e), 1 / (1 + e)}
	kl2 := p[0]*math.Log(p[0]/q[0]) + p[1]*math.Log(p[1]/q[1])
	want := (0.5*math.Log(4.0/3) + kl2) / 2
	if s.Positions != 2 || s.Agree != 1 || s.Top1() != 0.5 {
		t.Errorf("positions %d, agree %d, top1 %g: want 2, 1, 0.5", s.Positions, s.Agree, s.Top1())
	}
	if math.Abs(s.MeanKL()-want) > 1e-7 {
		t.Errorf("mean KL %g, want %g", s.MeanKL(), want)
	}
	if math.Abs(s.MaxAbs-1.0986123) > 1e-6 {
		t.Errorf("max |Δlogit| %g, want ln 3", s.MaxAbs)
	}
	for _, tc := range []struct {
		a, b []int64
		want int
	}{{[]int64{1, 2, 3}, []int64{1, 2, 3}, 3}, {[]int64{1, 2, 3}, []int64{1, 5, 3}, 1}, {[]int64{4}, []int64{5}, 0}, {[]int64{1, 2}, []int64{1, 2, 3}, 2}} {
		if got := FirstDifference(tc.a, tc.b); got != tc.want {
			t.Errorf("FirstDifference(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

const seed = 7

func openTiny(t *testing.T, precision string) (*ortgen.Generator, *model.Model) {
	t.Helper()
	m, err := model.OpenWith("gpt2-tiny", model.BuildOptions{Seed: seed, Precision: precision})
	if err != nil {
		t.Fatal(err)
	}
	g, err := ortgen.Open(m, ortgen.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, m
}

func greedy(t *testing.T, g gen.Generator, prompts [][]int64, n int) [][]int64 {
	t.Helper()
	tr, err := g.Generate(context.Background(), gen.Request{Prompts: prompts, NewTokens: n})
	if err != nil {
		t.Fatal(err)
	}
	return tr.OutputIDs
}

// TestSelf: a variant against itself agrees everywhere, with KL 0, no
// logit difference and no divergence.
func TestSelf(t *testing.T) {
	g, _ := openTiny(t, model.PrecisionFP32)
	prompts := [][]int64{tokenize.SeededIDs(20, 510, 1), tokenize.SeededIDs(20, 510, 2)}
	const n = 24
	out := greedy(t, g, prompts, n)
	v, err := Score(context.Background(), g, g, prompts, out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{Top1Agreement: 1, KL: 0, MaxAbsDLogit: 0, FirstDivergence: n}
	for id, w := range want {
		if v[id] != w {
			t.Errorf("%s = %g, want %g", id, v[id], w)
		}
	}
}

// TestInt4AgainstFP32: the int4 build of the tiny model against its fp32
// build. The values equal an independent computation: the fp32 logits from
// the plain-Go reference forward pass (model.ReferenceLogits), the int4
// logits from ONNX Runtime, KL from probabilities (not log-softmax), and
// the divergence from the reference's own greedy decoding.
func TestInt4AgainstFP32(t *testing.T) {
	ref, m := openTiny(t, model.PrecisionFP32)
	cand, _ := openTiny(t, model.PrecisionInt4)
	var prompts [][]int64
	for r := range 6 {
		prompts = append(prompts, tokenize.SeededIDs(8, 510, uint64(3+r)))
	}
	const n = 100
	out := greedy(t, cand, prompts, n)
	got, err := Score(context.Background(), cand, ref, prompts, out)
	if err != nil {
		t.Fatal(err)
	}
	positions, agree, klSum, maxAbs, first := 0, 0, 0.0, 0.0, n
	for r, p := range prompts {
		seq := append(append([]int64(nil), p...), out[r]...)
		refRows := model.ReferenceLogits(m.Config, seed, seq)
		var candRows [][]float32
		if err := cand.Score(context.Background(), p, out[r], func(_ int, row []float32) error {
			candRows = append(candRows, append([]float32(nil), row...))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range out[r] {
			pr, pc := probs(refRows[len(p)-1+i]), probs(candRows[i])
			positions++
			if argmax(refRows[len(p)-1+i]) == argmax(candRows[i]) {
				agree++
			}
			for j := range pr {
				if pr[j] > 0 {
					klSum += pr[j] * math.Log(pr[j]/pc[j])
				}
				maxAbs = max(maxAbs, math.Abs(float64(refRows[len(p)-1+i][j]-candRows[i][j])))
			}
		}
		// The reference's free-running greedy output, recomputed in plain Go.
		ids := append([]int64(nil), p...)
		for i := range n {
			all := model.ReferenceLogits(m.Config, seed, ids)
			id := int64(argmax(all[len(all)-1]))
			if id != out[r][i] {
				first = min(first, i)
				break
			}
			ids = append(ids, id)
		}
	}
	wantTop1, wantKL := float64(agree)/float64(positions), klSum/float64(positions)
	t.Logf("int4 vs fp32, %d positions: top-1 %.4f, KL %.3g nats, max |Δlogit| %.3g, first divergence %d", positions, got[Top1Agreement], got[KL], got[MaxAbsDLogit], int(got[FirstDivergence]))
	if got[Top1Agreement] >= 1 || got[KL] <= 0 {
		t.Errorf("top-1 agreement %g, KL %g: int4 should differ from fp32 (agreement < 1, KL > 0)", got[Top1Agreement], got[KL])
	}
	if got[Top1Agreement] != wantTop1 {
		t.Errorf("top-1 agreement %g, independent %g", got[Top1Agreement], wantTop1)
	}
	if math.Abs(got[KL]-wantKL) > 1e-5*max(1, wantKL) {
		t.Errorf("KL %g, independent %g", got[KL], wantKL)
	}
	if math.Abs(got[MaxAbsDLogit]-maxAbs) > 1e-4 {
		t.Errorf("max |Δlogit| %g, independent %g", got[MaxAbsDLogit], maxAbs)
	}
	if int(got[FirstDivergence]) != first {
		t.Errorf("first divergence %g, independent %d", got[FirstDivergence], first)
	}
}

func probs(xs []float32) []float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = max(m, float64(x))
	}
	out := make([]float64, len(xs))
	sum := 0.0
	for j, x := range xs {
		out[j] = math.Exp(float64(x) - m)
		sum += out[j]
	}
	for j := range out {
		out[j] /= sum
	}
	return out
}
