package report

import (
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// The parts of Analysis that restate a result's figures for a reader —
// each case's headline estimates, the memory phase's verdicts, the
// throughput curve — are built here once; the run report, phase 5
// (host/internal/finalreport, which tags each with its phase's role) and
// the HTML report read them from Analysis instead of each picking them out
// of the result.

// Estimate is a mean with its 95 % Student-t interval over N runs.
type Estimate struct {
	Mean float64
	CI   [2]float64
	N    int
}

// Headline is one case's headline figures. Has* is false where the case
// did not measure the metric.
type Headline struct {
	Case                    string
	Prompt, NewTok          int
	Batch, Streams          int
	Runs                    int
	TTFT, Decode, E2E       Estimate
	E2Ep95                  float64
	PeakRSS                 float64 // the highest run's, MiB
	Valid                   bool
	OutlierRuns             int // the most outliers TTFT or E2E counts
	ForeignCPUCores         float64
	HasTTFT, HasDec, HasE2E bool
	HasPeakR                bool
}

// HeadlineOf is case c's headline figures.
func HeadlineOf(c *result.Case) Headline {
	h := Headline{Case: c.ID, Prompt: c.Params.PromptTokens, NewTok: c.Params.NewTokens,
		Batch: max(c.Params.Batch, 1), Streams: max(c.Params.Streams, 1), Runs: len(c.Runs), Valid: c.Valid,
		ForeignCPUCores: c.ForeignCPU}
	estimate := func(id string) (Estimate, stats.Summary, bool) {
		s, ok := c.Stats[id]
		if !ok || s.N == 0 {
			return Estimate{}, s, false
		}
		return Estimate{s.Mean, s.MeanCI, s.N}, s, true
	}
	var s stats.Summary
	if h.TTFT, s, h.HasTTFT = estimate(metric.TTFT); h.HasTTFT {
		h.OutlierRuns = max(h.OutlierRuns, s.Outliers)
	}
	h.Decode, _, h.HasDec = estimate(metric.DecodeTPS)
	if h.E2E, s, h.HasE2E = estimate(metric.E2E); h.HasE2E {
		h.E2Ep95 = s.P95
		h.OutlierRuns = max(h.OutlierRuns, s.Outliers)
	}
	if _, s, h.HasPeakR = estimate(metric.PeakRSS); h.HasPeakR {
		h.PeakRSS = s.Max
	}
	return h
}

// Memory is a memory phase's load cost and leak verdicts
// (host/internal/analysis's, as stored in the result).
type Memory struct {
	LoadRSSDelta int64
	LoadPeakRSS  int64
	PeakRSSMiB   float64 // the highest peak RSS of any run of any case
	GPUPeakBytes int64
	Leaks        []result.Leak
}

func memoryOf(r *result.Result) *Memory {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	m := &Memory{LoadRSSDelta: mem.LoadRSSDelta, LoadPeakRSS: mem.LoadPeakRSS, GPUPeakBytes: mem.GPUPeakBytes, Leaks: mem.Leak}
	for _, c := range r.Cases {
		if s, ok := c.Stats[metric.PeakRSS]; ok && s.Max > m.PeakRSSMiB {
			m.PeakRSSMiB = s.Max
		}
	}
	return m
}

// Throughput is a throughput phase's curve and its saturation verdict
// (host/internal/analysis's, as stored in the result), with the best point.
type Throughput struct {
	Points     []result.ThroughputPoint
	Best       result.ThroughputPoint // the highest output rate; zero without points
	Saturation string
	Gain       float64 // the gain below which a step saturates
	// BeyondGain and its interval are what the step past Saturation gains;
	// Undecided says why no saturation was called where the point
	// estimates alone would have.
	BeyondGain   float64
	BeyondGainCI [2]float64
	Undecided    string
	Warnings     []string
}

func throughputOf(r *result.Result) *Throughput {
	t := r.Throughput
	if t == nil {
		return nil
	}
	c := &Throughput{Points: t.Points, Saturation: t.Saturation, Gain: t.SaturationGain,
		BeyondGain: t.BeyondGain, BeyondGainCI: t.BeyondGainCI, Undecided: t.Undecided, Warnings: t.Warnings}
	for i, p := range t.Points {
		if i == 0 || p.OutputTPS > c.Best.OutputTPS {
			c.Best = p
		}
	}
	return c
}
