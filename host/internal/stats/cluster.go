package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// The cluster bootstrap behind SummarizeClustered's intervals: a fixed
// number of resamples from a fixed seed, so the same runs always give the
// same intervals.
const (
	BootstrapResamples = 2000
	BootstrapSeed      = 0x9e3779b97f4a7c15
)

// SummarizeClustered describes a metric with many values per run (the
// inter-token gaps): every statistic is of all the values of all runs
// pooled (p99 is the p99 of every gap, not of per-run means), and N counts
// the values, Runs the runs. The values of one run are not independent (a
// slow run has slow gaps), so the intervals come from a bootstrap clustered
// by run: each of BootstrapResamples resamples draws len(runs) runs with
// replacement (seeded by BootstrapSeed) and takes all their values; MeanCI,
// P50CI and P95CI are the 2.5th and 97.5th percentiles of the resampled
// statistic. With one run nothing is resampled: MeanCI is [mean, mean] and
// the percentile intervals are zero. Outliers counts the runs whose mean is
// an outlier among the runs' means. Non-finite values are dropped and
// counted; runs left empty do not count. o.MeanLevel is ignored: the
// bootstrap interval is always at Confidence.
func SummarizeClustered(runs [][]float64, o Options) Summary {
	var (
		kept    [][]float64
		dropped int
	)
	for _, r := range runs {
		k, d := Finite(r)
		dropped += d
		if len(k) > 0 {
			kept = append(kept, k)
		}
	}
	if len(kept) == 0 {
		return Summary{Dropped: dropped}
	}
	var pooled []float64
	for _, r := range kept {
		pooled = append(pooled, r...)
	}
	sorted := slices.Clone(pooled)
	slices.Sort(sorted)
	s := describeSorted(sorted, o)
	s.Dropped, s.Runs = dropped, len(kept)
	s.Mean, s.Std = meanStd(pooled)
	s.CV = cv(s.Mean, s.Std)
	s.MeanCI = [2]float64{s.Mean, s.Mean}
	means := make([]float64, len(kept))
	for i, r := range kept {
		means[i], _ = meanStd(r)
	}
	s.Outliers = len(OutlierIndices(means, o.OutlierZ))
	if len(kept) >= 2 {
		s.MeanCI, s.P50CI, s.P95CI = clusterBootstrap(kept)
	}
	return s
}

// clusterBootstrap returns percentile-bootstrap intervals for the pooled
// mean, median and p95 of runs, resampling whole runs.
func clusterBootstrap(runs [][]float64) (meanCI, p50CI, p95CI [2]float64) {
	// All values, sorted, with the run each came from: a resample is a
	// multiplicity per run, and its order statistics are found by one scan
	// of this array, counting each value as often as its run was drawn.
	var all []runValue
	for r, xs := range runs {
		for _, x := range xs {
			all = append(all, runValue{x, r})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	// Run sums on power-of-two-scaled values, so the resampled means cannot
	// overflow.
	var flat []float64
	for _, xs := range runs {
		flat = append(flat, xs...)
	}
	e := scaleExp(flat)
	sums := make([]float64, len(runs))
	for r, xs := range runs {
		for _, x := range scaled(xs, e) {
			sums[r] += x
		}
	}
	rng := rand.New(rand.NewPCG(BootstrapSeed, 0))
	weight := make([]int, len(runs))
	var means, p50s, p95s []float64
	for range BootstrapResamples {
		clear(weight)
		for range runs {
			weight[rng.IntN(len(runs))]++
		}
		var total int
		var sum float64
		for r, w := range weight {
			total += w * len(runs[r])
			sum += float64(w) * sums[r]
		}
		means = append(means, math.Ldexp(sum/float64(total), e))
		lo50, t50 := type7Position(total, 50)
		lo95, t95 := type7Position(total, 95)
		got := weightedOrderStats(all, weight, []int{lo50, lo50 + 1, lo95, lo95 + 1})
		p50s = append(p50s, interpolate(got[0], got[1], t50))
		p95s = append(p95s, interpolate(got[2], got[3], t95))
	}
	ci := func(reps []float64) [2]float64 {
		lo, hi := (1-Confidence)/2*100, (1+Confidence)/2*100
		return [2]float64{saturate(Percentile(reps, lo)), saturate(Percentile(reps, hi))}
	}
	return ci(means), ci(p50s), ci(p95s)
}

// runValue is one value and the run it came from.
type runValue struct {
	v   float64
	run int
}

// weightedOrderStats returns the order statistics at 0-based positions pos
// of the multiset in which each value of sorted appears weight[its run]
// times; a position past the end gives the maximum.
func weightedOrderStats(sorted []runValue, weight []int, pos []int) []float64 {
	order := make([]int, len(pos))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return pos[order[a]] < pos[order[b]] })
	got := make([]float64, len(pos))
	k, seen := 0, 0
	for _, a := range sorted {
		seen += weight[a.run]
		for k < len(order) && pos[order[k]] < seen {
			got[order[k]] = a.v
			k++
		}
		if k == len(order) {
			return got
		}
	}
	for ; k < len(order); k++ {
		got[order[k]] = sorted[len(sorted)-1].v
	}
	return got
}
