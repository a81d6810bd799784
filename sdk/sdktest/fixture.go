package sdktest

import (
	"fmt"
	"sort"

	"github.com/pipe-bench/pipe/sdk"
	"github.com/pipe-bench/pipe/sdk/schema"
)

// FixtureResult returns a small, deterministic result for plugin tests:
// two cases ("p16-n32-b1", "p64-n32-b1") of five runs of 32 tokens each.
// Run i of case k has TTFT 50 + 20k + i ms and gaps of 10 + 0.1·j ms
// (j = 0 … 30), so decode slows down along the run; the per-run values
// (ttft_ms, tpot_ms, itl_ms, e2e_ms) and their summaries are consistent with
// the arrays. It carries one passing and one failing built-in verdict.
func FixtureResult() *sdk.Result {
	r := &sdk.Result{
		Schema:   schema.Version,
		Pipeline: schema.PipelineInfo{Name: "fixture"},
		Valid:    true,
		Metrics:  schema.BuiltinMetrics,
	}
	for k, prompt := range []int{16, 64} {
		c := schema.Case{
			ID:     fmt.Sprintf("p%d-n32-b1", prompt),
			Params: schema.CaseParams{PromptTokens: prompt, NewTokens: 32, Batch: 1, Streams: 1},
			Stats:  map[string]schema.Summary{},
			Valid:  true,
		}
		for i := range 5 {
			ttft := 50 + 20*float64(k) + float64(i)
			tok := []float64{ttft}
			var itl []float64
			for j := range 31 {
				gap := 10 + 0.1*float64(j)
				itl = append(itl, gap)
				tok = append(tok, tok[len(tok)-1]+gap)
			}
			e2e := tok[len(tok)-1]
			c.Runs = append(c.Runs, schema.Run{
				Index: i,
				Values: map[string]float64{
					schema.TTFT: ttft,
					schema.E2E:  e2e,
					schema.TPOT: (e2e - ttft) / 31,
					schema.ITL:  (e2e - ttft) / 31,
				},
				ITLms:   itl,
				TokenMS: tok,
				Valid:   true,
			})
		}
		for _, id := range []string{schema.TTFT, schema.E2E, schema.TPOT, schema.ITL} {
			var xs []float64
			for _, run := range c.Runs {
				xs = append(xs, run.Values[id])
			}
			c.Stats[id] = summarize(xs)
		}
		r.Cases = append(r.Cases, c)
	}
	r.Targets = []schema.Verdict{
		{Target: "ttft_ms.p95 < 100ms", Metric: schema.TTFT, Statistic: "p95", Op: "<", Threshold: 100, Observed: r.Cases[1].Stats[schema.TTFT].P95, Unit: "ms", Pass: true, Source: "builtin"},
		{Target: "e2e_ms.p50 < 300ms", Metric: schema.E2E, Statistic: "p50", Op: "<", Threshold: 300, Observed: r.Cases[1].Stats[schema.E2E].P50, Unit: "ms", Pass: false, Source: "builtin",
			Message: "e2e_ms p50 is above 300 ms"},
	}
	return r
}

// summarize is a plain nearest-rank summary; fixtures need no more.
func summarize(xs []float64) schema.Summary {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return schema.Summary{N: len(s), Mean: sum / float64(len(s)), Min: s[0], Max: s[len(s)-1],
		P50: rank(0.5), P90: rank(0.9), P95: rank(0.95), P99: rank(0.99)}
}
