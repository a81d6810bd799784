package stats

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
	// Outliers counts runs with a modified z-score (on the MAD) above 10.
	Outliers int `json:"outliers"`
}
