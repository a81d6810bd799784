package compare_test

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/compare"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
	"github.com/pipe-bench/pipe/host/internal/stats"
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
		{name: "one value throughout is sameness, not too few runs", old: []float64{7, 7, 7, 7, 7, 7}, new: []float64{7, 7, 7, 7, 7, 7},
			better: metric.Lower, verdict: compare.Same, delta: 0},
		{name: "same values, other order", old: base, new: []float64{99.3, 100.4, 101.1, 99.6, 100.0, 98.7, 100.8, 101.5, 99.1, 100.2}, better: metric.Lower, verdict: compare.Same, delta: 0},
		{name: "10 % slower, lower is better", old: base, new: shifted(base, 1.1), better: metric.Lower, verdict: compare.Regression, significant: true, delta: 0.1},
		{name: "10 % faster, lower is better", old: base, new: shifted(base, 0.9), better: metric.Lower, verdict: compare.Improvement, significant: true, delta: -0.1},
		{name: "10 % more, higher is better", old: base, new: shifted(base, 1.1), better: metric.Higher, verdict: compare.Improvement, significant: true, delta: 0.1},
		{name: "10 % less, higher is better", old: base, new: shifted(base, 0.9), better: metric.Higher, verdict: compare.Regression, significant: true, delta: -0.1},
		{name: "no direction known", old: base, new: shifted(base, 1.1), verdict: compare.Changed, significant: true, delta: 0.1},
		{name: "significant but under the noise threshold", old: base, new: shifted(base, 1.015), better: metric.Lower,
			verdict: compare.Same, note: "below the noise threshold (2 % of the old median: 2.00)", delta: 0.015},
		{name: "noise threshold off", old: base, new: shifted(base, 1.015), better: metric.Lower, opt: compare.Options{Noise: -1},
			verdict: compare.Regression, significant: true, delta: 0.015},
		{name: "too few runs", old: base[:3], new: shifted(base[:3], 1.5), better: metric.Lower,
			verdict: compare.Same, note: "too few runs: with n=3+3 and these ties the smallest possible p is 0.100, not below α=0.05", delta: 0.5},
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
			if row.Verdict != tt.verdict || row.Significant != tt.significant || !strings.Contains(row.Note, tt.note) || tt.note == "" && row.Note != "" {
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
		"p128-n64-b1 ttft_ms":      compare.Improvement, // 10 % faster now
		"p128-n64-b1 decode_tps":   compare.Improvement, // 5 % more tokens per second
		"p128-n64-b1 peak_rss_mib": compare.Same,        // unchanged
		"p512-n128-b1 ttft_ms":     compare.Same,        // same runs, other order
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

// withMetrics builds a result with one case "c1" whose runs have the given
// values per metric, each metric defined with its unit and direction.
func withMetrics(defs []metric.Def, values map[string][]float64) *result.Result {
	c := result.Case{ID: "c1", Valid: true, Stats: map[string]stats.Summary{}}
	n := 0
	for _, xs := range values {
		n = max(n, len(xs))
	}
	for i := range n {
		run := result.Run{Index: i, Valid: true, Values: map[string]float64{}}
		for id, xs := range values {
			if i < len(xs) {
				run.Values[id] = xs[i]
			}
		}
		c.Runs = append(c.Runs, run)
	}
	for id, xs := range values {
		c.Stats[id] = stats.Summarize(xs)
	}
	return &result.Result{Pipeline: result.PipelineInfo{Name: "p"}, Metrics: defs, Cases: []result.Case{c}}
}

func builtin(ids ...string) []metric.Def {
	var out []metric.Def
	for _, id := range ids {
		for _, d := range metric.Builtin {
			if d.ID == id {
				out = append(out, d)
			}
		}
	}
	return out
}

// TestZeroMedianNoiseFloor: a relative threshold of 0 is 0, so a change
// from a median of 0 is judged against the unit's absolute floor (issue 9:
// tokenize_ms 0 → 5 ms read "below the 2 % noise threshold").
func TestZeroMedianNoiseFloor(t *testing.T) {
	zeros := []float64{0, 0, 0, 0, 0, 0, 0, 0}
	for _, tt := range []struct {
		name    string
		new     []float64
		verdict string
		delta   string
		note    string
	}{
		{"0 → 5 ms is a regression", []float64{5, 5.1, 4.9, 5, 5, 5.2, 4.8, 5}, compare.Regression, "+5.00 ms", ""},
		{"0 → 0.05 ms is below the ms floor", []float64{0.05, 0.05, 0.04, 0.06, 0.05, 0.05, 0.05, 0.05}, compare.Same, "~",
			"below the noise threshold (the floor for ms: 0.1 ms)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defs := builtin(metric.TokenizeMS)
			rep := compare.Compare(withMetrics(defs, map[string][]float64{metric.TokenizeMS: zeros}),
				withMetrics(defs, map[string][]float64{metric.TokenizeMS: tt.new}), compare.Options{})
			row := rep.Rows[0]
			if row.Verdict != tt.verdict || row.DeltaString() != tt.delta || !strings.Contains(row.Note, tt.note) {
				t.Errorf("verdict %q delta %q note %q; want %q %q %q", row.Verdict, row.DeltaString(), row.Note, tt.verdict, tt.delta, tt.note)
			}
		})
	}
}

