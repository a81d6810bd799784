// Package fidelity measures how far a model variant's outputs are from a
// reference variant of the same model (fp32 against int8, say), in the same
// run as its latency: each scored run's prompt and generated tokens are fed
// teacher-forced through both variants after the case's timed runs
// (ortgen's Score, not timed, so latency is what it would be without
// fidelity), and the per-position logits are compared in float64:
//
//   - fidelity.top1_agreement: the share of positions whose argmax is the
//     same in both;
//   - fidelity.kl: the mean KL(reference ‖ candidate) per position, in
//     nats, from log-softmax;
//   - fidelity.max_abs_dlogit: the largest |reference − candidate| logit;
//   - fidelity.first_divergence: the first position where the candidate's
//     free-running output differs from the reference's own greedy
//     generation on the same prompt, or the output's length when none does
//     (so higher is better, and a target reads min ≥ new_tokens for
//     "never"). It compares against greedy decoding: with sampling on, it
//     measures the sampling too.
//
// A batch's rows pool their positions; first_divergence is the earliest
// row's. The stance: fidelity is a measurement, not a verdict — targets on
// fidelity.* decide.
package fidelity

import (
	"math"

	"github.com/pipe-bench/pipe/host/internal/metric"
)

// Metric IDs.
const (
	Top1Agreement   = "fidelity.top1_agreement"
	KL              = "fidelity.kl"
	MaxAbsDLogit    = "fidelity.max_abs_dlogit"
	FirstDivergence = "fidelity.first_divergence"
)

// Name is the module's name and its definitions' Source.
const Name = "fidelity"

// Defs are the fidelity metric definitions.
var Defs = []metric.Def{
	{ID: Top1Agreement, Unit: "1", Better: metric.Higher, Source: Name,
		Description: "share of teacher-forced positions where the candidate's argmax equals the reference variant's"},
	{ID: KL, Unit: "nats", Better: metric.Lower, Source: Name,
		Description: "mean KL(reference ‖ candidate) per teacher-forced position, from log-softmax in float64"},
	{ID: MaxAbsDLogit, Unit: "1", Better: metric.Lower, Source: Name,
		Description: "largest |reference − candidate| logit over every teacher-forced position"},
	{ID: FirstDivergence, Unit: "tokens", Better: metric.Higher, Source: Name,
		Description: "first position where the free-running output differs from the reference's greedy one (the output's length when none)"},
}

// Stats accumulates the comparison of reference and candidate logits, one
// position at a time.
type Stats struct {
	Positions int
	Agree     int
	KLSum     float64
	MaxAbs    float64
}

// Add compares one position's logits (equal lengths).
func (s *Stats) Add(ref, cand []float32) {
	s.Positions++
	if argmax(ref) == argmax(cand) {
		s.Agree++
	}
	lr, lc := logSumExp(ref), logSumExp(cand)
	kl := 0.0
	for j := range ref {
		r, c := float64(ref[j]), float64(cand[j])
		s.MaxAbs = max(s.MaxAbs, math.Abs(r-c))
		pr := r - lr
		kl += math.Exp(pr) * (pr - (c - lc))
	}
	// Rounding can leave a tiny negative sum for equal distributions.
	s.KLSum += max(kl, 0)
}

// Top1 is the share of positions that agree (1 for none).
func (s Stats) Top1() float64 {
	if s.Positions == 0 {
		return 1
	}
	return float64(s.Agree) / float64(s.Positions)
}

// MeanKL is the mean KL per position (0 for none).
func (s Stats) MeanKL() float64 {
	if s.Positions == 0 {
		return 0
	}
	return s.KLSum / float64(s.Positions)
}

// FirstDifference is the first index where a and b differ, or the shorter
// length when one is a prefix of the other.
func FirstDifference(a, b []int64) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func logSumExp(xs []float32) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = max(m, float64(x))
	}
	sum := 0.0
	for _, x := range xs {
		sum += math.Exp(float64(x) - m)
	}
	return m + math.Log(sum)
}

// argmax is the first index of the largest value.
func argmax(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}
