package schema

import (
	"math"
	"sort"
)

// Metric returns the definition of metric id: the result's own list first
// (it holds plugin metrics), then pipe's built-ins.
func (r *Result) Metric(id string) (MetricDef, bool) {
	for _, d := range r.Metrics {
		if d.ID == id {
			return d, true
		}
	}
	for _, d := range BuiltinMetrics {
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