func TestHolm(t *testing.T) {
	got := compare.Holm([]float64{0.01, 0.04, 0.03, 0.005})
	// Sorted: 0.005×4 = 0.02, 0.01×3 = 0.03, 0.03×2 = 0.06, 0.04×1 → 0.06 (monotone).
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if got := compare.Holm([]float64{0.9, 0.8}); got[0] != 1 || got[1] != 1 {
		t.Errorf("Holm caps at 1: %v", got)
	}
}

// TestHolmAcrossMetrics: one metric with p ≈ 0.02 among ten is a finding
// on its own, but not after controlling the family-wise error of the ten.
func TestHolmAcrossMetrics(t *testing.T) {
	oldV := map[string][]float64{}
	newV := map[string][]float64{}
	var defs []metric.Def
	for i := range 10 {
		id := fmt.Sprintf("m.x%d", i)
		defs = append(defs, metric.Def{ID: id, Unit: "ms", Better: metric.Lower, Source: "test"})
		oldV[id], newV[id] = base, base
	}
	// Shifted by 1.2 ms, overlapping: p = 0.015 two-sided.
	newV["m.x3"] = make([]float64, len(base))
	for i, x := range base {
		newV["m.x3"][i] = x + 1.2
	}
	opt := compare.Options{Noise: -1}
	alone := compare.Compare(withMetrics(defs, oldV), withMetrics(defs, newV), compare.Options{Noise: -1, Metrics: []string{"m.x3"}})
	if r := alone.Rows[0]; !r.Significant || r.P > 0.05 || r.P < 0.005 {
		t.Fatalf("alone: %+v; want significant with p between 0.005 and 0.05", r)
	}
	rep := compare.Compare(withMetrics(defs, oldV), withMetrics(defs, newV), opt)
	for _, r := range rep.Rows {
		if r.Metric != "m.x3" {
			continue
		}
		if r.Significant || math.Abs(r.PHolm-math.Min(1, 10*r.P)) > 1e-12 || !strings.Contains(r.Note, "after Holm's correction over 10 tests") {
			t.Errorf("among ten: %+v; want not significant, p_holm = 10 p", r)
		}
	}
	if n := rep.ChangeCount(compare.Regression); n != 0 {
		t.Errorf("%d regressions among ten, want 0", n)
	}
}

// TestDecodeSpeedIsOneChange: TPOT, ITL and the decode rate of one case
// moving together are one change in the summary and in ChangeCount; the
// rows stay.
func TestDecodeSpeedIsOneChange(t *testing.T) {
	ids := []string{metric.TTFT, metric.TPOT, metric.ITL, metric.DecodeTPS}
	defs := builtin(ids...)
	oldV := map[string][]float64{metric.TTFT: base, metric.TPOT: shifted(base, 0.3), metric.ITL: shifted(base, 0.3), metric.DecodeTPS: shifted(base, 0.33)}
	newV := map[string][]float64{metric.TTFT: shifted(base, 1.2), metric.TPOT: shifted(base, 0.33), metric.ITL: shifted(base, 0.33), metric.DecodeTPS: shifted(base, 0.3)}
	rep := compare.Compare(withMetrics(defs, oldV), withMetrics(defs, newV), compare.Options{})
	if n := rep.Count(compare.Regression); n != 4 {
		t.Errorf("%d regressed rows, want 4", n)
	}
	if n := rep.ChangeCount(compare.Regression); n != 2 {
		t.Errorf("%d regressions, want 2 (TTFT, decode speed)", n)
	}
	want := "2 regressions (ttft_ms at c1; decode speed at c1: tpot_ms, itl_ms, decode_tps)"
	if got := rep.Summary(); !strings.Contains(got, want) {
		t.Errorf("summary %q, want it to say %q", got, want)
	}
}

// TestHodgesLehmann checks the shift and its Moses interval against a
// brute-force computation (every partition of the 13 ranks: k = 7, coverage
// 0.965): the median of the 42 differences and their 7th and 36th.
func TestHodgesLehmann(t *testing.T) {
	s := compare.HodgesLehmann([]float64{1, 2, 3, 4, 5, 6}, []float64{3.5, 4.5, 5, 6.5, 7, 9, 10})
	if s.Estimate != 3 || s.Lo == nil || s.Hi == nil || *s.Lo != 0 || *s.Hi != 6 {
		t.Errorf("shift %v, want +3.00 [0, +6.00]", s)
	}
	if s := compare.HodgesLehmann([]float64{1, 2}, []float64{3, 4}); s.Lo != nil || s.Estimate != 2 {
		t.Errorf("2+2 runs: %v; want 2 with an unbounded interval", s)
	}
}

// TestMannWhitneyPInRange: p and the smallest possible p lie in [0, 1] and
// in order, for every small sample with ties.
func TestMannWhitneyPInRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for range 2000 {
		x := make([]float64, 1+rng.IntN(8))
		y := make([]float64, 1+rng.IntN(8))
		for i := range x {
			x[i] = float64(rng.IntN(3))
		}
		for i := range y {
			y[i] = float64(rng.IntN(3))
		}
		u := compare.MannWhitney(x, y)
		if !(u.MinP >= 0 && u.MinP <= u.P+1e-15 && u.P <= 1) {
			t.Fatalf("%v vs %v: p = %v, smallest p = %v", x, y, u.P, u.MinP)
		}
	}
}
