package target_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
	"github.com/pipe-bench/pipe/host/internal/stats"
	"github.com/pipe-bench/pipe/host/internal/target"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, expr string
		want       target.Target
	}{
		{"time unit", "ttft_ms.p95 < 2500ms", target.Target{Metric: "ttft_ms", Statistic: "p95", Op: "<", Value: 2500, Unit: "ms"}},
		{"seconds, spaces", "  e2e_ms.mean<=  2.5 s ", target.Target{Metric: "e2e_ms", Statistic: "mean", Op: "<=", Value: 2.5, Unit: "s"}},
		{"no unit", "decode_tps.min > 20", target.Target{Metric: "decode_tps", Statistic: "min", Op: ">", Value: 20}},
		{"rate unit", "decode_tps.mean >= 20tok/s", target.Target{Metric: "decode_tps", Statistic: "mean", Op: ">=", Value: 20, Unit: "tok/s"}},
		{"memory", "peak_rss_mib.max < 1GiB", target.Target{Metric: "peak_rss_mib", Statistic: "max", Op: "<", Value: 1, Unit: "GiB"}},
		{"cv percent", "ttft_ms.cv < 20%", target.Target{Metric: "ttft_ms", Statistic: "cv", Op: "<", Value: 20, Unit: "%"}},
		{"cv fraction", "ttft_ms.cv < 0.2", target.Target{Metric: "ttft_ms", Statistic: "cv", Op: "<", Value: 0.2}},
		{"dotted plugin metric, extra percentile", "jitter.itl_cv.p99.9 != 0", target.Target{Metric: "jitter.itl_cv", Statistic: "p99.9", Op: "!=", Value: 0}},
		{"percentile normalised", "ttft_ms.p95.0 < 2500ms", target.Target{Metric: "ttft_ms", Statistic: "p95", Op: "<", Value: 2500, Unit: "ms"}},
		{"percentile leading zero normalised", "ttft_ms.p099.50 < 2500ms", target.Target{Metric: "ttft_ms", Statistic: "p99.5", Op: "<", Value: 2500, Unit: "ms"}},
		{"cv bare fraction of exactly 1", "ttft_ms.cv < 1", target.Target{Metric: "ttft_ms", Statistic: "cv", Op: "<", Value: 1}},
		{"exponent", "tpot_ms.std == 1e1us", target.Target{Metric: "tpot_ms", Statistic: "std", Op: "==", Value: 10, Unit: "us"}},
		{"negative", "outside_run_pct.min > -1%", target.Target{Metric: "outside_run_pct", Statistic: "min", Op: ">", Value: -1, Unit: "%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := target.Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Expr = strings.TrimSpace(tt.expr)
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, expr, want string
	}{
		{"empty", "", "column 1: no comparison"},
		{"no operator", "ttft_ms.p95 2500", "column 17: no comparison"},
		{"bang alone", "ttft_ms.p95 ! 3", `column 13: "!" is not an operator`},
		{"no statistic", "ttft_ms < 3", `column 1: "ttft_ms" lacks a statistic`},
		{"unknown statistic", "ttft_ms.median < 3", `column 9: unknown statistic "median"`},
		{"percentile out of range", "ttft_ms.p150 < 3", "column 9: percentile"},
		{"bad metric id", "TTFT.p95 < 3", `column 1: metric id "TTFT"`},
		{"missing left", "< 3", "column 1: missing METRIC.STAT"},
		{"missing value", "ttft_ms.p95 <", "column 14: missing value"},
		{"not a number", "ttft_ms.p95 < fast", `column 15: "fast" is not a number`},
		{"unknown unit", "ttft_ms.p95 < 25xx", `column 17: unknown unit "xx"`},
		{"memory unit on a time metric", "ttft_ms.p95 < 25MiB", `column 17: ttft_ms is a time in ms; "MiB" is a memory unit (use ns, us, ms, s)`},
		{"time unit on cv", "ttft_ms.cv < 5ms", "cv is a ratio"},
		{"cv written as a bare percent", "ttft_ms.cv < 20", "a bare cv is a fraction, so 20 reads as 2000 %; write 20% for 20 percent, or 0.2 as a fraction"},
		{"plugin cv bare percent", "foo.bar.cv < 20", "write 20% for 20 percent, or 0.2 as a fraction"},
		{"bare cv just above 1", "ttft_ms.cv < 5", "so 5 reads as 500 %; write 5% for 5 percent, or 0.05 as a fraction"},
		{"bare cv negative", "ttft_ms.cv > -2", "so -2 reads as -200 %"},
		{"percentile NaN", "ttft_ms.pNaN < 3", `column 9: percentile "pNaN": want p followed by digits`},
		{"percentile Inf", "ttft_ms.pInf < 3", `percentile "pInf": want p followed by digits`},
		{"percentile negative", "ttft_ms.p-1 < 3", `percentile "p-1": want p followed by digits`},
		{"percentile above 100", "ttft_ms.p101 < 3", `percentile "p101": want a number from 0 to 100`},
		{"percentile exponent", "ttft_ms.p9e1 < 3", `percentile "p9e1": want p followed by digits`},
		{"percentile empty", "ttft_ms.p < 3", `percentile "p": want p followed by digits`},
		{"percentile trailing dot", "ttft_ms.p95. < 3", `percentile "p95.": want p followed by digits`},
		{"p0 is min", "ttft_ms.p0 < 3", `percentile "p0" is the minimum: write min`},
		{"p100 is max", "ttft_ms.p100.0 < 3", `percentile "p100.0" is the maximum: write max`},
		{"infinite", "ttft_ms.p95 < 1e999", "is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := target.Parse(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.expr, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
}

// fuzzResult is the fixture FuzzParseTarget evaluates against (8 runs a case).
var fuzzResult = resulttest.Phase2()

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"ttft_ms.p95 < 2500ms", "a.b.cv<=20%", "x.p99.9 != -1e3us", "peak_rss_mib.max<1GiB", "<", "a.b",
		"ttft_ms.pNaN < 1", "ttft_ms.p95.0 < 1", "ttft_ms.cv < 5", "e2e_ms.p-1 > 0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		tg, err := target.Parse(expr)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		// A parsed target re-parses from its normal form to the same target.
		again, err := target.Parse(tg.String())
		if err != nil {
			t.Fatalf("normal form %q of %q does not parse: %v", tg.String(), expr, err)
		}
		again.Expr = tg.Expr
		if again != tg {
			t.Fatalf("round trip %q → %+v, %q → %+v", expr, tg, tg.String(), again)
		}
		// Evaluation never panics, and judges only on enough runs.
		for _, v := range target.Evaluate(tg, fuzzResult) {
			if v.Pass && v.Statistic != "" && target.MinRuns(v.Statistic) > 8 {
				t.Fatalf("%q passed on 8 runs, below MinRuns %d", expr, target.MinRuns(v.Statistic))
			}
		}
	})
}

