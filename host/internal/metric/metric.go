// Package metric is the one registry of metric definitions, shared by the
// built-in metrics and those that WebAssembly plugins declare. Every metric
// has a lowercase, namespaced ID, a unit and a direction (better=higher or
// lower), after golang.org/x/perf/benchfmt: a number without a unit and a
// direction cannot be compared, so the registry refuses one.
package metric

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/pipe-bench/pipe/sdk/schema"
)

// Better says which direction of change is an improvement.
type Better = schema.Better

const (
	Higher = schema.Higher
	Lower  = schema.Lower
)

// Def defines one metric: the type is sdk/schema's, so plugins declare
// metrics without linking the registry.
type Def = schema.MetricDef

// ValidateID reports what is wrong with a metric ID, if anything.
func ValidateID(id string) error { return schema.ValidateMetricID(id) }

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
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.register(d)
}

// register is Register with r.mu held.
func (r *Registry) register(d Def) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if old, ok := r.defs[d.ID]; ok {
		return fmt.Errorf("metric %s: defined twice (by %s and %s)", d.ID, old.Source, d.Source)
	}
	if owner, ok := r.spaces[Namespace(d.ID)]; ok && owner.Source != d.Source {
		return fmt.Errorf("metric %s (%s): the name %s is taken by %s: rename the plugin", d.ID, sourceName(d.Source), Namespace(d.ID), describe(owner))
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
		return fmt.Errorf("plugin name %q is taken by %s: rename the plugin (its name namespaces its metrics)", name, describe(owner))
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
func describe(d Def) string {
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

// Define registers the definitions a metric module declares, each with
// source as its Source unless it names one. It registers all or none: the
// first refused definition's error comes back and nothing is registered.
func (r *Registry) Define(source string, defs []Def) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	oldDefs, oldSpaces := maps.Clone(r.defs), maps.Clone(r.spaces)
	for _, d := range defs {
		if d.Source == "" {
			d.Source = source
		}
		if err := r.register(d); err != nil {
			r.defs, r.spaces = oldDefs, oldSpaces
			return err
		}
	}
	return nil
}

// Clone returns a copy of r that registers and claims apart from it.
func (r *Registry) Clone() *Registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := &Registry{}
	if r.defs != nil {
		c.defs, c.spaces = maps.Clone(r.defs), maps.Clone(r.spaces)
	}
	return c
}

// Built-in metric IDs (sdk/schema names them: they are keys in every result).
const (
	TTFT        = schema.TTFT
	TPOT        = schema.TPOT
	ITL         = schema.ITL
	E2E         = schema.E2E
	DecodeTPS   = schema.DecodeTPS
	PrefillTPS  = schema.PrefillTPS
	TokenizeMS  = schema.TokenizeMS
	PeakRSS     = schema.PeakRSS
	OutsideRun  = schema.OutsideRun
	OutputTPS   = schema.OutputTPS
	RSSAfterRun = schema.RSSAfterRun
)

// Builtin lists the metrics pipe derives from every trace, with the
// definitions printed in every report.
var Builtin = schema.BuiltinMetrics

// Case-level metric IDs: one value per case, computed over the case's
// concurrent streams (they have no per-run distribution).
const (
	ThroughputOutputTPS  = schema.ThroughputOutputTPS
	ThroughputRequestsPS = schema.ThroughputRequestsPS
	ThroughputPeakRSS    = schema.ThroughputPeakRSS
)

// CaseLevel lists the case-level metrics.
var CaseLevel = schema.CaseLevelMetrics

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
