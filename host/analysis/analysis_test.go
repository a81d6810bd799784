package analysis

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/engine"
	"github.com/pipe-bench/pipe/host/gen"
	"github.com/pipe-bench/pipe/host/metric"
	"github.com/pipe-bench/pipe/host/pipeline"
	"github.com/pipe-bench/pipe/host/result"
	"github.com/pipe-bench/pipe/host/stats"
)

// caseWithRSS builds a case whose run i left rss(i) bytes resident.
func caseWithRSS(n int, rss func(i int) float64) *result.Case {
	c := &result.Case{ID: "c"}
	for i := 0; i < n; i++ {
		c.Runs = append(c.Runs, result.Run{Index: i, Valid: true, Values: map[string]float64{metric.RSSAfterRun: rss(i) / (1 << 20)}})
	}
	return c
}

func TestLeakVerdicts(t *testing.T) {
	const base = 500 << 20
	noise := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		c    *result.Case
		want string
	}{
		{"1 MiB per run", caseWithRSS(100, func(i int) float64 { return base + float64(i)*(1<<20) + noise.NormFloat64()*(256<<10) }), Leak},
		{"flat with noise", caseWithRSS(100, func(i int) float64 { return base + noise.NormFloat64()*(256<<10) }), NoLeak},
		{"slope at the threshold", caseWithRSS(100, func(i int) float64 { return base + float64(i)*(64<<10) + noise.NormFloat64()*(4<<20) }), Inconclusive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := LeakOf(tc.c, 64<<10, 5)
			if err != nil {
				t.Fatal(err)
			}
			if l.Verdict != tc.want {
				t.Errorf("verdict %q (slope %.0f B/run, CI %.0f…%.0f), want %q", l.Verdict, l.Slope, l.SlopeCI[0], l.SlopeCI[1], tc.want)
			}
			if len(l.RSSAfter) != 100 {
				t.Errorf("series has %d points, want 100", len(l.RSSAfter))
			}
		})
	}
	if _, err := LeakOf(caseWithRSS(8, func(int) float64 { return base }), 1, 0); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Errorf("err = %v, want too few runs", err)
	}
}

// leakyGen retains every buffer it allocates: a deliberate leak of
// perCall bytes per request, touched so it is resident.
type leakyGen struct {
	perCall  int
	retained [][]byte
}

func (g *leakyGen) Generate(_ context.Context, req gen.Request) (*gen.Trace, error) {
	if g.perCall > 0 {
		b := make([]byte, g.perCall)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		g.retained = append(g.retained, b)
	}
	tr := &gen.Trace{PromptTokens: []int{len(req.Prompts[0])}, OutputIDs: [][]int64{make([]int64, req.NewTokens)}}
	for i := range req.NewTokens {
		tr.TokenNS = append(tr.TokenNS, int64(time.Millisecond)*int64(i+1))
	}
	return tr, nil
}
func (g *leakyGen) Info() gen.Info { return gen.Info{Vocab: 100, MaxPositions: 100} }
func (g *leakyGen) Close() error   { return nil }

func TestLeakDetectorOnEngine(t *testing.T) {
	for _, tc := range []struct {
		perCall int
		want    string
	}{{4 << 20, Leak}, {0, NoLeak}} {
		p := &pipeline.Plan{Name: "leak", Cases: []pipeline.CaseSpec{{ID: "c", PromptTokens: 4, NewTokens: 4}}, Generate: pipeline.GenerateSpec{Runs: 40}}
		res, err := engine.Run(context.Background(), p, &leakyGen{perCall: tc.perCall}, engine.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		l, err := LeakOf(&res.Cases[0], 1<<20, 5)
		if err != nil {
			t.Fatal(err)
		}
		if l.Verdict != tc.want {
			t.Errorf("retaining %d B/run: verdict %q (slope %.0f B/run, CI %.0f…%.0f), want %q", tc.perCall, l.Verdict, l.Slope, l.SlopeCI[0], l.SlopeCI[1], tc.want)
		}
	}
}

func TestThroughputSaturation(t *testing.T) {
	mk := func(id string, batch, streams int, tps float64) result.Case {
		return result.Case{ID: id, Params: result.CaseParams{Batch: batch, Streams: streams},
			Values: map[string]float64{"throughput.output_tps": tps, "throughput.requests_ps": tps / 64},
			Stats:  map[string]stats.Summary{metric.TTFT: {P50: 100 * float64(batch*streams)}}}
	}
	cases := []result.Case{mk("b4", 4, 1, 80), mk("b1", 1, 1, 30), mk("b2", 2, 1, 55), mk("b8", 8, 1, 84), mk("s2", 1, 2, 50)}
	tp := ThroughputOf(cases, 0.10, 2, 1)
	var order []string
	for _, p := range tp.Points {
		order = append(order, p.Case)
	}
	if got := strings.Join(order, ","); got != "b1,b2,s2,b4,b8" {
		t.Errorf("order %s, want by concurrency then streams", got)
	}
	// s2 is slower than its sibling b2 at the same concurrency, which is
	// no saturation: b4 still gains 45 %; b8 gains 5 % over b4.
	if tp.Saturation != "b4" {
		t.Errorf("saturation at %q, want b4 (b8 gains 5 %% over it)", tp.Saturation)
	}
	for _, p := range tp.Points {
		if p.Case == "s2" && (p.Gain < 0.66 || p.Gain > 0.67) {
			t.Errorf("s2 gain %.3f, want 50/30 − 1 (over the best at lower concurrency)", p.Gain)
		}
	}
	if sat := ThroughputOf(cases[:2], 0.10, 2, 1).Saturation; sat != "" {
		t.Errorf("saturation %q over b4, b1 alone: want none (the last level has nothing beyond it)", sat)
	}
	if len(tp.Warnings) != 0 {
		t.Errorf("warnings %q with 1 thread × ≤ 2 streams on 2 cores", tp.Warnings)
	}
	if w := ThroughputOf(cases, 0.10, 2, 2).Warnings; len(w) != 1 || !strings.Contains(w[0], "1 of 5 cases") || !strings.Contains(w[0], "s2 (4 threads)") {
		t.Errorf("warnings %q, want one for s2: 2 streams × 2 threads on 2 cores", w)
	}
}
