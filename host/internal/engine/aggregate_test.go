package engine

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/metric"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/stats"
)

// gapGen returns scripted traces: TTFT 20 ms, then the gaps (ms) of
// gaps[call % len(gaps)].
type gapGen struct {
	gaps  [][]float64
	calls int
}

func (g *gapGen) Generate(ctx context.Context, req gen.Request) (*gen.Trace, error) {
	gaps := g.gaps[g.calls%len(g.gaps)]
	g.calls++
	tr := &gen.Trace{TokenizeNS: req.TokenizeNS}
	for _, p := range req.Prompts {
		tr.PromptTokens = append(tr.PromptTokens, len(p))
		tr.OutputIDs = append(tr.OutputIDs, make([]int64, len(gaps)+1))
	}
	t := 20 * time.Millisecond
	tr.TokenNS = append(tr.TokenNS, int64(t))
	for _, gap := range gaps {
		t += time.Duration(gap * float64(time.Millisecond))
		tr.TokenNS = append(tr.TokenNS, int64(t))
	}
	return tr, nil
}

func (g *gapGen) Info() gen.Info {
	return gen.Info{Model: "gaps", Vocab: 1000, MaxPositions: 1024, Runtime: "fake 0"}
}
func (g *gapGen) Close() error { return nil }

// TestITLPercentilesAreOfGaps: itl_ms.p99 is the p99 of every token gap of
// the case's runs. Four runs of eight gaps, each with one 50 ms stall:
// numpy's np.percentile(all 32 gaps, 99) is 50, np.percentile(gaps, 50)
// 10.5, the mean 15.421875; the p99 of the per-run mean gaps, which the
// engine reported before issue 9, is 15.498. TPOT stays a per-run mean.
func TestITLPercentilesAreOfGaps(t *testing.T) {
	var scripts [][]float64
	for call := range 4 {
		g := make([]float64, 8)
		for i := range g {
			g[i] = 10 + 0.5*float64((call+i)%3)
		}
		g[(call*3)%8] = 50
		scripts = append(scripts, g)
	}
	p := plan(pipeline.CaseSpec{ID: "c", PromptTokens: 4, NewTokens: 9})
	p.Warmup.Runs = 0
	p.Generate.Runs = 4
	res, err := Run(context.Background(), p, &gapGen{gaps: scripts}, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	itl := res.Cases[0].Stats[metric.ITL]
	for name, gw := range map[string][2]float64{"p99": {itl.P99, 50}, "p50": {itl.P50, 10.5}, "mean": {itl.Mean, 15.421875}, "max": {itl.Max, 50}} {
		if math.Abs(gw[0]-gw[1]) > 1e-6 {
			t.Errorf("itl_ms %s = %v, want %v (numpy, over all 32 gaps)", name, gw[0], gw[1])
		}
	}
	if itl.N != 32 || itl.Runs != 4 {
		t.Errorf("itl_ms over n = %d values from %d runs, want 32 from 4", itl.N, itl.Runs)
	}
	if !(itl.P95CI[0] <= itl.P95 && itl.P95 <= itl.P95CI[1]) || !(itl.MeanCI[0] < itl.Mean && itl.Mean < itl.MeanCI[1]) {
		t.Errorf("intervals do not bracket their estimates: mean %v %v, p95 %v %v", itl.Mean, itl.MeanCI, itl.P95, itl.P95CI)
	}
	if tpot := res.Cases[0].Stats[metric.TPOT]; tpot.N != 4 || tpot.Runs != 0 {
		t.Errorf("tpot_ms over %d values (runs field %d), want the 4 per-run means", tpot.N, tpot.Runs)
	}
}

// TestOutlierWarningNamesOnlyWhatWasMeasured: a slow run is blamed on
// other processes or on the hypervisor only when the case measured them;
// otherwise the warning says the cause was not measured. Before issue 9
// every warning blamed "a background process or a cold cache".
func TestOutlierWarningNamesOnlyWhatWasMeasured(t *testing.T) {
	ttft := []float64{100, 101, 99, 100.5, 99.5, 100, 101, 400}
	for _, tc := range []struct {
		foreign, steal float64
		want           string
	}{
		{0.02, 0, "cause not measured (other processes 0.02 cores, steal 0.00 cores)"},
		{0.9, 0, "other processes used 0.90 cores during the case"},
		{0.01, 0.5, "the hypervisor stole 0.50 cores (steal time)"},
	} {
		c := &result.Case{ID: "c", Valid: true, ForeignCPU: tc.foreign, StealCPU: tc.steal}
		for i, v := range ttft {
			c.Runs = append(c.Runs, result.Run{Index: i, Valid: true, Values: map[string]float64{metric.TTFT: v}})
		}
		aggregate(c, pipeline.AggregateSpec{OutlierZ: stats.DefaultOutlierZ})
		if len(c.Warnings) != 1 {
			t.Fatalf("warnings %q, want one for the 400 ms run", c.Warnings)
		}
		w := c.Warnings[0]
		if !strings.HasPrefix(w, "ttft_ms: 1 of 8 runs are outliers (") || !strings.HasSuffix(w, "; "+tc.want) || strings.Contains(w, "background") {
			t.Errorf("warning %q, want the outlier count and %q", w, tc.want)
		}
	}
}

// TestPrecisionStopWidensTheMeanInterval: a case the adaptive rule stopped
// early reports its mean's interval at stats.AdaptiveMeanLevel (the plain
// 95 % t-interval covers only ≈ 0.92 after such a stop); a fixed-count
// case keeps the plain one.
func TestPrecisionStopWidensTheMeanInterval(t *testing.T) {
	noisy := func(call int) time.Duration { return time.Duration(100+call%3) * time.Millisecond }
	for _, tc := range []struct {
		name     string
		generate pipeline.GenerateSpec
		early    bool
	}{
		{"adaptive, stopped early", pipeline.GenerateSpec{MinRuns: 5, MaxRuns: 40, StopMetric: metric.TTFT, StopRelCI: 0.05}, true},
		{"fixed runs", pipeline.GenerateSpec{Runs: 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(pipeline.CaseSpec{ID: "c", PromptTokens: 4, NewTokens: 4})
			p.Warmup.Runs = 0
			p.Generate = tc.generate
			res, err := Run(context.Background(), p, &fakeGen{ttft: noisy, gap: time.Millisecond}, Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			c := res.Cases[0]
			if c.PrecisionStop != tc.early || len(c.Runs) != 5 {
				t.Fatalf("precision stop %v after %d runs, want %v after 5", c.PrecisionStop, len(c.Runs), tc.early)
			}
			level := 0.0
			if tc.early {
				level = stats.AdaptiveMeanLevel
			}
			want := stats.SummarizeWith(values(c.Runs, metric.TTFT), stats.Options{MeanLevel: level}).MeanCI
			if got := c.Stats[metric.TTFT].MeanCI; got != want {
				t.Errorf("ttft mean CI %v, want %v (level %v)", got, want, level)
			}
		})
	}
}
