package analysis

import (
	"fmt"
	"math"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// Leak verdicts.
const (
	Leak         = "leak"
	NoLeak       = "no leak"
	Inconclusive = "inconclusive"
)

// LeakMethod names the slope estimator, for result.Leak.Method.
const LeakMethod = "Theil–Sen within the segments between steps; Sen's 95 % interval widened for AR(1) residuals"

// Thresholds of the leak analysis (RATIONALE.md, "The leak verdict").
const (
	// MinLeakRuns is the fewest fitted runs the leak detector judges.
	MinLeakRuns = 10
	// StepZ: a change of RSS between two runs that departs from the typical
	// change by more than StepZ robust standard deviations (and by more
	// than one run's worth of the threshold) is a step.
	StepZ = 6.0
	// maxStepShare: a series that steps at more than this share of its
	// runs is not a trend with occasional steps.
	maxStepShare = 0.25
	// wanderingAutocorrelation: residuals this autocorrelated wander like a
	// random walk, and no slope over the window is a rate.
	wanderingAutocorrelation = 0.9
	// maxLeakPoints bounds the O(n²) pairwise slopes: a longer series is
	// thinned evenly to this many points.
	maxLeakPoints = 2000
)

// LeakOf judges whether RSS grows per run. It takes the RSS after each
// valid run, leaves out the first skip runs (allocators and runtime arenas
// grow to their working size during the first runs, which is not a leak),
// finds level steps (change points in the run-to-run differences), fits
// one slope within the segments between them, and compares the slope's
// 95 % interval with threshold (bytes per run).
//
// The verdict is inconclusive, with Reason, when the series is too short,
// when it is not stationary (the residuals wander, or the first and second
// halves grow at rates whose intervals are disjoint), when it steps at too
// many runs, when upward steps recur at more than the threshold's rate, or
// when the interval straddles the threshold. An error means the case has
// no RSS series at all.
func LeakOf(c *result.Case, threshold float64, skip int) (result.Leak, error) {
	l := result.Leak{Case: c.ID, SkipRuns: skip, Threshold: threshold, Method: LeakMethod, Verdict: Inconclusive}
	var x, y []float64
	for _, r := range c.Runs {
		v, ok := r.Values[metric.RSSAfterRun]
		if !ok || !r.Valid || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		b := int64(v * (1 << 20))
		l.RSSAfter = append(l.RSSAfter, b)
		if r.Index >= skip {
			x = append(x, float64(r.Index))
			y = append(y, float64(b))
		}
	}
	if len(l.RSSAfter) == 0 {
		return l, fmt.Errorf("case %s: no valid run recorded %s, so there is no RSS series to check for a leak", c.ID, metric.RSSAfterRun)
	}
	if len(x) < MinLeakRuns {
		l.Reason = fmt.Sprintf("%d valid runs after skipping the first %d; the leak check needs at least %d — add runs", len(x), skip, MinLeakRuns)
		return l, nil
	}
	if len(x) > maxLeakPoints {
		x, y = thin(x, y, maxLeakPoints)
	}
	starts := stepStarts(x, y, threshold)
	seg := make([]int, len(x))
	for i, s := 1, 0; i < len(x); i++ {
		if s < len(starts) && starts[s] == i {
			s++
		}
		seg[i] = s
	}
	if len(starts) > int(maxStepShare*float64(len(x))) {
		// Steps this frequent are how the memory grows (a heap or arena
		// extended in chunks), not occasional events beside a trend: judge
		// the slope of the whole staircase, steps included.
		if t, ok := senTrend(x, y, make([]int, len(x))); ok {
			l.Slope, l.SlopeCI, l.Autocorrelation = t.Slope, t.CI, t.Autocorrelation
			l.Intercept = t.Levels[0]
			if t.CI[0] > threshold {
				l.Verdict = Leak
				return l, nil
			}
		}
		l.Reason = fmt.Sprintf("RSS jumps between %d of %d consecutive runs: not a trend with occasional steps, and the slope over the whole series, steps included, does not clear the threshold — look at the series, not a slope", len(starts), len(x)-1)
		return l, nil
	}
	t, ok := senTrend(x, y, seg)
	if !ok {
		l.Reason = "the steps leave no two consecutive runs at one level to fit a slope to — add runs"
		return l, nil
	}
	l.Slope, l.SlopeCI, l.Autocorrelation = t.Slope, t.CI, t.Autocorrelation
	l.Intercept = t.Levels[0]
	l.R2 = rSquared(x, y, seg, t)
	stepSum, up := 0.0, 0
	for k, i := range starts {
		// The shift beyond the slope, against the levels either side.
		shift := t.Levels[k+1] - t.Levels[k]
		l.Steps = append(l.Steps, result.LeakStep{Run: int(x[i]), Bytes: shift})
		stepSum += shift
		if shift > 0 {
			up++
		}
	}
	span := x[len(x)-1] - x[0]
	switch {
	case t.Autocorrelation >= wanderingAutocorrelation && !driftAgrees(x, y, seg, threshold, l.SlopeCI):
		l.Reason = fmt.Sprintf("the series is not stationary: its residuals wander (lag-1 autocorrelation %.2f ≥ %.1f) and the mean run-to-run change does not settle the threshold either — run longer", t.Autocorrelation, wanderingAutocorrelation)
	case halvesDisagree(x, y, seg, &l):
	case l.SlopeCI[0] > threshold:
		l.Verdict = Leak
	case up >= 2 && stepSum > 0 && span > 0 && stepSum/span > threshold:
		l.Reason = fmt.Sprintf("%d upward steps add %s over %.0f runs (%s/run, above the threshold): memory may grow in chunks — run longer to see whether the steps recur",
			up, stats.FormatBytes(stepSum), span, stats.FormatBytes(stepSum/span))
	case l.SlopeCI[1] < threshold:
		l.Verdict = NoLeak
	default:
		l.Reason = fmt.Sprintf("the slope's 95 %% interval [%s, %s]/run straddles the %s/run threshold — add runs to narrow it", stats.FormatBytes(l.SlopeCI[0]), stats.FormatBytes(l.SlopeCI[1]), stats.FormatBytes(threshold))
	}
	return l, nil
}

// driftAgrees reports whether a random walk's reading of the series gives
// the same verdict as the trend's interval ci: the mean change between
// consecutive runs of one segment (a random walk's drift), with its
// Student-t interval, lies on the same side of threshold. Residuals that
// wander are then no reason to doubt the verdict.
func driftAgrees(x, y []float64, seg []int, threshold float64, ci [2]float64) bool {
	var rates []float64
	for i := 1; i < len(x); i++ {
		if seg[i] == seg[i-1] {
			rates = append(rates, (y[i]-y[i-1])/max(x[i]-x[i-1], 1))
		}
	}
	if len(rates) < 2 {
		return false
	}
	d := stats.Summarize(rates).MeanCI
	return (d[0] > threshold && ci[0] > threshold) || (d[1] < threshold && ci[1] < threshold)
}

// halvesDisagree reports (and writes into l.Reason) whether the first and
// the second half of the series grow at rates whose intervals are
// disjoint and that fall on different sides of the threshold: the growth
// is changing (a warm-up that had not ended, or a leak that levels off), so
// one slope does not answer the question. Halves shorter than MinLeakRuns
// are not compared.
func halvesDisagree(x, y []float64, seg []int, l *result.Leak) bool {
	h := len(x) / 2
	if h < MinLeakRuns || len(x)-h < MinLeakRuns {
		return false
	}
	a, okA := senTrend(x[:h], y[:h], seg[:h])
	b, okB := senTrend(x[h:], y[h:], seg[h:])
	if !okA || !okB || (a.CI[0] <= b.CI[1] && b.CI[0] <= a.CI[1]) {
		return false
	}
	// Halves that both lie above (or both below) the threshold agree on
	// the verdict, however their rates differ.
	if th := l.Threshold; (a.CI[0] > th && b.CI[0] > th) || (a.CI[1] < th && b.CI[1] < th) {
		return false
	}
	l.Reason = fmt.Sprintf("the series is not stationary: RSS grows %s/run [%s, %s] over runs %.0f–%.0f but %s/run [%s, %s] over runs %.0f–%.0f (95 %% intervals disjoint) — skip more warm-up runs or run longer",
		stats.FormatBytes(a.Slope), stats.FormatBytes(a.CI[0]), stats.FormatBytes(a.CI[1]), x[0], x[h-1], stats.FormatBytes(b.Slope), stats.FormatBytes(b.CI[0]), stats.FormatBytes(b.CI[1]), x[h], x[len(x)-1])
	return true
}

// stepStarts returns the indices i at which a new level starts: the change
// y[i] − y[i−1] departs from the typical change (the median of the
// per-run changes) by more than StepZ robust standard deviations of the
// other changes, and by more than threshold. Binary segmentation on the
// first differences: a level step is one outlying difference, so the
// largest is taken, the scale re-estimated without it, and so on until
// none stands out.
func stepStarts(x, y []float64, threshold float64) []int {
	n := len(x)
	if n < 3 {
		return nil
	}
	rate := make([]float64, n-1) // change per run between consecutive points
	for i := 1; i < n; i++ {
		rate[i-1] = (y[i] - y[i-1]) / max(x[i]-x[i-1], 1)
	}
	flagged := make([]bool, n-1)
	for range int(maxStepShare*float64(n)) + 1 {
		var rest []float64
		for i, r := range rate {
			if !flagged[i] {
				rest = append(rest, r)
			}
		}
		if len(rest) < 3 {
			break
		}
		m := median(rest)
		best, bestDev := -1, 0.0
		for i, r := range rate {
			if !flagged[i] && math.Abs(r-m) > bestDev {
				best, bestDev = i, math.Abs(r-m)
			}
		}
		if best < 0 {
			break
		}
		// Robust scale of the other changes: the MAD, or the mean absolute
		// deviation where the MAD is 0 (page-sized changes in a mostly flat
		// series), each scaled to a normal's standard deviation.
		var dev []float64
		sum := 0.0
		for i, r := range rate {
			if !flagged[i] && i != best {
				dev = append(dev, math.Abs(r-m))
				sum += math.Abs(r - m)
			}
		}
		scale := max(1.4826*median(dev), 1.2533*sum/float64(len(dev)))
		if bestDev <= StepZ*scale || math.Abs(y[best+1]-y[best]) <= threshold {
			break
		}
		flagged[best] = true
	}
	var starts []int
	for i, f := range flagged {
		if f {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// rSquared is the share of y's variance the segmented trend explains;
// 0 for a flat series.
func rSquared(x, y []float64, seg []int, t trend) float64 {
	mean := 0.0
	for _, v := range y {
		mean += v / float64(len(y))
	}
	var sse, sst float64
	for i := range y {
		r := y[i] - (t.Levels[seg[i]] + t.Slope*x[i])
		sse += r * r
		sst += (y[i] - mean) * (y[i] - mean)
	}
	if sst == 0 {
		return 0
	}
	return max(1-sse/sst, 0)
}

// thin keeps n evenly spaced points of (x, y).
func thin(x, y []float64, n int) ([]float64, []float64) {
	tx, ty := make([]float64, n), make([]float64, n)
	for i := range n {
		j := i * (len(x) - 1) / (n - 1)
		tx[i], ty[i] = x[j], y[j]
	}
	return tx, ty
}
