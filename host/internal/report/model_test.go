package report

import (
	"testing"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// The headline of a case is its means with their intervals; a metric the
// case did not measure is absent, not zero; peak RSS is the highest run's;
// the outlier count is the larger of TTFT's and E2E's.
func TestHeadlineOf(t *testing.T) {
	c := findingsCase("p128-n64", 128, 64, 10, noisy(60, 0.01, 1), noisy(30, 0.01, 2))
	c.Params.Batch = 0 // an unset batch reads as 1
	ttft := c.Stats[metric.TTFT]
	ttft.Outliers = 2
	c.Stats[metric.TTFT] = ttft
	e2e := c.Stats[metric.E2E]
	e2e.Outliers = 3
	c.Stats[metric.E2E] = e2e
	h := HeadlineOf(&c)
	if h.TTFT != (Estimate{ttft.Mean, ttft.MeanCI, 10}) || !h.HasTTFT || !h.HasDec || !h.HasE2E || h.E2Ep95 != e2e.P95 {
		t.Errorf("headline %+v: want TTFT, decode and E2E from the case's summaries", h)
	}
	if h.HasPeakR || h.PeakRSS != 0 || h.OutlierRuns != 3 || h.Batch != 1 || h.Runs != 10 {
		t.Errorf("headline %+v: want no peak RSS, 3 outlier runs, batch 1, 10 runs", h)
	}
	c.Stats[metric.PeakRSS] = stats.Summarize([]float64{700, 720, 710})
	if h := HeadlineOf(&c); !h.HasPeakR || h.PeakRSS != 720 {
		t.Errorf("peak RSS %v (has %v), want the highest run's 720", h.PeakRSS, h.HasPeakR)
	}
}

// Analyze builds the memory and throughput parts from the result once, for
// the run report and phase 5 alike.
func TestAnalyzeMemoryAndThroughput(t *testing.T) {
	r := findingsResult(findingsCase("a", 128, 64, 3, noisy(60, 0.01, 1), noisy(30, 0.01, 2)),
		findingsCase("b", 128, 64, 3, noisy(60, 0.01, 3), noisy(30, 0.01, 4)))
	if a := Analyze(r, Options{}); a.Memory != nil || a.Throughput != nil || len(a.Headline) != 2 {
		t.Fatalf("no memory or throughput phase: memory %v, throughput %v, %d headlines", a.Memory, a.Throughput, len(a.Headline))
	}
	r.Cases[0].Stats[metric.PeakRSS] = stats.Summarize([]float64{700, 740})
	r.Cases[1].Stats[metric.PeakRSS] = stats.Summarize([]float64{730})
	r.Memory = &result.Memory{LoadRSSDelta: 5 << 20, Leak: []result.Leak{{Case: "a", Verdict: "no leak"}}}
	r.Throughput = &result.Throughput{Points: []result.ThroughputPoint{{Case: "a", OutputTPS: 30}, {Case: "b", OutputTPS: 55}, {Case: "c", OutputTPS: 50}}, Saturation: "b", SaturationGain: 0.05}
	a := Analyze(r, Options{})
	if m := a.Memory; m == nil || m.PeakRSSMiB != 740 || m.LoadRSSDelta != 5<<20 || len(m.Leaks) != 1 {
		t.Errorf("memory %+v: want peak 740 MiB over both cases, the load delta and one leak verdict", m)
	}
	if tp := a.Throughput; tp == nil || tp.Best.Case != "b" || tp.Gain != 0.05 || tp.Saturation != "b" {
		t.Errorf("throughput %+v: want best point b, gain 0.05, saturation after b", tp)
	}
}
