package stats

import (
	"math"
	"slices"
	"sync"

	moremath "github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the level of every interval this package computes.
const Confidence = 0.95

// DefaultOutlierZ is the default threshold of the outlier rule
// (OutlierIndices): a run more than 5 robust standard deviations from the
// median, on the log scale for positive data, is an outlier. RATIONALE.md
// has the false-positive and detection rates behind the choice.
const DefaultOutlierZ = 5

// Options tune Summarize beyond its defaults.
type Options struct {
	// Percentiles are percentiles (0–100) to compute; those beyond p50,
	// p90, p95 and p99 land in Summary.Percentiles.
	Percentiles []float64
	// OutlierZ is the threshold of the outlier rule (OutlierIndices);
	// 0 means DefaultOutlierZ.
	OutlierZ float64
	// MeanLevel is the level of the t-quantile behind MeanCI; 0 means
	// Confidence. A case that stopped early on the precision rule uses
	// AdaptiveMeanLevel here (see PreciseEnough).
	MeanLevel float64
}

// Summarize describes xs with the default options. xs is not modified.
func Summarize(xs []float64) Summary { return SummarizeWith(xs, Options{}) }

// SummarizeWith describes xs. NaN and ±Inf values are left out and counted
// in Summary.Dropped. An empty xs gives the zero Summary (plus Dropped);
// with one value every spread is zero and MeanCI is [mean, mean]. Intervals
// the sample is too small to bound (95 % for the median needs 6 values, for
// p95 about 76) are left at zero. Every field is finite, whatever the input:
// sums are taken on values scaled by a power of two (exact), so values near
// ±MaxFloat64 do not overflow the mean, and a spread wider than float64 can
// hold saturates at MaxFloat64.
func SummarizeWith(xs []float64, o Options) Summary {
	kept, dropped := Finite(xs)
	n := len(kept)
	if n == 0 {
		return Summary{Dropped: dropped}
	}
	sorted := slices.Clone(kept)
	slices.Sort(sorted)
	s := describeSorted(sorted, o)
	s.Dropped = dropped
	s.Mean, s.Std = meanStd(sorted)
	s.CV = cv(s.Mean, s.Std)
	s.MeanCI = tInterval(s.Mean, s.Std, n, o.MeanLevel)
	med := benchmath.AssumeNothing.Summary(benchmath.NewSample(sorted, &benchmath.DefaultThresholds), Confidence)
	s.P50CI = finiteInterval(med.Lo, med.Hi)
	_, lo, hi := moremath.QuantileCI(n, 0.95, Confidence).SampleCI(moremath.Sample{Xs: sorted, Sorted: true})
	s.P95CI = finiteInterval(lo, hi)
	s.Outliers = len(OutlierIndices(kept, o.OutlierZ))
	return s
}

// describeSorted fills the order statistics of a sorted, finite, non-empty
// sample: N, Min, Max and the percentiles.
func describeSorted(sorted []float64, o Options) Summary {
	n := len(sorted)
	s := Summary{
		N:   n,
		Min: sorted[0],
		Max: sorted[n-1],
		P50: percentileSorted(sorted, 50),
		P90: percentileSorted(sorted, 90),
		P95: percentileSorted(sorted, 95),
		P99: percentileSorted(sorted, 99),
	}
	for _, p := range o.Percentiles {
		if slices.Contains(Statistics, PercentileName(p)) || math.IsNaN(p) {
			continue // p50, p90, p95, p99 have their own fields
		}
		if s.Percentiles == nil {
			s.Percentiles = map[string]float64{}
		}
		s.Percentiles[PercentileName(p)] = percentileSorted(sorted, p)
	}
	return s
}

// Finite returns the finite values of xs (a new slice, in order) and how
// many NaN or ±Inf values it left out.
func Finite(xs []float64) (kept []float64, dropped int) {
	kept = make([]float64, 0, len(xs))
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			dropped++
			continue
		}
		kept = append(kept, x)
	}
	return kept, dropped
}

// scaleExp returns e such that every |x|·2^−e is below 1: scaling by a power
// of two is exact, so sums of the scaled values cannot overflow and their
// results, scaled back, equal the unscaled arithmetic wherever that is finite.
func scaleExp(xs []float64) int {
	var m float64
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	if m == 0 {
		return 0
	}
	_, e := math.Frexp(m)
	return e
}

