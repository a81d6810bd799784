// Command jitter is a first-party pipe metric plugin: how steady decoding
// is. Per run it reports the ITL coefficient of variation, the decode
// slowdown (mean of the last 10 % of inter-token gaps over the mean of the
// first 10 %: above 1 means decoding got slower as the context grew) and
// the time to the 10th token; over the batch, the pooled p99 gap.
//
// Build: pipe plugin build plugins/jitter. Use in a pipeline:
//
//	[plugins.jitter]
//	trusted = true
package main

import (
	"math"

	"github.com/pipe-bench/pipe/sdk"
)

// Metric IDs.
const (
	ITLCV          = "jitter.itl_cv"
	DecodeSlowdown = "jitter.decode_slowdown"
	TimeTo10th     = "jitter.ttt10_ms"
	PooledP99      = "jitter.itl_p99_ms"
)

func init() {
	sdk.Register(sdk.Plugin{
		Name:        "jitter",
		Version:     "1.0.0",
		Description: "decode steadiness: ITL jitter, decode slowdown, time to the 10th token",
		Metrics: []sdk.MetricDef{
			{ID: ITLCV, Unit: "1", Better: sdk.Lower, Description: "coefficient of variation of a run's inter-token gaps (sample std / mean)"},
			{ID: DecodeSlowdown, Unit: "x", Better: sdk.Lower, Description: "mean of the last 10 % of a run's gaps over the mean of its first 10 % (at least one gap each); 1 = steady"},
			{ID: TimeTo10th, Unit: "ms", Better: sdk.Lower, Description: "request start → 10th generated token"},
			{ID: PooledP99, Unit: "ms", Better: sdk.Lower, Description: "p99 (nearest rank) of every gap of every run in the batch (corpus value)"},
		},
		Inputs: []string{sdk.InputITL, sdk.InputTokenMS},
		Metric: measure,
	})
}

func measure(runs []sdk.Run) ([]sdk.Values, sdk.Values, error) {
	perRun := make([]sdk.Values, len(runs))
	var pooled []float64
	for i, r := range runs {
		v := sdk.Values{}
		if cv, ok := coefficientOfVariation(r.ITLms); ok {
			v[ITLCV] = cv
		}
		if s, ok := slowdown(r.ITLms); ok {
			v[DecodeSlowdown] = s
		}
		if len(r.TokenMS) >= 10 {
			v[TimeTo10th] = r.TokenMS[9]
		}
		perRun[i] = v
		pooled = append(pooled, r.ITLms...)
	}
	corpus := sdk.Values{}
	if len(pooled) > 0 {
		corpus[PooledP99] = nth(pooled, int(math.Ceil(0.99*float64(len(pooled))))-1)
	}
	return perRun, corpus, nil
}

// nth returns the k-th smallest of xs (0-based), reordering xs: a
// quickselect, linear on average where a sort of every gap would be
// n log n.
func nth(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		pivot := xs[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// coefficientOfVariation needs two gaps and a positive mean.
func coefficientOfVariation(xs []float64) (float64, bool) {
	if len(xs) < 2 {
		return 0, false
	}
	m := mean(xs)
	if m <= 0 {
		return 0, false
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss/float64(len(xs)-1)) / m, true
}

// slowdown compares the last tenth of the gaps with the first tenth.
func slowdown(xs []float64) (float64, bool) {
	if len(xs) < 2 {
		return 0, false
	}
	k := max(1, len(xs)/10)
	first, last := mean(xs[:k]), mean(xs[len(xs)-k:])
	if first <= 0 {
		return 0, false
	}
	return last / first, true
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func main() {}