func TestEvaluate(t *testing.T) {
	r := resulttest.Phase2()
	// A case-level value (a corpus metric from a plugin).
	r.Cases[0].Values = map[string]float64{"corpus.bleu": 0.31}
	type verdict struct {
		caseID   string
		pass     bool
		observed float64
		msg      string
	}
	tests := []struct {
		name, expr, sel string
		threshold       float64
		want            []verdict
	}{
		{"p95 on 8 runs: insufficient", "ttft_ms.p95 < 300ms", "p128-*", 300, []verdict{{caseID: "p128-n64-b1", observed: 63.815, msg: "insufficient runs: p95 needs ≥ 20 valid runs, case p128-n64-b1 has 8"}}},
		{"seconds converted to ms", "ttft_ms.max < 0.5s", "p512-n128-b1", 500, []verdict{{caseID: "p512-n128-b1", observed: 702.5}}},
		{"every case", "decode_tps.mean >= 20tok/s", "", 20, []verdict{
			{caseID: "p128-n64-b1", pass: true, observed: 30.425}, {caseID: "p512-n128-b1", pass: true, observed: 28.385714285714283}, {caseID: "p768-n256-b1", pass: true, observed: 24.1}}},
		{"cv in percent", "ttft_ms.cv < 0.2", "p512*", 20, []verdict{{caseID: "p512-n128-b1", observed: 58.77101753077801}}},
		{"memory converted", "peak_rss_mib.max <= 0.75GiB", "p7*", 768, []verdict{{caseID: "p768-n256-b1", observed: 769.1}}},
		{"case-level value", "corpus.bleu.mean > 0.3", "p128-n64-b1", 0.3, []verdict{{caseID: "p128-n64-b1", pass: true, observed: 0.31}}},
		{"case-level value has no spread", "corpus.bleu.std < 1", "p128-n64-b1", 1, []verdict{{caseID: "p128-n64-b1", msg: "one value per case"}}},
		{"percentile not computed", "ttft_ms.p75 < 1", "p128-n64-b1", 1, []verdict{{caseID: "p128-n64-b1", msg: "add 75 to the aggregate stage's percentiles"}}},
		{"unknown metric: one verdict", "gpu_mem_mb.max < 1GiB", "", 1, []verdict{{caseID: "", msg: "metric gpu_mem_mb is not in this result (it has ttft_ms, tpot_ms"}}},
		{"no case matches", "ttft_ms.p95 < 1", "p4096*", 1, []verdict{{caseID: "p4096*", msg: `no case matches "p4096*" (cases: p128-n64-b1, p512-n128-b1, p768-n256-b1)`}}},
		{"bad glob", "ttft_ms.p95 < 1", "p[", 1, []verdict{{caseID: "p[", msg: "not a valid glob"}}},
		{"plugin metric in its unit", "jitter.itl_cv.max < 9%", "p512*", 9, []verdict{{caseID: "p512-n128-b1", observed: 9.8}}},
		{"plugin metric, wrong unit", "jitter.itl_cv.max < 9ms", "p512*", 0, []verdict{{caseID: "p512*", msg: `jitter.itl_cv is a percent in %; "ms" is a time unit`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := target.Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			tg.Case = tt.sel
			got := target.Evaluate(tg, r)
			if len(got) != len(tt.want) {
				t.Fatalf("%d verdicts, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Case != w.caseID || g.Pass != w.pass || math.Abs(g.Observed-w.observed) > 1e-9 || !strings.Contains(g.Message, w.msg) {
					t.Errorf("verdict %d = %+v, want %+v", i, g, w)
				}
				if w.msg == "" && g.Message != "" {
					t.Errorf("unexpected message %q", g.Message)
				}
				if g.Target != tt.expr || g.Source != "builtin" || g.Metric != tg.Metric {
					t.Errorf("verdict %d identity = %+v", i, g)
				}
				if w.msg == "" && math.Abs(g.Threshold-tt.threshold) > 1e-9 {
					t.Errorf("threshold = %v, want %v", g.Threshold, tt.threshold)
				}
			}
		})
	}
}

// TestInsufficientRuns: spread and tail targets fail below MinRuns valid
// runs (they passed before, on a statistic that was the single run), and
// are judged from MinRuns on.
func TestInsufficientRuns(t *testing.T) {
	runs := func(n int) *result.Result {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(100 + i%7)
		}
		return &result.Result{Cases: []result.Case{{ID: "c", Stats: map[string]stats.Summary{
			"ttft_ms": stats.SummarizeWith(xs, stats.Options{Percentiles: []float64{99.9, 10}})}}}}
	}
	tests := []struct {
		expr string
		need int
	}{
		{"ttft_ms.std < 1s", 5},
		{"ttft_ms.cv < 50%", 5},
		{"ttft_ms.p50 < 1s", 2},
		{"ttft_ms.p90 < 1s", 10},
		{"ttft_ms.p95 < 1s", 20},
		{"ttft_ms.p99 < 1s", 100},
		{"ttft_ms.p99.9 < 1s", 1000},
		{"ttft_ms.p10 > 1ms", 10},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			tg := target.MustParse(tt.expr)
			if got := target.MinRuns(tg.Statistic); got != tt.need {
				t.Errorf("MinRuns(%s) = %d, want %d", tg.Statistic, got, tt.need)
			}
			short := target.Evaluate(tg, runs(tt.need-1))
			want := fmt.Sprintf("insufficient runs: %s needs ≥ %d valid runs, case c has %d", tg.Statistic, tt.need, tt.need-1)
			if len(short) != 1 || short[0].Pass || !strings.Contains(short[0].Message, want) {
				t.Errorf("on %d runs: %+v, want a failed verdict with %q", tt.need-1, short, want)
			}
			enough := target.Evaluate(tg, runs(tt.need))
			if len(enough) != 1 || !enough[0].Pass || enough[0].Message != "" {
				t.Errorf("on %d runs: %+v, want a pass", tt.need, enough)
			}
		})
	}
	for _, stat := range []string{"mean", "min", "max"} {
		if got := target.MinRuns(stat); got != 1 {
			t.Errorf("MinRuns(%s) = %d, want 1", stat, got)
		}
	}
	one := target.Evaluate(target.MustParse("ttft_ms.max < 1s"), runs(1))
	if len(one) != 1 || !one[0].Pass {
		t.Errorf("max on one run: %+v, want a pass", one)
	}
}

