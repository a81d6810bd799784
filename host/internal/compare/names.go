package compare

import (
	"fmt"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// definition is metric id's definition: the newer result's, the older
// one's (result.Metric: its own, its inputs', the built-ins), else the
// registry's.
func definition(id string, old, new *result.Result, reg *metric.Registry) metric.Def {
	if d, ok := new.Metric(id); ok {
		return d
	}
	if d, ok := old.Metric(id); ok {
		return d
	}
	if reg != nil {
		if d, ok := reg.Lookup(id); ok {
			return d
		}
	}
	return metric.Def{ID: id}
}

// CheckMetrics refuses a metric ID that neither the registry (reg: the
// built-in metrics, the plugins' claimed namespaces) nor any of the
// results defines, naming the metrics the results hold: a typo in
// --metric would otherwise compare nothing.
func CheckMetrics(ids []string, reg *metric.Registry, results ...*result.Result) error {
	for _, id := range ids {
		if reg != nil && reg.Known(id) {
			continue
		}
		known := false
		for _, r := range results {
			if _, ok := r.Metric(id); ok {
				known = true
				break
			}
		}
		if !known {
			var have []string
			seen := map[string]bool{}
			for _, r := range results {
				for _, m := range r.MetricIDs() {
					if !seen[m] {
						seen[m] = true
						have = append(have, m)
					}
				}
			}
			return fmt.Errorf("metric %q is not defined by pipe or by the results; they measured %s", id, strings.Join(have, ", "))
		}
	}
	return nil
}
