// Package stats describes the runs of one benchmark case, and takes a stand
// on how: percentiles are Hyndman–Fan type 7 (linear interpolation between
// order statistics, the default of numpy, R and spreadsheets), the mean's
// interval is Student-t, percentile intervals are distribution-free (order
// statistics, via golang.org/x/perf's engine), and an outlier is a run more
// than 5 robust standard deviations (Rousseeuw–Croux Qn) from the median on
// the log scale, or more than 5 resolution steps when most values tie
// (OutlierIndices). A metric with many values per run (the inter-token gaps)
// is summarized over all its values with intervals from a bootstrap that
// resamples whole runs (SummarizeClustered). Moments, regression and
// distribution quantiles come from gonum; only type 7, which gonum lacks, is
// written here.
//
// No statistic is ever NaN or ±Inf: non-finite inputs are left out and
// counted (Summary.Dropped), sums are taken on power-of-two-scaled values so
// values near MaxFloat64 do not overflow, what would overflow saturates at
// ±MaxFloat64, and what is undefined has a stated value (the std of one
// value is 0, the CV of a zero mean is 0, the R² of a flat series is 1).
package stats

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Summary describes one metric's distribution over the runs of one case.
// Percentiles use the method named in PercentileMethod; CIs are 95 %.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"` // sample standard deviation (n − 1)
	CV   float64 `json:"cv"`  // Std / Mean, as a fraction
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	// MeanCI is the 95 % Student-t interval for the mean.
	MeanCI [2]float64 `json:"mean_ci"`
	// P50CI is a distribution-free 95 % interval for the median
	// (order statistics); P95CI likewise where n allows, else NaN-free zeros.
	P50CI [2]float64 `json:"p50_ci"`
	P95CI [2]float64 `json:"p95_ci"`
	// Outliers counts the runs OutlierIndices flags (for a metric with many
	// values per run, the runs whose mean is flagged).
	Outliers int `json:"outliers"`
	// Dropped counts NaN and ±Inf values left out of every statistic.
	Dropped int `json:"dropped,omitempty"`
	// Runs is the number of runs the N values came from, when a run gives
	// many (the inter-token gaps); 0 means one value per run (N runs).
	Runs int `json:"runs,omitempty"`
	// Percentiles holds any further percentiles asked for (Options), keyed
	// like "p75" or "p99.9".
	Percentiles map[string]float64 `json:"percentiles,omitempty"`
}

// RunCount is the number of runs behind the summary: Runs when the values
// are many per run, else N.
func (s Summary) RunCount() int {
	if s.Runs > 0 {
		return s.Runs
	}
	return s.N
}

// PercentileMethod names how percentiles are computed, for reports.
const PercentileMethod = "Hyndman–Fan type 7 (linear interpolation between order statistics; numpy's and R's default)"

// Statistics lists the fixed statistic names a Summary answers to, in
// report order. Percentiles "pNN" beyond these are answered when present.
var Statistics = []string{"mean", "std", "cv", "min", "max", "p50", "p90", "p95", "p99"}

// Get returns the statistic named stat ("mean", "p95", "cv", or any "pNN"
// present in Percentiles).
func (s Summary) Get(stat string) (float64, bool) {
	switch stat {
	case "n":
		return float64(s.N), true
	case "mean":
		return s.Mean, true
	case "std":
		return s.Std, true
	case "cv":
		return s.CV, true
	case "min":
		return s.Min, true
	case "max":
		return s.Max, true
	case "p50":
		return s.P50, true
	case "p90":
		return s.P90, true
	case "p95":
		return s.P95, true
	case "p99":
		return s.P99, true
	}
	v, ok := s.Percentiles[stat]
	return v, ok
}

// PercentileName is the key of percentile p (0–100): 75 → "p75",
// 99.9 → "p99.9".
func PercentileName(p float64) string {
	return "p" + strconv.FormatFloat(p, 'f', -1, 64)
}

// ParsePercentileName is the inverse of PercentileName.
func ParsePercentileName(name string) (float64, error) {
	num, ok := strings.CutPrefix(name, "p")
	if !ok {
		return 0, fmt.Errorf("percentile %q: want p followed by a number, e.g. p95", name)
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || !(p >= 0 && p <= 100) || strings.ContainsAny(num, "eE+-") {
		return 0, fmt.Errorf("percentile %q: want a number from 0 to 100 after p, e.g. p99.9", name)
	}
	return p, nil
}

// Format renders a value for report tables with about four significant
// figures and a fixed number of decimals per magnitude, so columns line
// up and equal inputs always print equally.
func Format(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 0.01:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// FormatExact renders v with the fewest digits that read back exactly
// (settings, thresholds as written).
func FormatExact(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
