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

	"github.com/pipe-bench/pipe/sdk/schema"
)

// Summary describes one metric's distribution over the runs of one case;
// the type is sdk/schema's (plain data, so plugins need no statistics
// library), computed here. Percentiles use the method named in
// PercentileMethod; CIs are 95 %.
type Summary = schema.Summary

// PercentileMethod names how percentiles are computed, for reports.
const PercentileMethod = "Hyndman–Fan type 7 (linear interpolation between order statistics; numpy's and R's default)"

// Statistics lists the fixed statistic names a Summary answers to
// (Summary.Get), in report order. Percentiles "pNN" beyond these are
// answered when present.
var Statistics = schema.Statistics

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
