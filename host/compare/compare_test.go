package compare_test

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/compare"
	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/result"
	"github.com/pipe-bench/pipe/host/result/resulttest"
	"github.com/pipe-bench/pipe/host/stats"
)

// oneCase builds a result with one case whose runs have the given values of
// metric id.

func oneCase(id string, better metric.Better, xs []float64) *result.Result {
	c := result.Case{ID: "c1", Valid: true, Stats: map[string]stats.Summary{id: stats.Summarize(xs)}}
	for i, x := range xs {
		c.Runs = append(c.Runs, result.Run{Index: i, Valid: true, Values: map[string]float64{id: x}})
	}
	r := &result.Result{Pipeline: result.PipelineInfo{Name: "p"}, Cases: []result.Case{c}}
	if better != "" {
		r.Metrics = []metric.Def{{ID: id, Unit: "1", Better: better, Source: "test"}}
	}
	return r
}

func shifted(xs []float64, by float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * by
	}
	return out
}

var base = []float64{100.2, 99.1, 101.5, 100.8, 98.7, 100.0, 99.6, 101.1, 100.4, 99.3}

func TestKnownDistributions(t *testing.T) {
	tests := []struct {
		name        string
		old, new    []float64
		better      metric.Better
		opt         compare.Options
		verdict     string
		significant bool
		note        string
		delta       float64 // expected sign and rough size; NaN: don't check
	}{
		{name: "identical runs", old: base, new: base, better: metric.Lower, verdict: compare.Same, delta: 0},
		{name: "same values, other order", old: base, new: []float64{99.3, 100.4, 101.1, 99.6, 100.0, 98.7, 100.8, 101.5, 99.1, 100.2}, better: metric.Lower, verdict: compare.Same, delta: 0},
		{name: "10 % slower, lower is better", old: base, new: shifted(base, 1.1), better: metric.Lower, verdict: compare.Regression, significant: true, delta: 0.1},
		{name: "10 % faster, lower is better", old: base, new: shifted(base, 0.9), better: metric.Lower, verdict: compare.Improvement, significant: true, delta: -0.1},
		{name: "10 % more, higher is better", old: base, new: shifted(base, 1.1), better: metric.Higher, verdict: compare.Improvement, significant: true, delta: 0.1},
		{name: "10 % less, higher is better", old: base, new: shifted(base, 0.9), better: metric.Higher, verdict: compare.Regression, significant: true, delta: -0.1},
		{name: "no direction known", old: base, new: shifted(base, 1.1), verdict: compare.Changed, significant: true, delta: 0.1},
		{name: "significant but under the noise threshold", old: base, new: shifted(base, 1.015), better: metric.Lower,
			verdict: compare.Same, note: "below the 2 % noise threshold", delta: 0.015},
		{name: "noise threshold off", old: base, new: shifted(base, 1.015), better: metric.Lower, opt: compare.Options{Noise: -1},
			verdict: compare.Regression, significant: true, delta: 0.015},
		{name: "too few runs", old: base[:3], new: shifted(base[:3], 1.5), better: metric.Lower,
			verdict: compare.Same, note: "too few runs: need >= 4 samples to detect a difference at alpha level 0.05", delta: 0.5},
		{name: "stricter alpha keeps a small sample quiet", old: base[:5], new: shifted(base[:5], 1.5), better: metric.Lower,
			opt: compare.Options{Alpha: 0.001}, verdict: compare.Same, note: "too few runs", delta: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := compare.Compare(oneCase("m", tt.better, tt.old), oneCase("m", tt.better, tt.new), tt.opt)
			if len(rep.Rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rep.Rows))
			}
			row := rep.Rows[0]
			if row.Verdict != tt.verdict || row.Significant != tt.significant || !strings.Contains(row.Note, tt.note) {
				t.Errorf("row = %+v; want verdict %q significant %v note %q", row, tt.verdict, tt.significant, tt.note)
			}
			if math.Abs(row.Delta-tt.delta) > 0.01 {
				t.Errorf("delta = %v, want about %v", row.Delta, tt.delta)
			}
			if row.Significant && row.P >= rep.Alpha {
				t.Errorf("significant with p=%v ≥ α=%v", row.P, rep.Alpha)
			}
		})
	}
}

func TestCompareFixture(t *testing.T) {
	old, new := resulttest.Baseline(), resulttest.Phase2()
	rep := compare.Compare(old, new, compare.Options{})
	if got := strings.Join(rep.OnlyNew, ","); got != "p768-n256-b1" {
		t.Errorf("only new = %q", got)
	}
	verdicts := map[string]string{}
	for _, row := range rep.Rows {
		verdicts[row.Case+" "+row.Metric] = row.Verdict
	}
	for key, want := range map[string]string{
		"p128-n64-b1 ttft_ms":     compare.Improvement, // 10 % faster now
		"p128-n64-b1 decode_tps":  compare.Improvement, // 5 % more tokens per second
		"p128-n64-b1 peak_rss_mb": compare.Same,        // unchanged
		"p512-n128-b1 ttft_ms":    compare.Same,        // same runs, other order
	} {
		if verdicts[key] != want {
			t.Errorf("%s: verdict %q, want %q", key, verdicts[key], want)
		}
	}
	// Reversed, the improvements become regressions.
	back := compare.Compare(new, old, compare.Options{})
	if back.Count(compare.Regression) != rep.Count(compare.Improvement) || back.Count(compare.Regression) == 0 {
		t.Errorf("reversed: %d regressions, forward %d improvements", back.Count(compare.Regression), rep.Count(compare.Improvement))
	}
	if got := strings.Join(back.OnlyOld, ","); got != "p768-n256-b1" {
		t.Errorf("reversed only old = %q", got)
	}

	for _, f := range compare.Formats {
		t.Run(f, func(t *testing.T) {
			var b bytes.Buffer
			if err := rep.WriteFormat(&b, f); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "fixture."+f, b.Bytes())
			if f == "json" {
				var back compare.Report
				if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Rows) != len(rep.Rows) {
					t.Errorf("json does not read back: %v", err)
				}
			}
		})
	}
	if err := rep.WriteFormat(&bytes.Buffer{}, "html"); err == nil || !strings.Contains(err.Error(), "want one of text, md, json") {
		t.Errorf("unknown format: %v", err)
	}
}
