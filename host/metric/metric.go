// Package metric is the one registry of metric definitions, shared by the
// built-in metrics and those that WebAssembly plugins declare. Every metric
// has a lowercase, namespaced ID, a unit and a direction (better=higher or
// lower), after golang.org/x/perf/benchfmt: a number without a unit and a
// direction cannot be compared, so the registry refuses one.
package metric

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Better says which direction of change is an improvement.
type Better string

const (
	Higher Better = "higher"
	Lower  Better = "lower"
)

// Def defines one metric.
type Def struct {
	ID          string `json:"id"`          // e.g. "ttft_ms", "jitter.itl_cv"
	Unit        string `json:"unit"`        // "ms", "tok/s", "bytes", "%", "1"
	Better      Better `json:"better"`      // higher or lower
	Description string `json:"description"` // one line, printed in reports
	Source      string `json:"source"`      // "builtin" or the plugin's name
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// ValidateID reports what is wrong with a metric ID, if anything.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("metric id %q: want lowercase letters, digits, '_' and '.' (e.g. jitter.itl_cv)", id)
	}
	return nil
}

// Validate reports what is wrong with d, if anything.
func (d Def) Validate() error {
	if err := ValidateID(d.ID); err != nil {
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

// Registry holds metric definitions by ID. The zero value is ready to use.
//
// The first segment of an ID — its namespace: "ttft_ms" for ttft_ms,
// "throughput" for throughput.output_tps, "jitter" for jitter.itl_cv —
// belongs to one source. A plugin's metric IDs start with its name, so a
// plugin named like a built-in metric would otherwise define IDs that read
// as the built-in's statistics (ttft_ms.p99) or join a built-in family
// (throughput.*): the registry refuses it.
type Registry struct {
	mu     sync.RWMutex
	defs   map[string]Def
	spaces map[string]Def // namespace → the first definition in it
}

// Namespace returns the first segment of a metric ID.
func Namespace(id string) string {
	ns, _, _ := strings.Cut(id, ".")
	return ns
}

// Register adds d; a second definition of the same ID, or an ID in a
// namespace another source owns, is an error naming both.
func (r *Registry) Register(d Def) error {
	if err := d.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.defs[d.ID]; ok {
		return fmt.Errorf("metric %s: defined twice (by %s and %s)", d.ID, old.Source, d.Source)
	}
	if owner, ok := r.spaces[Namespace(d.ID)]; ok && owner.Source != d.Source {
		return fmt.Errorf("metric %s (%s): the name %s is taken by %s: rename the plugin", d.ID, sourceName(d.Source), Namespace(d.ID), owner.describe())
	}
	r.claim(Namespace(d.ID), d)
	r.defs[d.ID] = d
	return nil
}

// Claim reserves namespace name for source (a plugin's name, before its
// metrics are known) and refuses it when another source owns it.
func (r *Registry) Claim(name, source string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if owner, ok := r.spaces[name]; ok && owner.Source != source {
		return fmt.Errorf("plugin name %q is taken by %s: rename the plugin (its name namespaces its metrics)", name, owner.describe())
	}
	r.claim(name, Def{Source: source})
	return nil
}

// Known reports whether id names a metric: one defined here, or a dotted
// ID in the namespace of a plugin that claimed it (Claim) — a plugin's
// metrics are declared by its manifest when it loads, so a pipeline is
// checked against the namespace before any plugin runs, and the run
// registers the declarations themselves.
func (r *Registry) Known(id string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.defs[id]; ok {
		return true
	}
	ns, _, dotted := strings.Cut(id, ".")
	owner, claimed := r.spaces[ns]
	return dotted && claimed && owner.Source != "builtin"
}

// claim records d as the first definition in namespace ns; r.mu is held.
func (r *Registry) claim(ns string, d Def) {
	if r.defs == nil {
		r.defs, r.spaces = map[string]Def{}, map[string]Def{}
	}
	if old, ok := r.spaces[ns]; !ok || old.ID == "" {
		r.spaces[ns] = d
	}
}

// describe names a definition for an error: "the built-in metric ttft_ms",
// "plugin jitter's metric jitter.itl_cv", "plugin jitter".
func (d Def) describe() string {
	switch {
	case d.Source == "builtin":
		return "the built-in metric " + d.ID
	case d.ID == "":
		return "plugin " + d.Source
	}
	return fmt.Sprintf("plugin %s's metric %s", d.Source, d.ID)
}

func sourceName(source string) string {
	switch source {
	case "builtin":
		return source
	case "":
		return "no source"
	}
	return "plugin " + source
}

// Lookup returns the definition of id.
func (r *Registry) Lookup(id string) (Def, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.defs[id]
	return d, ok
}

// All returns every definition, built-ins first in their declared order,
// then the rest sorted by ID.
func (r *Registry) All() []Def {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Def
	seen := map[string]bool{}
	for _, b := range append(append([]Def{}, Builtin...), CaseLevel...) {
		if d, ok := r.defs[b.ID]; ok {
			out = append(out, d)
			seen[b.ID] = true
		}
	}
	var rest []Def
	for id, d := range r.defs {
		if !seen[id] {
			rest = append(rest, d)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].ID < rest[j].ID })
	return append(out, rest...)
}

// NewRegistry returns a registry holding the built-in per-run and
// case-level metrics.
func NewRegistry() *Registry {
	r := &Registry{}
	for _, d := range append(append([]Def{}, Builtin...), CaseLevel...) {
		if err := r.Register(d); err != nil {
			panic(err) // a programming error in Builtin
		}
	}
	return r
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
	PeakRSS     = "peak_rss_mb"
	OutsideRun  = "outside_run_pct"
	OutputTPS   = "output_tps" // whole request: generated tokens of all rows / E2E
	RSSAfterRun = "rss_after_mb"
)

// Builtin lists the metrics pipe derives from every trace, with the
// definitions printed in every report.
var Builtin = []Def{
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

// CaseLevel lists the case-level metrics the engine computes.
var CaseLevel = []Def{
	{ID: ThroughputOutputTPS, Unit: "tok/s", Better: Higher, Source: "builtin",
		Description: "generated tokens of the valid runs, all streams and rows / the case's span (the longest stream's summed E2E; invalid runs count in the span)"},
	{ID: ThroughputRequestsPS, Unit: "req/s", Better: Higher, Source: "builtin",
		Description: "valid requests / the case's span (the longest stream's summed E2E)"},
	{ID: ThroughputPeakRSS, Unit: "MiB", Better: Lower, Source: "builtin",
		Description: "peak RSS of the process during the case's measured runs"},
}

// ShortName is the name a reader knows a built-in metric by, for sentences
// and chart labels ("TTFT", "decode tok/s"); other IDs come back as they are.
func ShortName(id string) string {
	switch id {
	case TTFT:
		return "TTFT"
	case TPOT:
		return "TPOT"
	case ITL:
		return "ITL"
	case E2E:
		return "E2E"
	case DecodeTPS:
		return "decode tok/s"
	case PrefillTPS:
		return "prefill tok/s"
	case OutputTPS:
		return "output tok/s"
	case PeakRSS:
		return "peak RSS"
	}
	return id
}
