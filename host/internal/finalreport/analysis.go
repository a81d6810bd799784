package finalreport

import (
	"fmt"
	"math"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// Analysis is what the final report says about a merged result. Markdown
// and HTML render the same Analysis, so both say the same thing. It is
// built from the run report's model, not a second one: each input's
// analysis is report.Analyze's (PerInput: scaling, variance, findings),
// the leak and throughput verdicts are host/internal/analysis's as stored
// in the inputs, and the one comparison it draws is compare's
// (Comparison.Test), as the run report's baseline section is.
type Analysis struct {
	Title    string
	Inputs   []InputStatus
	Headline []Headline
	// Comparison is phase 1 against the first case of phase 2, when both
	// are present.
	Comparison *Comparison
	Scaling    *Scaling
	Variance   []VarianceRow
	Memory     *MemoryVerdict
	Throughput *ThroughputCurve
	// Targets holds every verdict: each input's own, then phase 5's.
	Targets []TargetRow
	// Findings and Recommendations are sentences computed from the data.
	Findings        []string
	Recommendations []string
	// PerInput is host/internal/report's analysis of each present input, by role.
	PerInput map[string]*report.Analysis
}

// InputStatus is one input of the merged result.
type InputStatus struct {
	Role, Ref, Path, Pipeline, StartedAt string
	Present, Valid                       bool
	// Missing says why an absent input could not be read.
	Missing       string
	Cases, Runs   int
	TargetsPassed int
	TargetsTotal  int
}

// Headline is one case's headline figures, in one phase.
type Headline struct {
	Role, Case       string
	Prompt, NewTok   int
	Batch, Streams   int
	Runs             int
	TTFT, Decode     Estimate
	E2E              Estimate
	E2Ep95, PeakRSS  float64
	Valid            bool
	OutlierRuns      int
	ForeignCPUCores  float64
	HasTTFT, HasDec  bool
	HasE2E, HasPeakR bool
}

// Estimate is a mean with its 95 % interval.
type Estimate struct {
	Mean float64
	CI   [2]float64
	N    int
}

func estimateOf(s stats.Summary) Estimate { return Estimate{s.Mean, s.MeanCI, s.N} }

// Comparison is phase 1 (quick) against the latency phase's shortest case.
type Comparison struct {
	A, B Headline
	// Test compares A's runs (old) with B's (new) of TTFT, the decode rate
	// and E2E as pipe compare and the run report's baseline section do
	// (compare.CompareCases: medians, Mann–Whitney U, Holm over the three):
	// a difference is called significant there and only there.
	Test *compare.Report
	// Varied names every case parameter that differs between A and B.
	Varied []string
}

// ComparedMetrics are the metrics phase 5 compares between phase 1 and 2.
var ComparedMetrics = []string{metric.TTFT, metric.DecodeTPS, metric.E2E}

// Scaling is how the latency phase's figures grow with prompt length, as
// host/internal/report analyses one result (medians against the first case).
type Scaling struct {
	Role string
	Rows []report.ScalingRow
}

// VarianceRow is the spread of one case of one phase, as host/internal/report
// analyses it, with the phase's role.
type VarianceRow struct {
	Role string
	report.VarianceRow
	Runs int
}

// MemoryVerdict is the memory phase's load cost and leak verdicts.
type MemoryVerdict struct {
	Role         string
	LoadRSSDelta int64
	LoadPeakRSS  int64
	PeakRSSMiB   float64 // the highest case p99... max of peak RSS over runs
	GPUPeakBytes int64
	Leaks        []result.Leak
}

// ThroughputCurve is the throughput phase's curve.
type ThroughputCurve struct {
	Role       string
	Points     []result.ThroughputPoint
	Best       result.ThroughputPoint
	Saturation string
	Gain       float64
	// BeyondGain and its interval are what the step past Saturation gains;
	// Undecided says why no saturation was called where the point
	// estimates alone would have (host/internal/analysis).
	BeyondGain   float64
	BeyondGainCI [2]float64
	Undecided    string
	Warnings     []string
}

// TargetRow is one verdict with the phase that judged it.
type TargetRow struct {
	Role string // "" for phase 5's own targets
	result.Verdict
}

// Well-known roles; a role named otherwise is recognised by its content.
const (
	RoleQuick      = "quick"
	RoleLatency    = "latency"
	RoleMemory     = "memory"
	RoleThroughput = "throughput"
)

// Analyze computes the final report's analysis from a merged result.
func Analyze(m *result.Result) Analysis {
	a := Analysis{Title: m.Pipeline.Name, PerInput: map[string]*report.Analysis{}}
	for _, in := range m.Inputs {
		a.Inputs = append(a.Inputs, statusOf(m, in))
		if in.Result == nil {
			continue
		}
		ra := report.Analyze(in.Result, report.Options{})
		a.PerInput[in.Role] = ra
		for _, c := range in.Result.Cases {
			a.Headline = append(a.Headline, headlineOf(in.Role, c))
		}
		for _, v := range ra.Variance {
			runs := 0
			if c, ok := in.Result.Case(v.Case); ok {
				runs = len(c.Runs)
			}
			a.Variance = append(a.Variance, VarianceRow{Role: in.Role, VarianceRow: v, Runs: runs})
		}
		for _, v := range in.Result.Targets {
			a.Targets = append(a.Targets, TargetRow{Role: in.Role, Verdict: v})
		}
	}
	for _, v := range m.Targets {
		a.Targets = append(a.Targets, TargetRow{Verdict: v})
	}
	a.Comparison = compareQuickLatency(m)
	a.Scaling = scalingOf(m, a.PerInput)
	a.Memory = memoryOf(m)
	a.Throughput = throughputOf(m)
	a.Findings, a.Recommendations = findings(m, &a)
	return a
}

func statusOf(m *result.Result, in result.Input) InputStatus {
	s := InputStatus{Role: in.Role, Ref: in.Ref, Path: in.Path, Present: in.Result != nil}
	if in.Result == nil {
		prefix := MissingPrefix(in.Role)
		for _, w := range m.Warnings {
			if strings.HasPrefix(w, prefix) {
				s.Missing = strings.TrimPrefix(w, prefix)
			}
		}
		return s
	}
	r := in.Result
	s.Pipeline, s.StartedAt, s.Valid, s.Cases = r.Pipeline.Name, r.StartedAt, r.Valid, len(r.Cases)
	for _, c := range r.Cases {
		s.Runs += len(c.Runs)
	}
	s.TargetsTotal = len(r.Targets)
	for _, v := range r.Targets {
		if v.Pass {
			s.TargetsPassed++
		}
	}
	return s
}

func headlineOf(role string, c result.Case) Headline {
	h := Headline{Role: role, Case: c.ID, Prompt: c.Params.PromptTokens, NewTok: c.Params.NewTokens,
		Batch: max(c.Params.Batch, 1), Streams: max(c.Params.Streams, 1), Runs: len(c.Runs), Valid: c.Valid,
		ForeignCPUCores: c.ForeignCPU}
	if s, ok := c.Stats[metric.TTFT]; ok && s.N > 0 {
		h.TTFT, h.HasTTFT = estimateOf(s), true
		h.OutlierRuns = max(h.OutlierRuns, s.Outliers)
	}
	if s, ok := c.Stats[metric.DecodeTPS]; ok && s.N > 0 {
		h.Decode, h.HasDec = estimateOf(s), true
	}
	if s, ok := c.Stats[metric.E2E]; ok && s.N > 0 {
		h.E2E, h.E2Ep95, h.HasE2E = estimateOf(s), s.P95, true
		h.OutlierRuns = max(h.OutlierRuns, s.Outliers)
	}
	if s, ok := c.Stats[metric.PeakRSS]; ok && s.N > 0 {
		h.PeakRSS, h.HasPeakR = s.Max, true
	}
	return h
}

// input returns the input playing role: by name, else by what it holds.
func input(m *result.Result, role string) *result.Input {
	for i := range m.Inputs {
		if m.Inputs[i].Role == role && m.Inputs[i].Result != nil {
			return &m.Inputs[i]
		}
	}
	for i := range m.Inputs {
		in := &m.Inputs[i]
		if in.Result == nil || isWellKnown(in.Role) {
			continue
		}
		switch role {
		case RoleMemory:
			if in.Result.Memory != nil {
				return in
			}
		case RoleThroughput:
			if in.Result.Throughput != nil {
				return in
			}
		}
	}
	return nil
}

func isWellKnown(role string) bool {
	switch role {
	case RoleQuick, RoleLatency, RoleMemory, RoleThroughput:
		return true
	}
	return false
}

// shortestPrompt returns the case with the fewest prompt tokens (batch 1,
// one stream preferred).
func shortestPrompt(r *result.Result) *result.Case {
	var best *result.Case
	for i := range r.Cases {
		c := &r.Cases[i]
		if best == nil || c.Params.PromptTokens < best.Params.PromptTokens {
			best = c
		}
	}
	return best
}

func compareQuickLatency(m *result.Result) *Comparison {
	q, l := input(m, RoleQuick), input(m, RoleLatency)
	if q == nil || l == nil {
		return nil
	}
	ca, cb := shortestPrompt(q.Result), shortestPrompt(l.Result)
	if ca == nil || cb == nil {
		return nil
	}
	test := compare.CompareCases(q.Result, ca, l.Result, cb, compare.Options{Metrics: ComparedMetrics})
	if len(test.Rows) == 0 {
		return nil
	}
	return &Comparison{A: headlineOf(q.Role, *ca), B: headlineOf(l.Role, *cb), Test: test, Varied: report.VariedAxes(ca, cb)}
}

func scalingOf(m *result.Result, per map[string]*report.Analysis) *Scaling {
	l := input(m, RoleLatency)
	if l == nil || per[l.Role] == nil || len(per[l.Role].Scaling) < 2 {
		return nil
	}
	return &Scaling{Role: l.Role, Rows: per[l.Role].Scaling}
}

func memoryOf(m *result.Result) *MemoryVerdict {
	in := input(m, RoleMemory)
	if in == nil || in.Result.Memory == nil {
		return nil
	}
	mem := in.Result.Memory
	v := &MemoryVerdict{Role: in.Role, LoadRSSDelta: mem.LoadRSSDelta, LoadPeakRSS: mem.LoadPeakRSS,
		GPUPeakBytes: mem.GPUPeakBytes, Leaks: mem.Leak}
	for _, c := range in.Result.Cases {
		if s, ok := c.Stats[metric.PeakRSS]; ok && s.Max > v.PeakRSSMiB {
			v.PeakRSSMiB = s.Max
		}
	}
	return v
}

func throughputOf(m *result.Result) *ThroughputCurve {
	in := input(m, RoleThroughput)
	if in == nil || in.Result.Throughput == nil || len(in.Result.Throughput.Points) == 0 {
		return nil
	}
	t := in.Result.Throughput
	c := &ThroughputCurve{Role: in.Role, Points: t.Points, Saturation: t.Saturation, Gain: t.SaturationGain,
		BeyondGain: t.BeyondGain, BeyondGainCI: t.BeyondGainCI, Undecided: t.Undecided, Warnings: t.Warnings}
	c.Best = t.Points[0]
	for _, p := range t.Points {
		if p.OutputTPS > c.Best.OutputTPS {
			c.Best = p
		}
	}
	return c
}

func safeRatio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}


// Num formats a measured value as every pipe report does (stats.Format),
// with a dash for a value that does not exist.
func Num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return stats.Format(v)
}

// Ratio formats a factor: 4.27 → "×4.27".
func Ratio(f float64) string {
	if !isFinite(f) {
		return "–"
	}
	return fmt.Sprintf("×%.2f", f)
}

// Pct formats a fraction as a signed percentage: 0.372 → "+37.2 %".
func Pct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.1f %%", 100*f)
}

