package engine

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/result"
)

// dropNonFinite removes the values a Measurer set that are not finite
// numbers (NaN, ±Inf) from c's runs and case values, with one warning per
// metric that names the source and the runs: such a value would turn the
// metric's statistics into NaN or Inf and say nothing true. A value is
// dropped, not the measurement: the rest of the metric's runs still count.
func dropNonFinite(c *result.Case, source string) {
	bad := map[string][]string{} // metric → "NaN in run 1", …
	for i := range c.Runs {
		for id, v := range c.Runs[i].Values {
			if !finite(v) {
				bad[id] = append(bad[id], fmt.Sprintf("%v in run %d", v, c.Runs[i].Index+1))
				delete(c.Runs[i].Values, id)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(bad)) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %s is not a finite number in %d of %d runs (%s); dropped",
			source, id, len(bad[id]), len(c.Runs), strings.Join(bad[id], ", ")))
	}
	for _, id := range slices.Sorted(maps.Keys(c.Values)) {
		if v := c.Values[id]; !finite(v) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: case value %s is %v, not a finite number; dropped", source, id, v))
			delete(c.Values, id)
		}
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
