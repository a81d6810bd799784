package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/measure"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
)

// fakeGen returns synthetic traces: TTFT = ttft, then one token per gap.
// It never sleeps; timestamps are made up, which is what lets these tests
// check the engine's bookkeeping exactly.
type fakeGen struct {
	mu         sync.Mutex
	calls      int
	ttft       func(call int) time.Duration
	gap        time.Duration
	broken     func(call int) bool // E2E < TTFT on these calls
	onCall     func(call int)
	concurrent bool
}

func (f *fakeGen) Generate(ctx context.Context, req gen.Request) (*gen.Trace, error) {
	f.mu.Lock()
	call := f.calls
	f.calls++
	f.mu.Unlock()
	if f.onCall != nil {
		f.onCall(call)
	}
	tr := &gen.Trace{TokenizeNS: req.TokenizeNS}
	for _, p := range req.Prompts {
		tr.PromptTokens = append(tr.PromptTokens, len(p))
		tr.OutputIDs = append(tr.OutputIDs, make([]int64, req.NewTokens))
	}
	t := f.ttft(call)
	for i := 0; i < req.NewTokens; i++ {
		tr.TokenNS = append(tr.TokenNS, int64(t)+int64(i)*int64(f.gap))
	}
	if f.broken != nil && f.broken(call) && len(tr.TokenNS) > 1 {
		tr.TokenNS[len(tr.TokenNS)-1] = tr.TokenNS[0] - 1
	}
	return tr, nil
}

func (f *fakeGen) Info() gen.Info {
	return gen.Info{Model: "fake", Vocab: 1000, MaxPositions: 1024, Runtime: "fake 0"}
}
func (f *fakeGen) Close() error         { return nil }
func (f *fakeGen) ConcurrentSafe() bool { return f.concurrent }

