package schema

import (
	"math"
	"sort"
)

// Metric returns the definition of metric id: the result's own list first
// (it holds plugin metrics), then those of the results it merges (phase
// 5's inputs), then pipe's built-ins (BuiltinMetric). It is the one lookup
// of a definition: reports, targets and comparisons all ask it.
func (r *Result) Metric(id string) (MetricDef, bool) {
	if d, ok := findMetric(r.Metrics, id); ok {
		return d, true
	}
	for _, in := range r.Inputs {
		if in.Result != nil {
			if d, ok := findMetric(in.Result.Metrics, id); ok {
				return d, true
			}
		}
	}
	return BuiltinMetric(id)
}

// BuiltinMetric returns the definition of built-in metric id, per run or
// case-level.
func BuiltinMetric(id string) (MetricDef, bool) {
	if d, ok := findMetric(BuiltinMetrics, id); ok {
		return d, true
	}
	return findMetric(CaseLevelMetrics, id)
}

// MetricDefs lists the definitions a report of r prints: every per-run
// built-in in its declared order, then the result's own and its inputs'
// other metrics (a plugin's), each ID once.
func (r *Result) MetricDefs() []MetricDef {
	seen := map[string]bool{}
	var out []MetricDef
	add := func(ds []MetricDef) {
		for _, d := range ds {
			if !seen[d.ID] {
				seen[d.ID] = true
				out = append(out, d)
			}
		}
	}
	add(BuiltinMetrics)
	add(r.Metrics)
	for _, in := range r.Inputs {
		if in.Result != nil {
			add(in.Result.Metrics)
		}
	}
	return out
}

func findMetric(ds []MetricDef, id string) (MetricDef, bool) {
	for _, d := range ds {
		if d.ID == id {
			return d, true
		}
	}
	return MetricDef{}, false
}

// MetricIDs lists every metric with statistics in any case: built-ins in
// their declared order, then the rest sorted.
func (r *Result) MetricIDs() []string {
	seen := map[string]bool{}
	for _, c := range r.Cases {
		for id := range c.Stats {
			seen[id] = true
		}
	}
	var out []string
	for _, d := range BuiltinMetrics {
		if seen[d.ID] {
			out = append(out, d.ID)
			delete(seen, d.ID)
		}
	}
	rest := make([]string, 0, len(seen))
	for id := range seen {
		rest = append(rest, id)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// Case returns the case with the given ID.
func (r *Result) Case(id string) (*Case, bool) {
	for i := range r.Cases {
		if r.Cases[i].ID == id {
			return &r.Cases[i], true
		}
	}
	return nil, false
}

// RunValues returns metric id's value in each valid run, in run order —
// the sample the case's statistics were computed from.
func (c *Case) RunValues(id string) []float64 {
	xs := make([]float64, 0, len(c.Runs))
	for _, run := range c.Runs {
		if v, ok := run.Values[id]; ok && run.Valid && !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	return xs
}