// TestEvaluateHandBuiltStatistic: a Target not made by Parse meets the same
// statistic rules (pNaN would reach the percentile lookup otherwise).
func TestEvaluateHandBuiltStatistic(t *testing.T) {
	r := resulttest.Phase2()
	for stat, want := range map[string]string{"pNaN": "want p followed by digits", "p-1": "want p followed by digits", "p101": "from 0 to 100", "median": "unknown statistic"} {
		vs := target.Evaluate(target.Target{Expr: "x", Metric: "ttft_ms", Statistic: stat, Op: "<", Value: 1}, r)
		if len(vs) != 1 || vs[0].Pass || !strings.Contains(vs[0].Message, want) {
			t.Errorf("%s: %+v, want a failed verdict with %q", stat, vs, want)
		}
	}
	vs := target.Evaluate(target.Target{Expr: "x", Metric: "ttft_ms", Statistic: "p50.0", Op: "<", Value: 1e9, Case: "p128-*"}, r)
	if len(vs) != 1 || !vs[0].Pass || vs[0].Statistic != "p50" {
		t.Errorf("p50.0: %+v, want a pass judged as p50", vs)
	}
}

func TestEveryOperator(t *testing.T) {
	r := &result.Result{Cases: []result.Case{{ID: "c", Stats: map[string]stats.Summary{"ttft_ms": stats.Summarize([]float64{10, 10, 10})}}}}
	for op, want := range map[string][3]bool{ // threshold 9, 10, 11
		"<": {false, false, true}, "<=": {false, true, true}, ">": {true, false, false},
		">=": {true, true, false}, "==": {false, true, false}, "!=": {true, false, true},
	} {
		for i, th := range []int{9, 10, 11} {
			tg := target.MustParse(fmt.Sprintf("ttft_ms.mean %s %d", op, th))
			v := target.Evaluate(tg, r)
			if len(v) != 1 || v[0].Pass != want[i] {
				t.Errorf("10 %s %d: %+v, want pass=%v", op, th, v, want[i])
			}
		}
	}
	if !target.Passed(nil) || target.Passed([]result.Verdict{{Pass: true}, {Pass: false}}) {
		t.Error("Passed is wrong")
	}
}

// TestSelects pins the one reading of a case selector that pipeline, shard,
// finalreport and Evaluate share.
func TestSelects(t *testing.T) {
	for _, tt := range []struct {
		sel, id string
		want    bool
	}{
		{"", "p128-n64", true},
		{"*", "p128-n64", true},
		{"p128-n64", "p128-n64", true},
		{"p128-*", "p128-n64", true},
		{"p512-*", "p128-n64", false},
		{"p1?8-n64", "p128-n64", true},
		{"[", "p128-n64", false}, // malformed: selects nothing; CheckSelector says why
	} {
		if got := target.Selects(tt.sel, tt.id); got != tt.want {
			t.Errorf("target.Selects(%q, %q) = %v, want %v", tt.sel, tt.id, got, tt.want)
		}
	}
	if !target.SelectsAny("p512-*", []string{"p128-n64", "p512-n128"}) || target.SelectsAny("p768-*", []string{"p128-n64"}) {
		t.Error("SelectsAny disagrees with Selects")
	}
	if target.CheckSelector("[") == nil || target.CheckSelector("") != nil {
		t.Error(`CheckSelector: want an error for "[" and none for ""`)
	}
}
