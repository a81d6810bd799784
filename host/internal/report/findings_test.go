package report

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// findingsCase builds a case whose run i has TTFT ttft(i) ms and decodes
// at decode(i) tok/s; E2E follows from both.
func findingsCase(id string, prompt, newTok, runs int, ttft, decode func(i int) float64) result.Case {
	c := result.Case{ID: id, Valid: true, Params: result.CaseParams{PromptTokens: prompt, NewTokens: newTok, Batch: 1, Streams: 1},
		Stats: map[string]stats.Summary{}}
	for i := range runs {
		t, d := ttft(i), decode(i)
		c.Runs = append(c.Runs, result.Run{Index: i, Valid: true, Values: map[string]float64{
			metric.TTFT: t, metric.DecodeTPS: d, metric.E2E: t + float64(newTok-1)*1e3/d}})
	}
	for _, m := range []string{metric.TTFT, metric.DecodeTPS, metric.E2E} {
		var xs []float64
		for _, r := range c.Runs {
			xs = append(xs, r.Values[m])
		}
		c.Stats[m] = stats.Summarize(xs)
	}
	return c
}

// noisy returns centre × (1 + rel·N(0, 1)), seeded.
func noisy(centre, rel float64, seed uint64) func(int) float64 {
	rng := rand.New(rand.NewPCG(seed, 99))
	return func(int) float64 { return centre * (1 + rel*rng.NormFloat64()) }
}

func findingsResult(cases ...result.Case) *result.Result {
	r := &result.Result{Schema: result.Schema, Valid: true, Env: result.Env{Cores: 2}, Cases: cases}
	for _, d := range metric.Builtin {
		switch d.ID {
		case metric.TTFT, metric.DecodeTPS, metric.E2E:
			r.Metrics = append(r.Metrics, d)
		}
	}
	return r
}

func findingTexts(a *Analysis) string {
	var s []string
	for _, f := range a.Findings {
		s = append(s, f.Kind+": "+f.Text)
	}
	return strings.Join(s, "\n")
}

// A quiet result with enough runs reads "No anomaly" — the control for
// the tests below.
func TestNoAnomalyOnAQuietResult(t *testing.T) {
	r := findingsResult(findingsCase("p128-n64", 128, 64, 10, noisy(60, 0.01, 1), noisy(30, 0.01, 2)))
	if got := findingTexts(Analyze(r, Options{})); !strings.Contains(got, "No anomaly") {
		t.Errorf("findings:\n%s\nwant No anomaly", got)
	}
}

// "No anomaly" never stands beside a leak verdict or regressions.
func TestNoAnomalyNotBesideALeakOrRegressions(t *testing.T) {
	quiet := func() *result.Result {
		return findingsResult(findingsCase("p128-n64", 128, 64, 10, noisy(60, 0.01, 1), noisy(30, 0.01, 2)),
			findingsCase("p512-n64", 512, 64, 10, noisy(240, 0.01, 3), noisy(28, 0.01, 4)))
	}
	leaky := quiet()
	leaky.Memory = &result.Memory{Leak: []result.Leak{{Case: "p128-n64", RSSAfter: make([]int64, 40), SkipRuns: 4,
		Slope: 1 << 20, SlopeCI: [2]float64{900 << 10, 1100 << 10}, Threshold: 64 << 10, Verdict: "leak"}}}
	got := findingTexts(Analyze(leaky, Options{}))
	if strings.Contains(got, "No anomaly") || !strings.Contains(got, "leak (RSS slope 1024 KiB/run") {
		t.Errorf("leak: findings\n%s\nwant the leak and no 'No anomaly'", got)
	}
	// The baseline was 30 % faster in every key metric: regressions.
	base := quiet()
	for i := range base.Cases {
		c := &base.Cases[i]
		*c = findingsCase(c.ID, c.Params.PromptTokens, 64, 10, noisy(0.7*c.Stats[metric.TTFT].P50, 0.01, uint64(10+i)), noisy(1.3*c.Stats[metric.DecodeTPS].P50, 0.01, uint64(20+i)))
	}
	a := Analyze(quiet(), Options{Baseline: base})
	got = findingTexts(a)
	if a.Comparison == nil || a.Comparison.Count("regression") < 3 || strings.Contains(got, "No anomaly") {
		t.Errorf("regressions: findings\n%s\nwant ≥ 3 regressions and no 'No anomaly'", got)
	}
}

