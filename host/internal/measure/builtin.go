package measure

import (
	"context"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// RunObservation is what the engine saw of one finished run: its trace,
// what the request asked for, and the memory samples taken around it.
type RunObservation struct {
	Trace  *gen.Trace
	Expect Expect
	// PeakRSS is the RSS sampled over the run, bytes; 0 when the run was
	// not sampled alone (concurrent streams).
	PeakRSS int64
	// RSSAfter is the RSS right after the run, bytes.
	RSSAfter int64
	// Case, Index, Stream and Warmup say which run it was; Prompts are the
	// request's prompt rows (ids), for a module that re-scores the run
	// after the case (host/internal/fidelity).
	Case          string
	Index, Stream int
	Warmup        bool
	Prompts       [][]int64
}

// StreamsObservation is what the engine saw of a case's concurrent
// streams as a whole.
type StreamsObservation struct {
	// PeakRSS is the RSS sampled over every stream's runs, bytes.
	PeakRSS int64
}

// Builtin is the built-in metrics as a metric module (registry.Measurer):
// the definitions printed in every report (metric.Builtin and
// metric.CaseLevel), the per-run values computed from each run's
// observation as the run finishes (FromTrace, then the memory samples),
// and the case-level peak RSS of concurrent streams. It registers like a
// plugin's metric module does.
type Builtin struct{}

// BuiltinName is the built-in module's name, and its definitions' Source.
const BuiltinName = "builtin"

// Name implements the module's name.
func (Builtin) Name() string { return BuiltinName }

// Metrics lists the built-in per-run and case-level definitions.
func (Builtin) Metrics() []metric.Def {
	return append(append([]metric.Def{}, metric.Builtin...), metric.CaseLevel...)
}

// MeasureRun computes one run's built-in metrics and checks its
// invariants.
func (Builtin) MeasureRun(o RunObservation) Run {
	r := FromTrace(o.Trace, o.Expect)
	if o.PeakRSS > 0 {
		r.Values[metric.PeakRSS] = mib(o.PeakRSS)
	}
	r.Values[metric.RSSAfterRun] = mib(o.RSSAfter)
	return r
}

// MeasureStreams sets the case-level peak RSS of concurrent streams.
func (Builtin) MeasureStreams(c *result.Case, o StreamsObservation) {
	if c.Values == nil {
		c.Values = map[string]float64{}
	}
	c.Values[metric.ThroughputPeakRSS] = mib(o.PeakRSS)
}

// Measure has nothing to add once a case has finished: every built-in
// value was set as the runs were observed. (The case-level throughput
// figures are the throughput curve's, analysis.CaseThroughput.)
func (Builtin) Measure(context.Context, *result.Case) error { return nil }

// mib converts bytes to the MiB every memory metric is in.
func mib(b int64) float64 { return float64(b) / (1 << 20) }
