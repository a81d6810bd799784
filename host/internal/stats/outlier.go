package stats

import (
	"fmt"
	"math"
	"slices"
)

// OutlierRule describes OutlierIndices for warnings and reports; %v is the
// threshold.
const OutlierRule = "more than %v robust SDs (Qn) from the median on the log scale"

// DescribeOutlierRule is OutlierRule with its threshold (0 means
// DefaultOutlierZ).
func DescribeOutlierRule(threshold float64) string {
	if threshold <= 0 {
		threshold = DefaultOutlierZ
	}
	return fmt.Sprintf(OutlierRule, FormatExact(threshold))
}

// MinOutlierShare is the smallest distance from the median, as a share of
// the median, at which a run can be an outlier. A metric that barely moves
// (RSS: a few pages over 900 MiB) has a MAD so small that any page makes a
// huge z-score; a run 0.1 % away from the others is not a run to distrust.
const MinOutlierShare = 0.01

// RobustZ returns each value's robust z-score: its distance from the median
// in units of a robust standard deviation, Rousseeuw and Croux's Qn (which
// estimates σ for normal data; the scaled MAD beyond qnLimit values). When every value is positive the scores are taken on log
// values, where latency-like data (a floor plus a right tail) is about
// symmetric, so a clean run in the long tail of a lognormal is not an
// outlier. When about half the values tie, Qn is 0 and there is no spread to measure against; the unit is then the data's resolution —
// the smallest gap between distinct values, and no coarser than the
// median's own magnitude — on the raw values: [1, 2, 2, 2, 100] scores 100
// at 98 and 1 at 1. NaN and ±Inf values score 0; all values equal score 0.
func RobustZ(xs []float64) []float64 {
	z := make([]float64, len(xs))
	kept, _ := Finite(xs)
	if len(kept) == 0 {
		return z
	}
	scale := func(x float64) float64 { return x }
	if !slices.ContainsFunc(kept, func(x float64) bool { return x <= 0 }) {
		scale = math.Log
	}
	t := make([]float64, len(kept))
	for i, x := range kept {
		t[i] = scale(x)
	}
	center, spread := Percentile(t, 50), robustScale(t)
	if spread == 0 {
		// More than half the values tie: raw values, in units of their
		// resolution.
		scale = func(x float64) float64 { return x }
		center = Percentile(kept, 50)
		spread = resolution(kept, center)
	}
	if spread == 0 {
		return z // every value equal
	}
	for i, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			z[i] = saturate((scale(x) - center) / spread)
		}
	}
	return z
}

// resolution is the smallest positive gap between distinct values of xs,
// capped at |median| when the median is not 0 (a value is a whole number
// of resolution steps, so the step is no larger than the value); 0 when
// every value is equal.
func resolution(xs []float64, median float64) float64 {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	step := math.Inf(1)
	for i := 1; i < len(sorted); i++ {
		if d := sorted[i] - sorted[i-1]; d > 0 {
			step = min(step, d)
		}
	}
	if math.IsInf(step, 1) {
		return 0
	}
	if median != 0 {
		step = min(step, math.Abs(median))
	}
	return step
}

// OutlierIndices returns the indices (into xs) of the values whose robust
// z-score (RobustZ) exceeds threshold in absolute value and that lie at
// least MinOutlierShare of the median away from it; threshold 0 means
// DefaultOutlierZ. RATIONALE.md has the rule's false-positive and
// detection rates on simulated data.
func OutlierIndices(xs []float64, threshold float64) []int {
	if threshold <= 0 {
		threshold = DefaultOutlierZ
	}
	kept, _ := Finite(xs)
	if len(kept) == 0 {
		return nil
	}
	med := Percentile(kept, 50)
	var out []int
	for i, z := range RobustZ(xs) {
		if math.Abs(z) > threshold && math.Abs(xs[i]-med) >= MinOutlierShare*math.Abs(med) {
			out = append(out, i)
		}
	}
	return out
}

// qnLimit is the sample size beyond which robustScale uses the scaled MAD:
// Qn's n(n − 1)/2 pairwise distances (4 MB at 1,000 values) cost more than
// its efficiency buys when the MAD's own estimate is already steady.
const qnLimit = 1000

// robustScale estimates the standard deviation of xs robustly: Qn up to
// qnLimit values, 1.4826 × the median absolute deviation beyond.
func robustScale(xs []float64) float64 {
	if len(xs) <= qnLimit {
		return qnScale(xs)
	}
	med := Percentile(xs, 50)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	return saturate(Percentile(dev, 50) * 1.482602218505602) // 1 / Φ⁻¹(3/4)
}

// qnScale is Rousseeuw and Croux's (1993) Qn estimate of the standard
// deviation: 2.2219 × the k-th smallest of the n(n − 1)/2 pairwise
// distances, k = C(h, 2), h = ⌊n/2⌋ + 1, times the small-sample factor d_n
// (their table for n ≤ 9, n/(n + 1.4) or n/(n + 3.8) beyond) that makes it
// unbiased for normal data. Unlike the MAD it needs no center, and it is
// 82 % efficient against the MAD's 37 %, so its estimate from 5 or 10 runs
// varies far less. It is 0 when about half the values or more tie.
func qnScale(xs []float64) float64 {
	n := len(xs)
	if n < 2 {
		return 0
	}
	d := make([]float64, 0, n*(n-1)/2)
	for i := range xs {
		for j := i + 1; j < n; j++ {
			d = append(d, math.Abs(xs[i]-xs[j]))
		}
	}
	slices.Sort(d)
	h := n/2 + 1
	q := 2.2219 * d[h*(h-1)/2-1]
	var dn float64
	switch {
	case n <= 9:
		dn = []float64{0.399, 0.994, 0.512, 0.844, 0.611, 0.857, 0.669, 0.872}[n-2]
	case n%2 == 1:
		dn = float64(n) / (float64(n) + 1.4)
	default:
		dn = float64(n) / (float64(n) + 3.8)
	}
	return saturate(q * dn)
}

// OutlierWarning is the warning for metric id whose summary s has
// outliers by the rule at threshold (0: DefaultOutlierZ), followed by cause:
// what was measured that could explain them (sysinfo.Interference).
func OutlierWarning(id string, s Summary, threshold float64, cause string) string {
	return fmt.Sprintf("%s: %d of %d runs are outliers (%s); %s", id, s.Outliers, s.RunCount(), DescribeOutlierRule(threshold), cause)
}
