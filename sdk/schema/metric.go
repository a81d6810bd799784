package schema

import (
	"fmt"
	"strings"
)

// Better says which direction of change is an improvement.
type Better string

const (
	Higher Better = "higher"
	Lower  Better = "lower"
)

// MetricDef defines one metric: a lowercase, namespaced ID, a unit and a
// direction (after golang.org/x/perf/benchfmt: a number without a unit and
// a direction cannot be compared).
type MetricDef struct {
	ID          string `json:"id"`          // e.g. "ttft_ms", "jitter.itl_cv"
	Unit        string `json:"unit"`        // "ms", "tok/s", "bytes", "%", "1"
	Better      Better `json:"better"`      // higher or lower
	Description string `json:"description"` // one line, printed in reports
	Source      string `json:"source"`      // "builtin" or the plugin's name
}

// ValidName reports whether s is a lowercase name — a letter, then
// letters, digits and '_' — which a plugin's name and each dot-separated
// segment of a metric ID must be. It is written out rather than a regexp:
// package regexp would add half a megabyte to every plugin's .wasm.
func ValidName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ValidateMetricID reports what is wrong with a metric ID, if anything: it
// must be one or more ValidName segments joined by '.'.
func ValidateMetricID(id string) error {
	valid := true
	for seg := range strings.SplitSeq(id, ".") {
		valid = valid && ValidName(seg)
	}
	if !valid {
		return fmt.Errorf("metric id %q: want lowercase letters, digits, '_' and '.' (e.g. jitter.itl_cv)", id)
	}
	return nil
}

// Validate reports what is wrong with d, if anything.
func (d MetricDef) Validate() error {
	if err := ValidateMetricID(d.ID); err != nil {
		return err
	}
	if d.Unit == "" {
		return fmt.Errorf("metric %s: missing unit", d.ID)
	}
	if d.Better != Higher && d.Better != Lower {
		return fmt.Errorf("metric %s: better must be %q or %q, got %q", d.ID, Higher, Lower, d.Better)
	}
	return nil
}

// Built-in metric IDs.
const (
	TTFT        = "ttft_ms"
	TPOT        = "tpot_ms"
	ITL         = "itl_ms" // per run: the mean gap; a case's statistics: over every gap
	E2E         = "e2e_ms"
	DecodeTPS   = "decode_tps"
	PrefillTPS  = "prefill_tps"
	TokenizeMS  = "tokenize_ms"
	PeakRSS     = "peak_rss_mib"
	OutsideRun  = "outside_run_pct"
	OutputTPS   = "output_tps" // whole request: generated tokens of all rows / E2E
	RSSAfterRun = "rss_after_mib"
)

// BuiltinMetrics lists the metrics pipe derives from every trace, with the
// definitions printed in every report.
var BuiltinMetrics = []MetricDef{
	{ID: TTFT, Unit: "ms", Better: Lower, Source: "builtin",
		Description: "time to first token: request start (before tokenization) → first generated token id available (after sampling)"},
	{ID: TPOT, Unit: "ms", Better: Lower, Source: "builtin",
		Description: "time per output token after the first: (E2E − TTFT) / (n − 1)"},
	{ID: ITL, Unit: "ms", Better: Lower, Source: "builtin",
		Description: "inter-token latency: the n − 1 gaps between consecutive generated tokens; a run's value is their mean, a case's statistics (mean, percentiles, std) are over every gap of its valid runs, with intervals from a bootstrap that resamples runs"},
	{ID: E2E, Unit: "ms", Better: Lower, Source: "builtin",
		Description: "end to end: request start → last token id available; E2E ≥ TTFT always"},
	{ID: DecodeTPS, Unit: "tok/s", Better: Higher, Source: "builtin",
		Description: "decode rate: (n − 1) / (E2E − TTFT), per sequence"},
	{ID: PrefillTPS, Unit: "tok/s", Better: Higher, Source: "builtin",
		Description: "prefill rate: prompt tokens / TTFT, per sequence"},
	{ID: OutputTPS, Unit: "tok/s", Better: Higher, Source: "builtin",
		Description: "request throughput: generated tokens of all batch rows / E2E"},
	{ID: TokenizeMS, Unit: "ms", Better: Lower, Source: "builtin",
		Description: "tokenization time, included in TTFT (0 for token-id prompts)"},
	{ID: PeakRSS, Unit: "MiB", Better: Lower, Source: "builtin",
		Description: "peak resident set size of the pipe process during the run (sampled every ≤ 10 ms, and VmHWM)"},
	{ID: RSSAfterRun, Unit: "MiB", Better: Lower, Source: "builtin",
		Description: "resident set size right after the run finished"},
	{ID: OutsideRun, Unit: "%", Better: Lower, Source: "builtin",
		Description: "share of E2E spent outside the runtime's Run calls (tokenization, sampling, buffer handling)"},
}

// Case-level metric IDs: one value per case, computed by the engine over the
// case's concurrent streams (they have no per-run distribution).
const (
	ThroughputOutputTPS  = "throughput.output_tps"
	ThroughputRequestsPS = "throughput.requests_ps"
	ThroughputPeakRSS    = "throughput.peak_rss_mib"
)

// CaseLevelMetrics lists the case-level metrics the engine computes.
var CaseLevelMetrics = []MetricDef{
	{ID: ThroughputOutputTPS, Unit: "tok/s", Better: Higher, Source: "builtin",
		Description: "generated tokens of the valid runs, all streams and rows / the case's span (the longest stream's summed E2E; invalid runs count in the span)"},
	{ID: ThroughputRequestsPS, Unit: "req/s", Better: Higher, Source: "builtin",
		Description: "valid requests / the case's span (the longest stream's summed E2E)"},
	{ID: ThroughputPeakRSS, Unit: "MiB", Better: Lower, Source: "builtin",
		Description: "peak RSS of the process during the case's measured runs"},
}
