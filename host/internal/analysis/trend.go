package analysis

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// trend is a robust line through a series cut into segments: one slope
// shared by all segments, one level per segment.
type trend struct {
	Slope float64
	CI    [2]float64
	// Levels[s] is segment s's intercept: the median of y − Slope·x.
	Levels []float64
	// Autocorrelation is the bias-corrected lag-1 autocorrelation of the
	// residuals, clamped at 0 (negative correlation never narrows Sen's
	// interval), which widened the interval.
	Autocorrelation float64
	// Pairs counts the pairwise slopes the fit had.
	Pairs int
}

// z975 is the standard normal's 97.5 % quantile.
var z975 = distuv.UnitNormal.Quantile(0.975)

// maxAutocorrelation caps the correction; closer to 1 the series is a
// random walk, which leakOf reports as not stationary before using it.
const maxAutocorrelation = 0.95

// senTrend fits Theil–Sen's slope to (x, y), where seg[i] names the segment
// of point i (non-decreasing), using only pairs within a segment: a level
// step between segments moves no pair slope. The 95 % interval is Sen's
// (1968), from the variance of Kendall's S summed over the segments (with
// the correction for ties in y), widened by (1 + ρ)/(1 − ρ), the factor by
// which AR(1) noise with lag-1 autocorrelation ρ inflates a trend's
// variance. ρ is estimated from the residuals and corrected for the bias a
// fitted level and slope leave in it ((2 + 4ρ)/n, Shaman and Stine 1988).
// ok is false when no segment has two points.
func senTrend(x, y []float64, seg []int) (t trend, ok bool) {
	n := len(x)
	var slopes []float64
	varS := 0.0
	for lo := 0; lo < n; {
		hi := lo
		for hi < n && seg[hi] == seg[lo] {
			hi++
		}
		for i := lo; i < hi; i++ {
			for j := i + 1; j < hi; j++ {
				if dx := x[j] - x[i]; dx != 0 {
					slopes = append(slopes, (y[j]-y[i])/dx)
				}
			}
		}
		varS += kendallVariance(y[lo:hi])
		lo = hi
	}
	t.Pairs = len(slopes)
	if t.Pairs == 0 {
		return t, false
	}
	slices.Sort(slopes)
	t.Slope = medianSorted(slopes)
	t.Levels = levels(x, y, seg, t.Slope)

	// Residuals, centred within each segment, for the autocorrelation.
	res := make([]float64, n)
	for lo := 0; lo < n; {
		hi, sum := lo, 0.0
		for hi < n && seg[hi] == seg[lo] {
			res[hi] = y[hi] - t.Slope*x[hi]
			sum += res[hi]
			hi++
		}
		for i := lo; i < hi; i++ {
			res[i] -= sum / float64(hi-lo)
		}
		lo = hi
	}
	var num, den float64
	for i := range res {
		den += res[i] * res[i]
		if i > 0 && seg[i] == seg[i-1] {
			num += res[i] * res[i-1]
		}
	}
	if den > 0 {
		r := num / den
		r += (2 + 4*r) / float64(n)
		t.Autocorrelation = min(max(r, 0), maxAutocorrelation)
	}
	inflation := (1 + t.Autocorrelation) / (1 - t.Autocorrelation)
	c := z975 * math.Sqrt(varS*inflation)
	N := float64(t.Pairs)
	lo := int(math.Floor((N - c) / 2))
	hi := int(math.Ceil((N + c) / 2))
	t.CI = [2]float64{slopes[min(max(lo, 0), t.Pairs-1)], slopes[min(max(hi, 0), t.Pairs-1)]}
	return t, true
}

// kendallVariance is the variance of Kendall's S for one segment of y
// under no trend, corrected for tied values.
func kendallVariance(y []float64) float64 {
	n := float64(len(y))
	v := n * (n - 1) * (2*n + 5)
	sorted := slices.Clone(y)
	slices.Sort(sorted)
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		if t := float64(j - i); t > 1 {
			v -= t * (t - 1) * (2*t + 5)
		}
		i = j
	}
	return v / 18
}

// levels returns each segment's median of y − slope·x.
func levels(x, y []float64, seg []int, slope float64) []float64 {
	var out []float64
	for lo := 0; lo < len(x); {
		var r []float64
		hi := lo
		for hi < len(x) && seg[hi] == seg[lo] {
			r = append(r, y[hi]-slope*x[hi])
			hi++
		}
		slices.Sort(r)
		out = append(out, medianSorted(r))
		lo = hi
	}
	return out
}

func medianSorted(s []float64) float64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return medianSorted(s)
}