// Cases of one run each leave nothing to judge the spread by.
func TestNoAnomalyNeedsRuns(t *testing.T) {
	r := findingsResult(findingsCase("p128-n64", 128, 64, 1, noisy(60, 0, 1), noisy(30, 0, 2)),
		findingsCase("p512-n64", 512, 64, 1, noisy(240, 0, 3), noisy(28, 0, 4)))
	got := findingTexts(Analyze(r, Options{}))
	if strings.Contains(got, "No anomaly") || !strings.Contains(got, "Too few runs to judge the spread: 2 of 2 case(s)") {
		t.Errorf("one run per case: findings\n%s\nwant 'Too few runs' and no 'No anomaly'", got)
	}
}

// TTFT that fell as the prompt grew is not "growing sub-linearly".
func TestScalingClaimFollowsTheFit(t *testing.T) {
	r := findingsResult(findingsCase("p128-n64", 128, 64, 10, noisy(100, 0.01, 1), noisy(30, 0.01, 2)),
		findingsCase("p512-n64", 512, 64, 10, noisy(90, 0.01, 3), noisy(30, 0.01, 4)))
	got := findingTexts(Analyze(r, Options{}))
	if strings.Contains(got, "TTFT grows") || !strings.Contains(got, "TTFT falls as the prompt grows: TTFT ∝ prompt^-0.08") {
		t.Errorf("TTFT 100 → 90 ms: findings\n%s\nwant falls, never TTFT grows", got)
	}
	// Three prompt lengths on a clean square-root law: sub-linear by the
	// whole interval.
	r = findingsResult(findingsCase("p128", 128, 64, 10, noisy(40, 0.01, 1), noisy(30, 0.01, 2)),
		findingsCase("p512", 512, 64, 10, noisy(80, 0.01, 3), noisy(30, 0.01, 4)),
		findingsCase("p2048", 2048, 64, 10, noisy(160, 0.01, 5), noisy(30, 0.01, 6)))
	a := Analyze(r, Options{})
	if got := findingTexts(a); !strings.Contains(got, "TTFT grows sub-linearly with prompt length: TTFT ∝ prompt^0.50") {
		t.Errorf("TTFT ∝ √prompt: findings\n%s", got)
	}
	// Noisy TTFT on two prompt lengths: the interval cannot say.
	r = findingsResult(findingsCase("p128", 128, 64, 4, noisy(40, 0.4, 1), noisy(30, 0.01, 2)),
		findingsCase("p256", 256, 64, 4, noisy(70, 0.4, 3), noisy(30, 0.01, 4)))
	if got := findingTexts(Analyze(r, Options{})); strings.Contains(got, "linearly") || !strings.Contains(got, "does not tell") {
		t.Errorf("noisy TTFT: findings\n%s\nwant no shape claimed", got)
	}
}

// A 20 % fall at CV 41–44 % is not a change the data can claim.
func TestDecodeChangeNeedsASignificantTest(t *testing.T) {
	r := findingsResult(findingsCase("p128-n64", 128, 64, 8, noisy(60, 0.01, 1), noisy(30, 0.42, 2)),
		findingsCase("p512-n64", 512, 64, 8, noisy(240, 0.01, 3), noisy(24, 0.43, 4)))
	a := Analyze(r, Options{})
	got := findingTexts(a)
	if strings.Contains(got, "Decode rate falls") || !strings.Contains(got, "no change can be claimed") {
		t.Errorf("decode CV %.0f %%/%.0f %%: findings\n%s\nwant no change claimed", 100*r.Cases[0].Stats[metric.DecodeTPS].CV, 100*r.Cases[1].Stats[metric.DecodeTPS].CV, got)
	}
	// The same fall on quiet runs is claimed.
	r = findingsResult(findingsCase("p128-n64", 128, 64, 8, noisy(60, 0.01, 1), noisy(30, 0.01, 2)),
		findingsCase("p512-n64", 512, 64, 8, noisy(240, 0.01, 3), noisy(24, 0.01, 4)))
	if got := findingTexts(Analyze(r, Options{})); !strings.Contains(got, "Decode rate falls 19 % from p128-n64 to p512-n64 (prompt 128 → 512 tokens): medians") {
		t.Errorf("quiet decode: findings\n%s\nwant the fall claimed", got)
	}
}

