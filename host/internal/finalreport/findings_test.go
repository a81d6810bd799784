package finalreport_test

import (
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/finalreport"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// merged wraps phase results as the inputs of a phase 5 result.
func merged(inputs map[string]*result.Result) *result.Result {
	m := &result.Result{Schema: result.Schema, Valid: true}
	for _, role := range []string{"quick", "latency", "memory", "throughput"} {
		if r, ok := inputs[role]; ok {
			m.Inputs = append(m.Inputs, result.Input{Role: role, Ref: "latest:" + role, Result: r})
		}
	}
	return m
}

func findingWith(t *testing.T, finds []string, prefix string) string {
	t.Helper()
	for _, f := range finds {
		if strings.HasPrefix(f, prefix) {
			return f
		}
	}
	t.Fatalf("no finding starts with %q in\n%s", prefix, strings.Join(finds, "\n"))
	return ""
}

// The quick-against-latency sentence claims a change only where the
// Mann–Whitney test, Holm-adjusted, calls it significant (as pipe compare
// does), and names the output length that also changed.
func TestPhase5ComparisonClaims(t *testing.T) {
	quick := fixtureResult("phase1-quick", "2026-01-28T17:10:02Z", []caseSpec{
		{id: "p30-n50-b1", prompt: 30, newTok: 50, batch: 1, streams: 1, runs: 5, ttft: 19.6, decode: 31, ttftNoise: 0.05, decodeNoise: 0.4, rss: 702},
	}, 1)
	latency := fixtureResult("phase2-latency", "2026-01-28T17:24:26Z", []caseSpec{
		{id: "p128-n64-b1", prompt: 128, newTok: 64, batch: 1, streams: 1, runs: 10, ttft: 61.8, decode: 30, ttftNoise: 0.04, decodeNoise: 0.4, rss: 704},
		{id: "p512-n128-b1", prompt: 512, newTok: 128, batch: 1, streams: 1, runs: 10, ttft: 240, decode: 28, ttftNoise: 0.03, decodeNoise: 0.02, rss: 733},
	}, 2)
	a := finalreport.Analyze(merged(map[string]*result.Result{"quick": quick, "latency": latency}))
	f := findingWith(t, a.Findings, "quick p30-n50-b1 against latency p128-n64-b1")
	for _, want := range []string{"varied: prompt 30 → 128 tokens, output 50 → 64 tokens", "medians: TTFT 19.", "%, significant: p<0.001 holm=", "(no significant change: p="} {
		if !strings.Contains(f, want) {
			t.Errorf("finding %q lacks %q", f, want)
		}
	}
	if _, decode, _ := strings.Cut(f, "decode tok/s"); strings.Contains(strings.SplitN(decode, ";", 2)[0], "%,") {
		t.Errorf("finding %q claims a decode change the Mann–Whitney test does not call significant", f)
	}
}

// Phase 5 takes the latency phase's scaling claim from the fit: TTFT that
// fell never reads as growing.
func TestPhase5ScalingFromTheFit(t *testing.T) {
	latency := fixtureResult("phase2-latency", "2026-01-28T17:24:26Z", []caseSpec{
		{id: "p128-n64-b1", prompt: 128, newTok: 64, batch: 1, streams: 1, runs: 10, ttft: 100, decode: 30, ttftNoise: 0.01, decodeNoise: 0.01, rss: 704},
		{id: "p512-n64-b1", prompt: 512, newTok: 64, batch: 1, streams: 1, runs: 10, ttft: 90, decode: 30, ttftNoise: 0.01, decodeNoise: 0.01, rss: 733},
	}, 2)
	a := finalreport.Analyze(merged(map[string]*result.Result{"latency": latency}))
	f := findingWith(t, a.Findings, "latency: TTFT")
	if !strings.HasPrefix(f, "latency: TTFT falls as the prompt grows") || strings.Contains(f, "TTFT grows") {
		t.Errorf("finding %q, want TTFT falling", f)
	}
}

// Leak steps and the reason of an inconclusive verdict reach phase 5;
// so does a saturation the interval could not call. Both are the memory
// and throughput phases' own findings (host/internal/report's), tagged
// with the phase, not a second wording of them.
func TestPhase5LeakStepsAndUndecidedSaturation(t *testing.T) {
	memory := fixtureResult("phase3-memory", "2026-01-28T17:40:11Z", []caseSpec{
		{id: "p128-n64-b1", prompt: 128, newTok: 64, batch: 1, streams: 1, runs: 12, ttft: 62, decode: 30, ttftNoise: 0.01, decodeNoise: 0.01, rss: 706},
	}, 3)
	memory.Memory = &result.Memory{Leak: []result.Leak{
		{Case: "p128-n64-b1", RSSAfter: make([]int64, 60), SkipRuns: 5, Slope: 1000, SlopeCI: [2]float64{-500, 2500}, Threshold: 64 << 10, Verdict: "no leak",
			Steps: []result.LeakStep{{Run: 30, Bytes: 8 << 20}}},
		{Case: "p512-n128-b1", RSSAfter: make([]int64, 12), SkipRuns: 5, Threshold: 64 << 10, Verdict: "inconclusive",
			Reason: "7 valid runs after skipping the first 5; the leak check needs at least 10 — add runs"},
	}}
	throughput := fixtureResult("phase4-throughput", "2026-01-28T17:55:40Z", nil, 4)
	throughput.Throughput = &result.Throughput{SaturationGain: 0.1, Undecided: "beyond b2-s1 throughput gains +5 % [-9 %, +19 %], whose 95 % interval reaches the 10 % saturation gain — add runs to tell saturation from noise",
		Points: []result.ThroughputPoint{{Case: "b1-s1", Batch: 1, Streams: 1, Concurrency: 1, OutputTPS: 30}, {Case: "b2-s1", Batch: 2, Streams: 1, Concurrency: 2, OutputTPS: 50, Gain: 0.67},
			{Case: "b4-s1", Batch: 4, Streams: 1, Concurrency: 4, OutputTPS: 52.5, Gain: 0.05}}}
	a := finalreport.Analyze(merged(map[string]*result.Result{"memory": memory, "throughput": throughput}))
	if f := findingWith(t, a.Findings, "memory: Leak check at p128-n64-b1"); !strings.Contains(f, "steps, apart from the slope: +8.00 MiB at run 30") {
		t.Errorf("finding %q lacks the step", f)
	}
	if f := findingWith(t, a.Findings, "memory: Leak check at p512-n128-b1"); !strings.Contains(f, "no interval") || !strings.Contains(f, "needs at least 10") {
		t.Errorf("finding %q lacks the reason", f)
	}
	findingWith(t, a.Recommendations, "Settle the leak check of p512-n128-b1: 7 valid runs")
	findingWith(t, a.Findings, "throughput: No saturation called: beyond b2-s1 throughput gains +5 %")
	for _, f := range a.Findings {
		if strings.HasPrefix(f, "Leak check") || strings.HasPrefix(f, "No saturation") {
			t.Errorf("finding %q: a second wording of the phase's own finding", f)
		}
	}
	for _, r := range a.Recommendations {
		if strings.Contains(r, "extend the batch/stream matrix") {
			t.Errorf("recommendation %q: the matrix already went past the gain; it needs runs", r)
		}
	}
}

// A merged result with no inputs renders every section with the sentence
// saying why it is empty, and nothing else.
func TestEmptyMergedResultSaysWhy(t *testing.T) {
	var b strings.Builder
	if err := finalreport.WriteMarkdown(&b, merged(nil)); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"## Headline figures per phase\n\nNo input holds measured cases.\n\n## Phase 1 against phase 2\n\nNeeds both the quick",
		"## Memory\n\nNeeds the memory result; it is missing.\n\n## Throughput\n\nNeeds the throughput result; it is missing.\n\n## Targets of all phases\n\nNo phase set a target.\n\n",
		"## Findings\n\nNo input holds data to draw findings from.\n\n## Recommendations\n\nNone: every check above came out clean.\n\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("markdown\n%s\nlacks %q", got, want)
		}
	}
}
