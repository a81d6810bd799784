package resulttest

import (
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// PlanHash is the plan hash of Whole and its Shards.
const PlanHash = "plan1:0123456789abcdef"

// ShardHosts are the machines Shards ran on, one per shard, and
// ShardPools their "pool" labels.
var (
	ShardHosts = []string{"cpu-a", "cpu-b", "gpu-1"}
	ShardPools = []string{"cpu", "cpu", "gpu"}
)

// judge evaluates the fixture's targets on r as the runner does, plus the
// jitter plugin's corpus-wide verdict.
func judge(r *result.Result) {
	r.Targets = nil
	for _, t := range Targets {
		tg := target.MustParse(t.Expr)
		tg.Case = t.Case
		r.Targets = append(r.Targets, target.Evaluate(tg, r)...)
	}
	r.Targets = append(r.Targets, result.Verdict{Target: "itl jitter below 8 % in every case", Metric: JitterMetric.ID,
		Statistic: "max", Op: "<", Threshold: 8, Observed: 9.8, Unit: "%", Message: "p512-n128-b1 peaks at 9.8 %", Source: "jitter"})
}

// Whole is Phase2 as one unsharded run of a plan with a hash records it:
// every case with its key.
func Whole() *result.Result {
	r := Phase2()
	r.PlanHash = PlanHash
	for i := range r.Cases {
		r.Cases[i].Key = "key-" + r.Cases[i].ID
	}
	judge(r)
	return r
}

// Shards cuts Whole into one shard per case (K/3), each on a host of its
// own (ShardHosts) with a pool label, judged by the targets as its own run
// would be — a shard without p128 fails "no case matches p128-*".
func Shards() []*result.Result {
	full := Whole()
	var plan []result.CaseRef
	for _, c := range full.Cases {
		plan = append(plan, result.CaseRef{ID: c.ID, Key: c.Key})
	}
	var out []*result.Result
	for k := range full.Cases {
		r := Whole()
		r.Cases = []result.Case{r.Cases[k]}
		r.Shard = &result.Shard{Index: k + 1, Count: len(plan), Cases: []string{plan[k].Key}, Plan: plan}
		r.Env.Hostname = ShardHosts[k]
		r.Labels = map[string]string{"pool": ShardPools[k]}
		r.Valid, r.Problems = r.Cases[0].Valid, nil
		if !r.Valid {
			r.Problems = []string{"a broken run"}
		}
		judge(r)
		out = append(out, r)
	}
	return out
}
