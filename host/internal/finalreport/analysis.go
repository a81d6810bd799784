package finalreport

import (
	"fmt"
	"math"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// Analysis is what the final report says about a merged result. Markdown
// and HTML render the same Analysis, so both say the same thing. It is
// the run report's model, not a second one: each input's analysis is
// report.Analyze's (PerInput), and every row below is one of its rows
// tagged with the input's role — Headline, Scaling, Variance, Memory and
// Throughput have no figures of their own — and the one comparison it
// draws is compare's (Comparison.Test), as the run report's baseline
// section and decode finding are.
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

// Headline is one case's headline figures (report.Headline), in one phase.
type Headline struct {
	Role string
	report.Headline
}

// Comparison is phase 1 (quick) against the latency phase's shortest case.
type Comparison struct {
	A, B Headline
	// Test compares A's runs (old) with B's (new) of the key metrics
	// (report.KeyMetrics: TTFT, the decode rate, E2E) as pipe compare and
	// the run report's baseline section and decode finding do
	// (compare.CompareCases: medians, Mann–Whitney U, Holm over the
	// three): a difference is called significant there and only there.
	Test *compare.Report
	// Varied names every case parameter that differs between A and B.
	Varied []string
}

// Scaling is how the latency phase's figures grow with prompt length, as
// host/internal/report analyses one result (medians against the first case).
type Scaling struct {
	Role string
	Rows []report.ScalingRow
}

// VarianceRow is the spread of one case (report.VarianceRow), in one phase.
type VarianceRow struct {
	Role string
	report.VarianceRow
}

// MemoryVerdict is the memory phase's load cost and leak verdicts
// (report.Memory).
type MemoryVerdict struct {
	Role string
	report.Memory
}

// ThroughputCurve is the throughput phase's curve (report.Throughput),
// with at least one point.
type ThroughputCurve struct {
	Role string
	report.Throughput
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
		for _, h := range ra.Headline {
			a.Headline = append(a.Headline, Headline{Role: in.Role, Headline: h})
		}
		for _, v := range ra.Variance {
			a.Variance = append(a.Variance, VarianceRow{Role: in.Role, VarianceRow: v})
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
	a.Memory = memoryOf(m, a.PerInput)
	a.Throughput = throughputOf(m, a.PerInput)
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
	test := compare.CompareCases(q.Result, ca, l.Result, cb, compare.Options{Metrics: report.KeyMetrics})
	if len(test.Rows) == 0 {
		return nil
	}
	a, b := Headline{q.Role, report.HeadlineOf(ca)}, Headline{l.Role, report.HeadlineOf(cb)}
	return &Comparison{A: a, B: b, Test: test, Varied: report.VariedAxes(ca, cb)}
}

func scalingOf(m *result.Result, per map[string]*report.Analysis) *Scaling {
	l := input(m, RoleLatency)
	if l == nil || per[l.Role] == nil || len(per[l.Role].Scaling) < 2 {
		return nil
	}
	return &Scaling{Role: l.Role, Rows: per[l.Role].Scaling}
}

func memoryOf(m *result.Result, per map[string]*report.Analysis) *MemoryVerdict {
	in := input(m, RoleMemory)
	if in == nil || per[in.Role] == nil || per[in.Role].Memory == nil {
		return nil
	}
	return &MemoryVerdict{Role: in.Role, Memory: *per[in.Role].Memory}
}

func throughputOf(m *result.Result, per map[string]*report.Analysis) *ThroughputCurve {
	in := input(m, RoleThroughput)
	if in == nil || per[in.Role] == nil || per[in.Role].Throughput == nil || len(per[in.Role].Throughput.Points) == 0 {
		return nil
	}
	return &ThroughputCurve{Role: in.Role, Throughput: *per[in.Role].Throughput}
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
