package stats_test

import (
	"fmt"

	"github.com/pipe-bench/pipe/host/internal/stats"
)

func ExampleSummarize() {
	ttft := []float64{61.8, 62.4, 60.9, 63.1, 62.0, 61.5, 64.2, 62.7, 240.3}
	s := stats.Summarize(ttft)
	fmt.Printf("n=%d mean=%.1f p50=%.1f [%.1f, %.1f] outliers=%d\n", s.N, s.Mean, s.P50, s.P50CI[0], s.P50CI[1], s.Outliers)
	// Output: n=9 mean=82.1 p50=62.4 [61.5, 64.2] outliers=1
}

func ExampleRegress() {
	// RSS after each run, MiB: growing by about 0.5 MiB per run.
	runs := []float64{0, 1, 2, 3, 4, 5, 6, 7}
	rss := []float64{700.1, 700.4, 701.1, 701.5, 702.1, 702.4, 703.0, 703.6}
	f := stats.Regress(runs, rss)
	fmt.Printf("slope %.2f MiB/run, 95 %% CI [%.2f, %.2f]\n", f.Slope, f.SlopeCI[0], f.SlopeCI[1])
	// Output: slope 0.50 MiB/run, 95 % CI [0.46, 0.54]
}