func constTTFT(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

func plan(cases ...pipeline.CaseSpec) *pipeline.Plan {
	return &pipeline.Plan{
		Name:     "test",
		Cases:    cases,
		Warmup:   pipeline.WarmupSpec{Runs: 1},
		Generate: pipeline.GenerateSpec{Runs: 3},
	}
}

func readJournal(t *testing.T, dir string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, JournalName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestRunJournalsEveryRunAndMarksWarmups(t *testing.T) {
	dir := t.TempDir()
	g := &fakeGen{ttft: constTTFT(100 * time.Millisecond), gap: 10 * time.Millisecond}
	p := plan(pipeline.CaseSpec{ID: "p8-n4", PromptTokens: 8, NewTokens: 4}, pipeline.CaseSpec{ID: "p16-n4", PromptTokens: 16, NewTokens: 4})
	res, err := Run(context.Background(), p, g, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	lines := readJournal(t, dir)
	if got, want := len(lines), 1+2*(1+3)+1; got != want {
		t.Fatalf("journal has %d lines, want %d (header + 2 cases × (1 warmup + 3 runs) + end)", got, want)
	}
	if typ := lines[len(lines)-1]["type"]; typ != journalEnd {
		t.Errorf("the last line is of type %v, want %q: the run ran every case", typ, journalEnd)
	}
	warm := 0
	for _, l := range lines[1:] {
		if l["warmup"] == true {
			warm++
		}
	}
	if warm != 2 {
		t.Errorf("%d warmup lines, want 2", warm)
	}
	if len(res.Cases) != 2 || len(res.Cases[0].Runs) != 3 {
		t.Fatalf("result has %d cases / %d runs, want 2 / 3", len(res.Cases), len(res.Cases[0].Runs))
	}
	s := res.Cases[0].Stats[metric.TTFT]
	if s.N != 3 || s.Mean != 100 {
		t.Errorf("ttft summary n=%d mean=%v, want 3 and 100 ms", s.N, s.Mean)
	}
	if d := res.Cases[0].Stats[metric.DecodeTPS].Mean; d < 99.99 || d > 100.01 {
		t.Errorf("decode tok/s %v, want 100 (10 ms gaps)", d)
	}
	if !res.Valid {
		t.Errorf("result invalid: %v", res.Problems)
	}
}

func TestBrokenInvariantMarksResultInvalid(t *testing.T) {
	g := &fakeGen{ttft: constTTFT(50 * time.Millisecond), gap: time.Millisecond, broken: func(call int) bool { return call == 2 }}
	res, err := Run(context.Background(), plan(pipeline.CaseSpec{ID: "c", PromptTokens: 4, NewTokens: 8}), g, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid {
		t.Fatal("result valid although run 2 had E2E < TTFT")
	}
	if !strings.Contains(strings.Join(res.Problems, "; "), "E2E 49.999999ms < TTFT 50ms") {
		t.Errorf("problems %q do not name the E2E < TTFT invariant", res.Problems)
	}
	if n := res.Cases[0].Stats[metric.TTFT].N; n != 2 {
		t.Errorf("statistics over %d runs, want 2 (the invalid run excluded)", n)
	}
}

func TestAdaptiveRunCount(t *testing.T) {
	tests := []struct {
		name string
		ttft func(int) time.Duration
		want int
	}{
		{"steady stops at min runs", constTTFT(100 * time.Millisecond), 5},
		{"noisy runs to max", func(call int) time.Duration { return time.Duration(1+call%2*9) * 100 * time.Millisecond }, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(pipeline.CaseSpec{ID: "c", PromptTokens: 4, NewTokens: 4})
			p.Warmup.Runs = 0
			p.Generate = pipeline.GenerateSpec{MinRuns: 5, MaxRuns: 12, StopMetric: metric.TTFT, StopRelCI: 0.05}
			res, err := Run(context.Background(), p, &fakeGen{ttft: tc.ttft, gap: time.Millisecond}, Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Cases[0].Runs); got != tc.want {
				t.Errorf("%d runs, want %d", got, tc.want)
			}
		})
	}
}

// TestAdaptiveStopWithStreams: with concurrent streams each stream checks
// the shared stop rule before issuing its next run, so a steady case stops
// once the rule is met (at min_runs, plus at most the runs already in flight
// on the other streams) instead of running to max_runs.
func TestAdaptiveStopWithStreams(t *testing.T) {
	const streams, minRuns, maxRuns = 4, 5, 40
	p := plan(pipeline.CaseSpec{ID: "s4", PromptTokens: 4, NewTokens: 4, Streams: streams})
	p.Warmup.Runs = 0
	p.Generate = pipeline.GenerateSpec{MinRuns: minRuns, MaxRuns: maxRuns, StopMetric: metric.TTFT, StopRelCI: 0.05}
	g := &fakeGen{ttft: constTTFT(100 * time.Millisecond), gap: time.Millisecond, concurrent: true}
	res, err := Run(context.Background(), p, g, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cases[0]
	if n := len(c.Runs); n < minRuns || n > minRuns+streams-1 {
		t.Fatalf("%d runs, want %d to %d: the stop rule is met at %d and at most %d runs are then in flight (max_runs %d)", n, minRuns, minRuns+streams-1, minRuns, streams-1, maxRuns)
	}
	if !c.PrecisionStop {
		t.Error("the case is not marked as stopped by the precision rule")
	}
	for i, r := range c.Runs {
		if r.Index != i {
			t.Errorf("run %d has index %d: every issued run finishes and is kept", i, r.Index)
		}
	}
	if g.calls != len(c.Runs) {
		t.Errorf("the generator was called %d times for %d kept runs", g.calls, len(c.Runs))
	}
}

func TestInterruptKeepsFinishedRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	g := &fakeGen{ttft: constTTFT(time.Millisecond), gap: time.Millisecond, onCall: func(call int) {
		if call == 3 { // warmup + 2 runs done, the third run is in flight
			cancel()
		}
	}}
	p := plan(pipeline.CaseSpec{ID: "c", PromptTokens: 4, NewTokens: 4})
	p.Generate.Runs = 10
	dir := t.TempDir()
	res, err := Run(ctx, p, g, Options{Dir: dir})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := len(res.Cases[0].Runs); got != 3 {
		t.Errorf("%d runs kept, want 3 (the one in flight finishes)", got)
	}
	if got := len(readJournal(t, dir)); got != 1+1+3 {
		t.Errorf("journal has %d lines, want 5", got)
	}
	if len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "interrupted") {
		t.Errorf("errors %q do not say the run was interrupted", res.Errors)
	}
}

func TestContextOverflowIsRefused(t *testing.T) {
	_, err := Run(context.Background(), plan(pipeline.CaseSpec{ID: "big", PromptTokens: 1000, NewTokens: 100}), &fakeGen{ttft: constTTFT(1), gap: 1}, Options{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "1000") || !strings.Contains(err.Error(), "1024") {
		t.Fatalf("err = %v, want a message naming 1000 + 100 and the model's 1024 positions", err)
	}
}

func TestStreams(t *testing.T) {
	p := plan(pipeline.CaseSpec{ID: "s4", PromptTokens: 4, NewTokens: 4, Streams: 4})
	p.Generate.Runs = 8
	res, err := Run(context.Background(), p, &fakeGen{ttft: constTTFT(time.Millisecond), gap: time.Millisecond, concurrent: true}, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cases[0]
	if len(c.Runs) != 8 {
		t.Fatalf("%d runs, want 8", len(c.Runs))
	}
	for i, r := range c.Runs {
		if r.Index != i {
			t.Errorf("run %d has index %d", i, r.Index)
		}
	}
	// The engine measures the case's peak; throughput.output_tps is the
	// runner's (analysis.CaseThroughput, one definition with the curve).
	if _, ok := c.Values["throughput.peak_rss_mib"]; !ok {
		t.Errorf("no case peak RSS: %v", c.Values)
	}
	_, err = Run(context.Background(), p, &fakeGen{ttft: constTTFT(1), gap: 1}, Options{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "streams") {
		t.Errorf("err = %v, want a refusal of streams on a non-concurrent generator", err)
	}
}

// failingMeasurer stands in for a plugin that fails its stage.
type failingMeasurer struct{}

func (failingMeasurer) Name() string { return "broken" }
func (failingMeasurer) Metrics() []metric.Def {
	return []metric.Def{{ID: "broken.x", Unit: "1", Better: metric.Lower}}
}
func (failingMeasurer) Measure(context.Context, *result.Case) error { return errors.New("boom") }

func TestFailingMeasurerKeepsBuiltins(t *testing.T) {
	res, err := Run(context.Background(), plan(pipeline.CaseSpec{ID: "c", PromptTokens: 4, NewTokens: 4}), &fakeGen{ttft: constTTFT(time.Millisecond), gap: time.Millisecond}, Options{Dir: t.TempDir(), Measurers: []Measurer{measure.Builtin{}, failingMeasurer{}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "broken") || !strings.Contains(res.Errors[0], "boom") {
		t.Errorf("errors %q, want the plugin's failure", res.Errors)
	}
	if res.Cases[0].Stats[metric.TTFT].N != 3 {
		t.Error("built-in statistics missing after a plugin failure")
	}
}

// threadedGen is a fakeGen that reports its intra-op threads.
type threadedGen struct {
	fakeGen
	threads int
}

func (g *threadedGen) Info() gen.Info {
	i := g.fakeGen.Info()
	i.Threads.IntraOp = g.threads
	return i
}

func TestThreadsAxisUsesASessionPerThreadCount(t *testing.T) {
	p := plan(pipeline.CaseSpec{ID: "t1", PromptTokens: 4, NewTokens: 4, Threads: 1}, pipeline.CaseSpec{ID: "t2", PromptTokens: 4, NewTokens: 4, Threads: 2}, pipeline.CaseSpec{ID: "model", PromptTokens: 4, NewTokens: 4})
	main := &threadedGen{fakeGen: fakeGen{ttft: constTTFT(time.Millisecond), gap: time.Millisecond}, threads: 2}
	one := &threadedGen{fakeGen: fakeGen{ttft: constTTFT(time.Millisecond), gap: time.Millisecond}, threads: 1}
	var asked []int
	res, err := Run(context.Background(), p, main, Options{Dir: t.TempDir(), ForThreads: func(n int) (gen.Generator, error) {
		asked = append(asked, n)
		return one, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != 1 {
		t.Errorf("ForThreads asked for %v, want [1] (2 is the model's own count)", asked)
	}
	for i, want := range []int{1, 2, 2} {
		if got := res.Cases[i].Params.Threads; got != want {
			t.Errorf("case %s ran with %d threads, want %d", res.Cases[i].ID, got, want)
		}
	}
	if one.calls != 4 || main.calls != 8 {
		t.Errorf("calls: 1-thread session %d, model session %d; want 4 and 8 (1 warmup + 3 runs per case)", one.calls, main.calls)
	}
	if _, err := Run(context.Background(), p, main, Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "threads = 1") {
		t.Errorf("err = %v, want a refusal naming threads = 1", err)
	}
}

func TestMeasureKeepsTheAskedMetrics(t *testing.T) {
	p := plan(pipeline.CaseSpec{ID: "c", PromptTokens: 4, NewTokens: 4})
	p.Measure.Metrics = []string{metric.TTFT, metric.DecodeTPS}
	res, err := Run(context.Background(), p, &fakeGen{ttft: constTTFT(time.Millisecond), gap: time.Millisecond}, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for id := range res.Cases[0].Stats {
		got = append(got, id)
	}
	if len(got) != 2 || res.Cases[0].Stats[metric.TTFT].N != 3 || res.Cases[0].Stats[metric.DecodeTPS].N != 3 {
		t.Errorf("statistics for %v, want exactly ttft_ms and decode_tps", got)
	}
}