// A zip matrix that also changed the output length says so.
func TestFindingsNameEveryVariedAxis(t *testing.T) {
	r := findingsResult(findingsCase("p128-n64", 128, 64, 8, noisy(60, 0.01, 1), noisy(30, 0.01, 2)),
		findingsCase("p768-n256", 768, 256, 8, noisy(390, 0.01, 3), noisy(24, 0.01, 4)))
	got := findingTexts(Analyze(r, Options{}))
	for _, want := range []string{"varied: prompt 128 → 768 tokens, output 64 → 256 tokens", "from p128-n64 to p768-n256 (prompt 128 → 768 tokens, output 64 → 256 tokens)"} {
		if !strings.Contains(got, want) {
			t.Errorf("findings\n%s\nlack %q", got, want)
		}
	}
}

// spread returns n evenly spaced values from lo to hi, in an order that
// mixes them (so that no run index tracks the value).
func spread(lo, hi float64, n int) func(int) float64 {
	return func(i int) float64 { return lo + (hi-lo)*float64((i*7)%n)/float64(n-1) }
}

// A decode change is called the way pipe compare calls one (Mann–Whitney
// U on the runs, Holm-adjusted), not by whether two intervals overlap: a
// 3 % fall over 20 runs each is significant although the medians'
// intervals overlap, and a 20 % fall over 3 runs each is not, although
// the means' intervals are disjoint (three runs a side cannot give
// p < 0.1).
func TestDecodeChangeIsCompareTest(t *testing.T) {
	r := findingsResult(findingsCase("p128-n64", 128, 64, 20, noisy(60, 0.01, 1), spread(28, 32, 20)),
		findingsCase("p512-n64", 512, 64, 20, noisy(240, 0.01, 3), spread(27, 31, 20)))
	sa, sb := r.Cases[0].Stats[metric.DecodeTPS], r.Cases[1].Stats[metric.DecodeTPS]
	if !(sa.P50CI[0] < sb.P50CI[1] && sb.P50CI[0] < sa.P50CI[1]) {
		t.Fatalf("fixture: median intervals %v and %v should overlap", sa.P50CI, sb.P50CI)
	}
	got := findingTexts(Analyze(r, Options{}))
	if !strings.Contains(got, "Decode rate falls 3 % from p128-n64 to p512-n64 (prompt 128 → 512 tokens): medians") ||
		!strings.Contains(got, "significant (Mann–Whitney U, p=") {
		t.Errorf("overlapping intervals, 20 runs a side: findings\n%s\nwant the fall claimed as significant", got)
	}
	r = findingsResult(findingsCase("p128-n64", 128, 64, 3, noisy(60, 0.01, 1), spread(29.9, 30.1, 3)),
		findingsCase("p512-n64", 512, 64, 3, noisy(240, 0.01, 3), spread(23.9, 24.1, 3)))
	sa, sb = r.Cases[0].Stats[metric.DecodeTPS], r.Cases[1].Stats[metric.DecodeTPS]
	if !(sb.MeanCI[1] < sa.MeanCI[0]) {
		t.Fatalf("fixture: mean intervals %v and %v should be disjoint", sa.MeanCI, sb.MeanCI)
	}
	got = findingTexts(Analyze(r, Options{}))
	if strings.Contains(got, "Decode rate falls") || !strings.Contains(got, "not significant (Mann–Whitney U") || !strings.Contains(got, "no change can be claimed") {
		t.Errorf("disjoint intervals, 3 runs a side: findings\n%s\nwant no change claimed", got)
	}
}
