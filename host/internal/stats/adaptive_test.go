package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// adaptiveCoverage runs trials seeded simulations of the engine's adaptive
// stop (runs between minRuns and maxRuns, stop when PreciseEnough at
// relCI) on normal data with the given CV, and returns the share of final
// MeanCIs that cover the true mean, with the stopped case's level: the
// plain Confidence when adjust is false, AdaptiveMeanLevel for a case the
// rule stopped early when it is true.
func adaptiveCoverage(cv float64, minRuns, maxRuns int, relCI float64, trials int, adjust bool) (coverage, meanRuns float64) {
	r := rand.New(rand.NewPCG(10, uint64(cv*1000)+uint64(maxRuns)))
	const mu = 100.0
	xs := make([]float64, 0, maxRuns)
	covered, runs := 0, 0
	for range trials {
		xs = xs[:0]
		early := false
		for {
			xs = append(xs, mu*(1+cv*r.NormFloat64()))
			n := len(xs)
			if n >= maxRuns {
				break
			}
			if n >= minRuns && PreciseEnough(xs, relCI) {
				early = true
				break
			}
		}
		level := 0.0
		if adjust && early {
			level = AdaptiveMeanLevel
		}
		mean, std := meanStd(xs)
		ci := tInterval(mean, std, len(xs), level)
		if ci[0] <= mu && mu <= ci[1] {
			covered++
		}
		runs += len(xs)
	}
	return float64(covered) / float64(trials), float64(runs) / float64(trials)
}

// TestAdaptiveStopCoverage: stopping when the 95 % interval is narrow
// enough picks moments when the spread came out low, so the plain 95 %
// interval then covers the mean only ≈ 0.92 at CV 10 % (5 → 20 runs,
// ±5 %); at AdaptiveMeanLevel it covers ≥ 0.94 everywhere simulated
// (10,000 seeded trials per row, so the figures are fixed; the table is in
// RATIONALE.md: go test ./host/stats -run AdaptiveStopCoverage -v).
func TestAdaptiveStopCoverage(t *testing.T) {
	const trials = 10000
	var table strings.Builder
	fmt.Fprintf(&table, "| CV | runs | mean runs | coverage, 95 %% t | at AdaptiveMeanLevel |\n|---|---|---|---|---|\n")
	for _, maxRuns := range []int{20, 50} {
		for _, cv := range []float64{0.02, 0.05, 0.10, 0.15, 0.20} {
			plain, runs := adaptiveCoverage(cv, 5, maxRuns, 0.05, trials, false)
			adjusted, _ := adaptiveCoverage(cv, 5, maxRuns, 0.05, trials, true)
			fmt.Fprintf(&table, "| %.0f %% | 5–%d | %.1f | %.3f | %.3f |\n", 100*cv, maxRuns, runs, plain, adjusted)
			if adjusted < 0.94 || math.IsNaN(adjusted) {
				t.Errorf("CV %.0f %%, 5–%d runs: the reported interval covers %.3f, want ≥ 0.94", 100*cv, maxRuns, adjusted)
			}
		}
	}
	t.Logf("adaptive stop at ±5 %%, normal data, %d seeded trials per row:\n%s", trials, table.String())
}
