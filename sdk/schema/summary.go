package schema

// Summary describes one metric's distribution over the runs of one case,
// as the host computed it (host/internal/stats names the methods: percentiles are
// Hyndman–Fan type 7, CIs are 95 %).
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
	// Outliers counts the runs flagged as outliers (for a metric with many
	// values per run, the runs whose mean is flagged).
	Outliers int `json:"outliers"`
	// Dropped counts NaN and ±Inf values left out of every statistic.
	Dropped int `json:"dropped,omitempty"`
	// Runs is the number of runs the N values came from, when a run gives
	// many (the inter-token gaps); 0 means one value per run (N runs).
	Runs int `json:"runs,omitempty"`
	// Percentiles holds any further percentiles asked for, keyed like
	// "p75" or "p99.9".
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

// Statistics lists the fixed statistic names a Summary answers to, in
// report order. Percentiles "pNN" beyond these are answered when present.
var Statistics = []string{"mean", "std", "cv", "min", "max", "p50", "p90", "p95", "p99"}

// Get returns the statistic named stat ("n", "mean", "p95", "cv", or any
// "pNN" present in Percentiles).
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
