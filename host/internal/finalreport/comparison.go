package finalreport

import (
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/report"
)

// ComparisonMethod says how phase 5 compares phase 1 with phase 2, for the
// reports' captions.
var ComparisonMethod = fmt.Sprintf("Medians with 95 %% order-statistic intervals; a change is significant where the two-sided "+
	"Mann–Whitney U test on the raw runs, Holm-adjusted over the metrics compared, rejects at α = %g "+
	"and the medians differ by more than %g %% (or the unit's floor), as pipe compare judges", compare.DefaultAlpha, compare.DefaultNoise*100)

// Center formats a median with its 95 % interval: "62.17 [61.99, 62.56]",
// or the median alone where too few runs bound it.
func Center(c compare.Center) string {
	if c.Lo == nil || c.Hi == nil {
		return Num(c.Median)
	}
	return withInterval(c.Median, *c.Lo, *c.Hi)
}

// EstimateText formats a mean with its 95 % interval, the mean alone
// where one run or an unbounded interval gives none, "–" where !ok.
func EstimateText(e report.Estimate, ok bool) string {
	if !ok {
		return "–"
	}
	if isFinite(e.CI[0]) && isFinite(e.CI[1]) && e.N > 1 {
		return withInterval(e.Mean, e.CI[0], e.CI[1])
	}
	return Num(e.Mean)
}

func withInterval(v, lo, hi float64) string {
	return fmt.Sprintf("%s [%s, %s]", Num(v), Num(lo), Num(hi))
}

// Significance is a comparison row's verdict in words: "yes", or "no"
// with why not where the test says (too few runs, below the noise
// threshold).
func Significance(r compare.Row) string {
	switch {
	case r.Significant:
		return "yes"
	case r.Note != "":
		return "no (" + r.Note + ")"
	}
	return "no"
}
