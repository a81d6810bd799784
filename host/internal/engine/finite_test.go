package engine

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// overflowMeasurer stands in for a plugin that returns numbers that are
// not finite: NaN and +Inf in a run, -Inf for the corpus.
type overflowMeasurer struct{}

func (overflowMeasurer) Name() string { return "overflow" }
func (overflowMeasurer) Metrics() []metric.Def {
	return []metric.Def{{ID: "overflow.x", Unit: "1", Better: metric.Lower}, {ID: "overflow.total", Unit: "1", Better: metric.Lower}}
}
func (overflowMeasurer) Measure(_ context.Context, c *result.Case) error {
	for i := range c.Runs {
		c.Runs[i].Values["overflow.x"] = float64(i)
	}
	c.Runs[0].Values["overflow.x"] = math.NaN()
	c.Runs[1].Values["overflow.x"] = math.Inf(1)
	c.Values = map[string]float64{"overflow.total": math.Inf(-1)}
	return nil
}

// Issue 9 item 4: a plugin's non-finite value is dropped with a warning
// naming the plugin, the metric and the runs; its finite values and every
// built-in statistic stay.
func TestNonFinitePluginValuesAreDropped(t *testing.T) {
	p := plan(pipeline.CaseSpec{ID: "c", PromptTokens: 4, NewTokens: 4})
	res, err := Run(context.Background(), p, &fakeGen{ttft: constTTFT(time.Millisecond), gap: time.Millisecond},
		Options{Dir: t.TempDir(), Measurers: []Measurer{measure.Builtin{}, overflowMeasurer{}}})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cases[0]
	if s := c.Stats["overflow.x"]; s.N != 1 || s.Mean != 2 {
		t.Errorf("overflow.x n=%d mean=%v, want the one finite value (2)", s.N, s.Mean)
	}
	if _, ok := c.Values["overflow.total"]; ok {
		t.Errorf("case values %v still hold -Inf", c.Values)
	}
	for _, want := range []string{
		"c: plugin overflow: overflow.x is not a finite number in 2 of 3 runs (NaN in run 1, +Inf in run 2); dropped",
		"c: plugin overflow: case value overflow.total is -Inf, not a finite number; dropped",
	} {
		if !slices.Contains(res.Warnings, want) {
			t.Errorf("no warning %q in %q", want, res.Warnings)
		}
	}
	if c.Stats[metric.TTFT].N != 3 {
		t.Error("built-in statistics lost")
	}
	if nf := result.FindNonFinite(res); len(nf) != 0 {
		t.Errorf("non-finite numbers reached the result: %v", nf)
	}
	if strings.Contains(strings.Join(res.Errors, " "), "overflow") {
		t.Errorf("dropping a value is a warning, not an error: %q", res.Errors)
	}
}
