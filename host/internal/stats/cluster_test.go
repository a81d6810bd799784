package stats

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// itlRuns are the inter-token gaps (ms) of five runs: run 0 has one 45 ms
// stall, run 2 is slower throughout and ends in a 60 ms stall.
var itlRuns = [][]float64{
	{31.2, 30.8, 31.5, 30.9, 31.1, 45.0, 31.0},
	{30.5, 30.7, 30.6, 30.9, 30.4, 30.8, 30.6},
	{33.9, 34.2, 33.8, 34.5, 34.0, 34.1, 60.2},
	{31.0, 31.3, 30.9, 31.2, 31.1, 31.4, 31.0},
	{30.9, 31.0, 30.8, 31.1, 30.7, 31.2, 30.9},
}

// TestSummarizeClusteredMatchesNumpy: every statistic is of all 35 gaps.
// Reference: g = np.concatenate(runs); g.mean(), g.std(ddof=1),
// np.percentile(g, p) (numpy 1.24, Debian python3-numpy). The p99 of the
// per-run means, which the engine reported before issue 9, is 37.62.
func TestSummarizeClusteredMatchesNumpy(t *testing.T) {
	s := SummarizeClustered(itlRuns, Options{Percentiles: []float64{75}})
	want := map[string]float64{"n": 35, "mean": 32.720000000000006, "std": 5.43511458832611, "cv": 0.16610985905642142,
		"min": 30.4, "max": 60.2, "p50": 31.0, "p90": 34.160000000000004, "p95": 37.64999999999997, "p99": 55.031999999999954, "p75": 31.45}
	for name, w := range want {
		if g, ok := s.Get(name); !ok || !near(g, w, 1e-9) {
			t.Errorf("%s = %.12g, want %.12g", name, g, w)
		}
	}
	if s.Runs != 5 || s.RunCount() != 5 {
		t.Errorf("runs = %d (RunCount %d), want 5", s.Runs, s.RunCount())
	}
	for name, ci := range map[string][2]float64{"mean": s.MeanCI, "p50": s.P50CI, "p95": s.P95CI} {
		v, _ := s.Get(name)
		if !(ci[0] <= v && v <= ci[1]) || ci[0] >= ci[1] {
			t.Errorf("%s CI %v does not bracket %v", name, ci, v)
		}
	}
	// Seeded: the same runs give the same intervals.
	if again := SummarizeClustered(itlRuns, Options{Percentiles: []float64{75}}); !reflect.DeepEqual(s, again) {
		t.Errorf("two summaries of the same runs differ:\n%+v\n%+v", s, again)
	}
}

// TestClusteredBootstrapResamplesRuns: when runs differ in level, the
// gaps of one run are not independent, and only resampling whole runs
// covers the mean. 20 runs whose level varies (σ 3 ms) with 50 gaps each
// (σ 1 ms): the mean's standard error is √(9/20 + 1/1000) = 0.67 ms, while
// treating the 1,000 gaps as independent gives ±0.2 ms (coverage ≈ 23 %).
func TestClusteredBootstrapResamplesRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const trials = 200
	covered := 0
	for range trials {
		runs := make([][]float64, 20)
		for i := range runs {
			level := 30 + 3*r.NormFloat64()
			for range 50 {
				runs[i] = append(runs[i], level+r.NormFloat64())
			}
		}
		s := SummarizeClustered(runs, Options{})
		if s.MeanCI[0] <= 30 && 30 <= s.MeanCI[1] {
			covered++
		}
	}
	c := float64(covered) / trials
	t.Logf("clustered mean interval coverage %.3f over %d seeded trials", c, trials)
	if c < 0.88 {
		t.Errorf("the clustered mean interval covers %.2f of %d trials, want ≈ 0.95 (≥ 0.88)", c, trials)
	}
}

func TestSummarizeClusteredEdges(t *testing.T) {
	one := SummarizeClustered([][]float64{{2, 3, 4}}, Options{})
	if one.N != 3 || one.Runs != 1 || one.MeanCI != [2]float64{3, 3} || one.P50CI != [2]float64{} {
		t.Errorf("one run: %+v", one)
	}
	bad := SummarizeClustered([][]float64{{1, math.NaN()}, {math.Inf(1)}, {3, 1e308}}, Options{})
	if bad.N != 3 || bad.Runs != 2 || bad.Dropped != 2 {
		t.Errorf("non-finite gaps: n %d runs %d dropped %d, want 3 2 2", bad.N, bad.Runs, bad.Dropped)
	}
	huge := SummarizeClustered([][]float64{{1e308, 1e308}, {1e308, 1e308}}, Options{})
	if p := allFinite(reflect.ValueOf(huge), "Summary"); p != "" || huge.Mean != 1e308 || huge.MeanCI != [2]float64{1e308, 1e308} {
		t.Errorf("1e308 gaps: %s not finite or wrong: %+v", p, huge)
	}
	if empty := SummarizeClustered(nil, Options{}); empty.N != 0 {
		t.Errorf("no runs: %+v", empty)
	}
	// The outlier count is of runs: run 2's mean is far from the others'.
	runs := [][]float64{{10, 10.1}, {10.2, 10}, {10.1, 10.1}, {10, 10.2}, {30, 31}}
	if s := SummarizeClustered(runs, Options{}); s.Outliers != 1 {
		t.Errorf("outliers = %d, want 1 (the slow run)", s.Outliers)
	}
}
