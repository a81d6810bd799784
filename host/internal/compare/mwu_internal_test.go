package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKthDifference: the bisection finds every order statistic of the
// pairwise differences exactly as sorting them would, with ties, negative
// values and zeros.
func TestKthDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		x, y := make([]float64, 1+rng.IntN(9)), make([]float64, 1+rng.IntN(9))
		for i := range x {
			x[i] = float64(rng.IntN(7)-3) * 0.1
		}
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		slices.Sort(x)
		slices.Sort(y)
		var diffs []float64
		for _, b := range y {
			for _, a := range x {
				diffs = append(diffs, b-a)
			}
		}
		slices.Sort(diffs)
		for k := 1; k <= len(diffs); k++ {
			if got := kthDifference(x, y, k); got != diffs[k-1] {
				t.Fatalf("x=%v y=%v: difference %d = %v, sorting says %v", x, y, k, got, diffs[k-1])
			}
		}
	}
}

// BenchmarkNormalApproximationError measures what the size limit of the
// exact test buys: on seeded random pairs of heavily tied samples (2–31
// levels, shifted or not) of n1 + n2 runs, the largest |exact p − normal p|
// overall and where either p < 0.1 (reported as metrics; RATIONALE.md):
//
//	go test ./host/compare -run X -bench NormalApproximationError -benchtime 1x
func BenchmarkNormalApproximationError(b *testing.B) {
	for _, n := range []int{20, 60, 80, 120, 150} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				rng := rand.New(rand.NewPCG(1, 2))
				worst, worstSmall := 0.0, 0.0
				for range 300 {
					n1 := n/2 + rng.IntN(n/4+1) - n/8
					x, y := make([]float64, n1), make([]float64, n-n1)
					levels, shift := 2+rng.IntN(30), rng.IntN(4)
					for i := range x {
						x[i] = float64(rng.IntN(levels))
					}
					for i := range y {
						y[i] = float64(rng.IntN(levels) + shift*levels/10)
					}
					r := newRanking(x, y)
					exact, _ := r.exactP()
					normal := r.normalP(float64(r.twiceU()) / 2)
					d := math.Abs(exact - normal)
					worst = math.Max(worst, d)
					if exact < 0.1 || normal < 0.1 {
						worstSmall = math.Max(worstSmall, d)
					}
				}
				b.ReportMetric(worst, "max|Δp|")
				b.ReportMetric(worstSmall, "max|Δp|@p<0.1")
			}
		})
	}
}
