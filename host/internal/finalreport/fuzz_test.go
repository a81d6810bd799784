package finalreport

import (
	"context"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
)

// FuzzTargetSelector feeds arbitrary ROLE/GLOB case selectors to the target
// judge over a merged result read once: it must never panic, must always
// answer, and every failed verdict must say why.
func FuzzTargetSelector(f *testing.F) {
	for _, s := range []string{"", "*", "latency/p128-*", "latency/", "/x", "memory/[", "a/b/c", "quick/p30-n50-b1", "throughput/b?-s1"} {
		f.Add(s)
	}
	plan := &pipeline.Plan{Name: "p5", Inputs: map[string]string{
		"quick": "latest:phase1-quick", "latency": "latest:phase2-latency", "gone": "latest:nothing-here",
	}}
	merged, err := Build(context.Background(), plan, "testdata/inputs")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sel string) {
		vs := judgeTargets([]pipeline.TargetSpec{{Expr: "ttft_ms.p50 < 10s", Case: sel}}, merged)
		if len(vs) == 0 {
			t.Fatalf("selector %q produced no verdict", sel)
		}
		for _, v := range vs {
			if !v.Pass && v.Message == "" && v.Observed == 0 {
				t.Fatalf("selector %q: failed verdict without a message: %+v", sel, v)
			}
		}
	})
}
