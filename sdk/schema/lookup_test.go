package schema

import "testing"

// TestMetricLookup: a definition comes from the result itself, else from
// a merged input, else from the built-ins (per run and case-level).
func TestMetricLookup(t *testing.T) {
	own := MetricDef{ID: TTFT, Unit: "ms", Description: "the result's own"}
	in := MetricDef{ID: "jitter.itl_cv", Unit: "1", Source: "jitter"}
	r := &Result{Metrics: []MetricDef{own}, Inputs: []Input{{Result: &Result{Metrics: []MetricDef{in}}}}}
	for _, tc := range []struct {
		id   string
		want string // description or unit that tells the source apart
	}{
		{TTFT, "the result's own"},
		{"jitter.itl_cv", "1"},
		{E2E, "ms"},
		{ThroughputOutputTPS, "tok/s"},
	} {
		d, ok := r.Metric(tc.id)
		if !ok || (d.Description != tc.want && d.Unit != tc.want) {
			t.Errorf("Metric(%s) = %+v, %v; want one with %q", tc.id, d, ok, tc.want)
		}
	}
	if _, ok := r.Metric("nope.x"); ok {
		t.Error("Metric(nope.x) found a definition")
	}
	defs := r.MetricDefs()
	if defs[0].ID != TTFT || defs[0].Description == own.Description || defs[len(defs)-1].ID != in.ID {
		t.Errorf("MetricDefs: first %+v, last %+v; want the built-in ttft_ms first, the input's plugin metric last", defs[0], defs[len(defs)-1])
	}
}
