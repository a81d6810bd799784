package compare_test

import (
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/registry"
)

// TestNamesThroughTheRegistry: a metric neither result defines takes its
// direction and unit from the registry given, so a slower plugin metric
// reads as a regression; --metric names pipe or the results do not know
// are refused with what the results measured.
func TestNamesThroughTheRegistry(t *testing.T) {
	old, new := oneCase("plug.x", "", base), oneCase("plug.x", "", shifted(base, 1.5))
	defs := registry.New().Metrics()
	if err := defs.Register(metric.Def{ID: "plug.x", Unit: "ms", Better: metric.Lower, Source: "plug"}); err != nil {
		t.Fatal(err)
	}
	without := compare.Compare(old, new, compare.Options{})
	with := compare.Compare(old, new, compare.Options{Definitions: defs})
	if len(without.Rows) != 1 || len(with.Rows) != 1 {
		t.Fatalf("rows %d and %d, want 1 each", len(without.Rows), len(with.Rows))
	}
	if r := with.Rows[0]; r.Better != metric.Lower || r.Unit != "ms" || r.Verdict != compare.Regression {
		t.Errorf("with the registry's definition: better %q, unit %q, verdict %v; want lower, ms, a regression", r.Better, r.Unit, r.Verdict)
	}
	if r := without.Rows[0]; r.Better != "" || r.Verdict == compare.Regression {
		t.Errorf("without a definition: better %q, verdict %v; want no direction and no regression", r.Better, r.Verdict)
	}

	for _, ok := range []string{metric.TTFT, "plug.x"} {
		if err := compare.CheckMetrics([]string{ok}, defs, old, new); err != nil {
			t.Errorf("CheckMetrics(%s): %v", ok, err)
		}
	}
	err := compare.CheckMetrics([]string{metric.TTFT, "ttft"}, defs, old, new)
	if err == nil || !strings.Contains(err.Error(), `metric "ttft" is not defined by pipe or by the results; they measured plug.x`) {
		t.Errorf("CheckMetrics(ttft) = %v", err)
	}
}
