package stats

import (
	"math"
	"slices"

	moremath "github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the level of every interval this package computes.
const Confidence = 0.95

// DefaultOutlierZ is hyperfine's threshold: a run whose modified z-score
// exceeds it is an outlier.
const DefaultOutlierZ = 10

// madScale turns a median absolute deviation into a consistent estimate of
// the standard deviation of a normal distribution (1 / Φ⁻¹(3/4)).
const madScale = 1.482602218505602

// Options tune Summarize beyond its defaults.
type Options struct {
	// Percentiles are percentiles (0–100) to compute; those beyond p50,
	// p90, p95 and p99 land in Summary.Percentiles.
	Percentiles []float64
	// OutlierZ is the modified z-score above which a run is an outlier;
	// 0 means DefaultOutlierZ.
	OutlierZ float64
}

// Summarize describes xs with the default options. xs is not modified.
func Summarize(xs []float64) Summary { return SummarizeWith(xs, Options{}) }

// SummarizeWith describes xs. An empty xs gives the zero Summary; with one
// value every spread is zero. Intervals the sample is too small to bound
// (95 % for the median needs 6 values, for p95 about 76) are left at zero, never
// infinite, so a Summary always encodes as JSON.
func SummarizeWith(xs []float64, o Options) Summary {
	n := len(xs)
	if n == 0 {
		return Summary{}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	s := Summary{
		N:   n,
		Min: sorted[0],
		Max: sorted[n-1],
		P50: percentileSorted(sorted, 50),
		P90: percentileSorted(sorted, 90),
		P95: percentileSorted(sorted, 95),
		P99: percentileSorted(sorted, 99),
	}
	s.Mean = stat.Mean(sorted, nil)
	if n >= 2 {
		s.Std = stat.StdDev(sorted, nil)
		half := tQuantile(n-1) * s.Std / math.Sqrt(float64(n))
		s.MeanCI = [2]float64{s.Mean - half, s.Mean + half}
	} else {
		s.MeanCI = [2]float64{s.Mean, s.Mean}
	}
	if s.Mean != 0 {
		s.CV = s.Std / math.Abs(s.Mean)
	}
	med := benchmath.AssumeNothing.Summary(benchmath.NewSample(sorted, &benchmath.DefaultThresholds), Confidence)
	s.P50CI = finiteInterval(med.Lo, med.Hi)
	_, lo, hi := moremath.QuantileCI(n, 0.95, Confidence).SampleCI(moremath.Sample{Xs: sorted, Sorted: true})
	s.P95CI = finiteInterval(lo, hi)
	s.Outliers = len(OutlierIndices(xs, o.OutlierZ))
	for _, p := range o.Percentiles {
		if slices.Contains(Statistics, PercentileName(p)) {
			continue // p50, p90, p95, p99 have their own fields
		}
		if s.Percentiles == nil {
			s.Percentiles = map[string]float64{}
		}
		s.Percentiles[PercentileName(p)] = percentileSorted(sorted, p)
	}
	return s
}

// Percentile returns the p-th percentile (0–100) of xs by Hyndman–Fan type
// 7: h = (n − 1)·p/100, interpolate linearly between the order statistics
// around h. It is NaN for an empty xs.
func Percentile(xs []float64, p float64) float64 {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return percentileSorted(sorted, p)
}

func percentileSorted(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * math.Min(math.Max(p, 0), 100) / 100
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// tQuantile is the two-sided Confidence quantile of Student's t with df
// degrees of freedom.
func tQuantile(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(1 - (1-Confidence)/2)
}

func finiteInterval(lo, hi float64) [2]float64 {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) {
		return [2]float64{}
	}
	return [2]float64{lo, hi}
}

// RelCIHalfWidth is the half-width of the 95 % t-interval for the mean of
// xs, as a fraction of the mean: the engine's adaptive stopping rule runs
// until it falls below a target. It is +Inf with fewer than two values or a
// zero mean (no run count is enough yet).
func RelCIHalfWidth(xs []float64) float64 {
	n := len(xs)
	if n < 2 {
		return math.Inf(1)
	}
	mean, std := stat.MeanStdDev(xs, nil)
	if mean == 0 {
		return math.Inf(1)
	}
	return tQuantile(n-1) * std / math.Sqrt(float64(n)) / math.Abs(mean)
}

// ModifiedZ returns each value's modified z-score: its distance from the
// median in units of the scaled median absolute deviation (1.4826·MAD, which
// estimates σ for normal data). With a zero MAD (more than half the values
// equal) every score is 0: there is no spread to measure against.
func ModifiedZ(xs []float64) []float64 {
	z := make([]float64, len(xs))
	if len(xs) == 0 {
		return z
	}
	med := Percentile(xs, 50)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	mad := Percentile(dev, 50) * madScale
	if mad == 0 {
		return z
	}
	for i, x := range xs {
		z[i] = (x - med) / mad
	}
	return z
}

// MinOutlierShare is the smallest distance from the median, as a share of
// the median, at which a run can be an outlier. A metric that barely moves
// (RSS: a few pages over 900 MiB) has a MAD so small that any page makes a
// huge z-score; a run 0.1 % away from the others is not a run to distrust.
const MinOutlierShare = 0.01

// OutlierIndices returns the indices (into xs) of the values whose modified
// z-score exceeds threshold in absolute value and that lie at least
// MinOutlierShare of the median away from it; threshold 0 means
// DefaultOutlierZ.
func OutlierIndices(xs []float64, threshold float64) []int {
	if threshold <= 0 {
		threshold = DefaultOutlierZ
	}
	med := Percentile(xs, 50)
	var out []int
	for i, z := range ModifiedZ(xs) {
		if math.Abs(z) > threshold && math.Abs(xs[i]-med) >= MinOutlierShare*math.Abs(med) {
			out = append(out, i)
		}
	}
	return out
}
