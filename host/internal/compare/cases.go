package compare

import "github.com/pipe-bench/pipe/host/internal/result"

// CompareCases compares case oc of old with case nc of new the way Compare
// compares the cases of one ID in two results — medians, Mann–Whitney U on
// the raw runs, Holm over every metric compared — for two cases that differ
// by design (phase 5: the quick phase's case against the latency phase's
// shortest prompt). Its rows are named "OC → NC"; a verdict's direction
// (improvement, regression) means what it does for one case run twice only
// when the cases are alike.
func CompareCases(old *result.Result, oc *result.Case, new *result.Result, nc *result.Case, o Options) *Report {
	id := oc.ID + " → " + nc.ID
	alone := func(r *result.Result, c *result.Case) *result.Result {
		one := *r
		cc := *c
		cc.ID = id
		one.Cases = []result.Case{cc}
		return &one
	}
	return Compare(alone(old, oc), alone(new, nc), o)
}
