// Package measure turns a generation Trace into the built-in metrics of one
// run and checks the run's invariants. It takes a stand on definitions: the
// formulas are those printed in every report (metric.Builtin), computed from
// the Trace's monotonic timestamps alone, and a run that breaks an invariant
// (E2E < TTFT, a wrong token count, timestamps going backwards) is kept but
// marked invalid with the reason — never silently dropped or repaired.
package measure

import (
	"fmt"
	"math"
	"time"

	"github.com/pipe-bench/pipe/host/internal/gen"
	"github.com/pipe-bench/pipe/host/internal/metric"
)

// Run is what one trace yields.
type Run struct {
	Values   map[string]float64
	ITLms    []float64 // the n − 1 gaps, ms
	TokenMS  []float64 // each token's time since request start, ms
	Problems []string  // broken invariants; empty means valid
}

// Valid reports whether every invariant held.
func (r Run) Valid() bool { return len(r.Problems) == 0 }

// Expect says what the request asked for, to check the trace against.
type Expect struct {
	NewTokens int
	Batch     int
	StopAtEOS bool
}

const nsPerMS = 1e6

// FromTrace computes the built-in metrics of one run. Memory metrics are
// added by the caller (they come from the sampler, not the trace).
func FromTrace(tr *gen.Trace, want Expect) Run {
	var r Run
	bad := func(format string, a ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, a...)) }
	n := len(tr.TokenNS)
	if want.Batch < 1 {
		want.Batch = 1
	}
	if !want.StopAtEOS && n != want.NewTokens {
		bad("generated %d tokens, %d asked", n, want.NewTokens)
	}
	if len(tr.OutputIDs) != want.Batch {
		bad("%d output rows, batch %d", len(tr.OutputIDs), want.Batch)
	}
	for i, row := range tr.OutputIDs {
		if !want.StopAtEOS && len(row) != want.NewTokens {
			bad("row %d has %d tokens, %d asked", i, len(row), want.NewTokens)
		}
	}
	r.Values = map[string]float64{}
	if n == 0 {
		bad("no token generated")
		return r
	}
	r.TokenMS = make([]float64, n)
	for i, t := range tr.TokenNS {
		r.TokenMS[i] = float64(t) / nsPerMS
		if t <= 0 {
			bad("token %d at %d ns: not after the request start", i, t)
		}
		if i > 0 && t < tr.TokenNS[i-1] {
			bad("timestamps go backwards at token %d", i)
		}
	}
	ttft := r.TokenMS[0]
	e2e := r.TokenMS[n-1]
	if last, first := tr.TokenNS[n-1], tr.TokenNS[0]; last < first {
		bad("E2E %v < TTFT %v", time.Duration(last), time.Duration(first))
	}
	if tr.TokenizeNS < 0 || tr.TokenizeNS > tr.TokenNS[0] {
		bad("tokenization %d ns outside [0, TTFT]", tr.TokenizeNS)
	}
	r.ITLms = make([]float64, 0, n-1)
	for i := 1; i < n; i++ {
		r.ITLms = append(r.ITLms, r.TokenMS[i]-r.TokenMS[i-1])
	}
	if len(r.ITLms) != n-1 {
		bad("%d inter-token gaps for %d tokens", len(r.ITLms), n)
	}
	v := r.Values
	v[metric.TTFT] = ttft
	v[metric.E2E] = e2e
	v[metric.TokenizeMS] = float64(tr.TokenizeNS) / nsPerMS
	if n > 1 && e2e > ttft {
		v[metric.TPOT] = (e2e - ttft) / float64(n-1)
		v[metric.ITL] = mean(r.ITLms)
		v[metric.DecodeTPS] = float64(n-1) / ((e2e - ttft) / 1e3)
	}
	if p := maxInt(tr.PromptTokens); p > 0 && ttft > 0 {
		v[metric.PrefillTPS] = float64(p) / (ttft / 1e3)
	}
	if e2e > 0 {
		v[metric.OutputTPS] = float64(n*want.Batch) / (e2e / 1e3)
	}
	if len(tr.RunNS) > 0 && e2e > 0 {
		var inRun int64
		for _, d := range tr.RunNS {
			inRun += d
		}
		v[metric.OutsideRun] = math.Max(0, 100*(e2e-float64(inRun)/nsPerMS)/e2e)
	}
	return r
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