func scaled(xs []float64, e int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Ldexp(x, -e)
	}
	return out
}

// meanStd is gonum's mean and sample standard deviation (n − 1) of finite
// xs, computed on power-of-two-scaled values; a single value has Std 0.
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 1 {
		return xs[0], 0
	}
	e := scaleExp(xs)
	ys := scaled(xs, e)
	m, sd := stat.MeanStdDev(ys, nil)
	return saturate(math.Ldexp(m, e)), saturate(math.Ldexp(sd, e))
}

// cv is Std / |Mean|, defined as 0 when the mean is 0 (no scale to relate
// the spread to).
func cv(mean, std float64) float64 {
	if mean == 0 {
		return 0
	}
	return saturate(std / math.Abs(mean))
}

// tInterval is the Student-t interval for the mean at level (0 means
// Confidence); with one value it is [mean, mean].
func tInterval(mean, std float64, n int, level float64) [2]float64 {
	if n < 2 {
		return [2]float64{mean, mean}
	}
	half := saturate(tQuantileAt(n-1, level) * std / math.Sqrt(float64(n)))
	return [2]float64{saturate(mean - half), saturate(mean + half)}
}

// saturate maps ±Inf to ±MaxFloat64 and NaN to 0, so no statistic this
// package returns is non-finite; only arithmetic beyond float64's range
// (a spread of values near ±MaxFloat64) reaches it.
func saturate(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// Percentile returns the p-th percentile (0–100) of xs by Hyndman–Fan type
// 7: h = (n − 1)·p/100, interpolate linearly between the order statistics
// around h. It is NaN for an empty xs or a NaN p.
func Percentile(xs []float64, p float64) float64 {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return percentileSorted(sorted, p)
}

func percentileSorted(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	lo, t := type7Position(n, p)
	if lo >= n-1 {
		return sorted[n-1]
	}
	return interpolate(sorted[lo], sorted[lo+1], t)
}

// type7Position is where percentile p (0–100, clamped) of n sorted values
// lies: between 0-based order statistics lo and lo + 1, a share t of the
// way; h = (n − 1)·p/100 (Hyndman–Fan type 7).
func type7Position(n int, p float64) (lo int, t float64) {
	h := float64(n-1) * math.Min(math.Max(p, 0), 100) / 100
	lo = int(math.Floor(h))
	return lo, h - float64(lo)
}

// interpolate is a + t·(b − a), computed so that it stays finite for finite
// a ≤ b of opposite signs near ±MaxFloat64 (where b − a overflows).
func interpolate(a, b, t float64) float64 {
	if t == 0 {
		return a
	}
	if d := b - a; !math.IsInf(d, 0) {
		return a + t*d
	}
	return saturate(a*(1-t) + b*t)
}

// tQuantile is the two-sided Confidence quantile of Student's t with df
// degrees of freedom.
func tQuantile(df int) float64 { return tQuantileAt(df, Confidence) }

// tQuantileAt is the two-sided quantile of Student's t at level (0 means
// Confidence).
// Quantiles are memoized: the adaptive rule asks for one per run.
func tQuantileAt(df int, level float64) float64 {
	if level == 0 {
		level = Confidence
	}
	key := tKey{df, level}
	if q, ok := tQuantiles.Load(key); ok {
		return q.(float64)
	}
	q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(1 - (1-level)/2)
	tQuantiles.Store(key, q)
	return q
}

type tKey struct {
	df    int
	level float64
}

var tQuantiles sync.Map // tKey → float64

func finiteInterval(lo, hi float64) [2]float64 {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) {
		return [2]float64{}
	}
	return [2]float64{lo, hi}
}

// RelCIHalfWidth is the half-width of the 95 % t-interval for the mean of
// xs, as a fraction of the mean: the engine's adaptive stopping rule runs
// until it falls below a target (PreciseEnough). Non-finite values are left
// out. It is +Inf with fewer than two values or a zero mean (no run count is
// enough yet) — a stopping criterion, never stored.
func RelCIHalfWidth(xs []float64) float64 {
	kept, _ := Finite(xs)
	n := len(kept)
	if n < 2 {
		return math.Inf(1)
	}
	mean, std := meanStd(kept)
	if mean == 0 {
		return math.Inf(1)
	}
	return tQuantile(n-1) * std / math.Sqrt(float64(n)) / math.Abs(mean)
}
