// Package shard splits a plan's cases into N parts for N machines (pipe run
// --shard K/N) and reads K and N from the scheduler that started the
// process (--shard auto): a Kubernetes Indexed Job, a Slurm job array, a
// GitLab or CircleCI parallel job.
//
// It takes a stand on stability over perfect balance. Each case is placed
// by its key (pipeline.CaseSpec.Key, its own parameters): the cases are
// taken in decreasing estimated cost, and each goes to the first shard in
// its own rendezvous order (the shards ranked by a hash of the case key and
// the shard number) that stays within a load bound — Slack × the mean load,
// or the largest case when that is more — and, when no shard has room, to
// the least loaded one. A case's preferred shards depend on nothing but its
// key and N, so adding a case moves only the cases the newcomer displaces
// from a full shard; LPT (each case to the least loaded shard), the
// classical balanced partition, reshuffles every case after the newcomer's
// place in the cost order. RATIONALE.md has the balance and the moves on
// the shipped pipelines.
//
// The cost estimate is what a case makes the model compute, from the plan
// alone: (prompt tokens + new tokens) × batch × (warmup runs + measured
// runs), where the measured runs are generate.runs, or max_runs for an
// adaptive count (the most it can take). Streams share those runs, so they
// do not multiply them. Prefill tokens cost less than decode steps on most
// machines; the estimate ignores that, and ignores the model (every case
// of a plan runs the same one).
package shard

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/target"
)

// Slack is how far above the mean load a shard may be filled before a case
// goes to a shard further down its preference order.
const Slack = 1.10

// Spec is shard K of N, 1-based.
type Spec struct {
	Index, Count int
	// Source names where K and N came from: "--shard" or the scheduler's
	// variables (e.g. "JOB_COMPLETION_INDEX, PIPE_SHARD_COUNT").
	Source string
}

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// MaxCount bounds N: more shards than a plan may have cases
// (pipeline.MaxCases) would all but a few be empty.
const MaxCount = pipeline.MaxCases

// Parse reads the --shard argument: "K/N" with 1 ≤ K ≤ N ≤ MaxCount.
func Parse(arg string) (Spec, error) {
	k, n, ok := strings.Cut(strings.TrimSpace(arg), "/")
	if !ok {
		return Spec{}, fmt.Errorf("--shard %q: want K/N (shard K of N, 1-based, e.g. --shard 2/4) or auto", arg)
	}
	ki, kerr := strconv.Atoi(strings.TrimSpace(k))
	ni, nerr := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case kerr != nil || nerr != nil:
		return Spec{}, fmt.Errorf("--shard %q: K and N must be whole numbers (e.g. --shard 2/4)", arg)
	case ni < 1:
		return Spec{}, fmt.Errorf("--shard %q: N must be at least 1", arg)
	case ni > MaxCount:
		return Spec{}, fmt.Errorf("--shard %q: N must be at most %d, the most cases a plan may have", arg, MaxCount)
	case ki < 1 || ki > ni:
		return Spec{}, fmt.Errorf("--shard %q: K must be within 1..%d (K is 1-based)", arg, ni)
	}
	return Spec{Index: ki, Count: ni, Source: "--shard"}, nil
}

// Cost is the case's estimated cost (see the package doc).
func Cost(plan *pipeline.Plan, c pipeline.CaseSpec) float64 {
	runs := plan.Generate.Runs
	if plan.Generate.MaxRuns > 0 {
		runs = plan.Generate.MaxRuns
	}
	return float64(c.PromptTokens+c.NewTokens) * float64(max(c.Batch, 1)) * float64(plan.Warmup.Runs+max(runs, 1))
}

// Partition assigns every case of plan to one of n shards: the result's
// [i] holds the indices (into plan.Cases, ascending) of shard i+1's cases.
// It is deterministic: the same cases and n give the same partition on
// every machine.
func Partition(plan *pipeline.Plan, n int) [][]int {
	out := make([][]int, n)
	if n < 1 {
		return nil
	}
	type item struct {
		i    int
		key  string
		cost float64
	}
	items := make([]item, len(plan.Cases))
	total, largest := 0.0, 0.0
	for i, c := range plan.Cases {
		items[i] = item{i, c.Key(), Cost(plan, c)}
		total += items[i].cost
		largest = max(largest, items[i].cost)
	}
	bound := max(Slack*total/float64(n), largest)
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(b.cost, a.cost); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	load := make([]float64, n)
	weight := make([]uint64, n)
	for _, it := range items {
		weights(it.key, weight)
		pick := firstFit(weight, load, it.cost, bound)
		if pick < 0 {
			// No shard has room: the least loaded, ties to the preferred.
			pick = 0
			for s := range load {
				if load[s] < load[pick] || load[s] == load[pick] && weight[s] > weight[pick] {
					pick = s
				}
			}
		}
		load[pick] += it.cost
		out[pick] = append(out[pick], it.i)
	}
	for s := range out {
		slices.Sort(out[s])
	}
	return out
}

// weights fills w with the case key's rendezvous (highest random weight)
// weight for each shard: a shard's rank in a case's preference depends on
// the key and the shard's number alone. The key is hashed once (sha256);
// each shard's weight mixes it with the shard number (splitmix64's
// finalizer), so a case costs N cheap mixes, not N hashes.
func weights(key string, w []uint64) {
	h := sha256.Sum256([]byte(key))
	base := binary.BigEndian.Uint64(h[:8])
	for s := range w {
		z := base + uint64(s+1)*0x9e3779b97f4a7c15
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		w[s] = z ^ (z >> 31)
	}
}

// firstFit is the shard of highest weight whose load stays within bound
// with cost added, or -1 when none does. It scans for the next best shard
// only as long as the better ones are full: one scan when the preferred
// shard has room, as it mostly does.
func firstFit(w []uint64, load []float64, cost, bound float64) int {
	var tried []bool
	for range w {
		best := -1
		for s := range w {
			if (tried == nil || !tried[s]) && (best < 0 || w[s] > w[best] || w[s] == w[best] && s < best) {
				best = s
			}
		}
		if load[best]+cost <= bound {
			return best
		}
		if tried == nil {
			tried = make([]bool, len(w))
		}
		tried[best] = true
	}
	return -1
}

// Select returns the plan of shard s — plan with only that shard's cases,
// in plan order, and only the targets that select one of them (a target
// on another shard's cases is judged there, not failed here as matching
// nothing) — and the record of it that the result keeps (the whole plan's
// cases, so a merge can name what is missing). A shard with no cases (more
// shards than cases, or a few large cases) gives a plan with none; the
// caller says so and runs nothing.
func Select(plan *pipeline.Plan, s Spec) (*pipeline.Plan, *result.Shard, error) {
	if s.Count < 1 || s.Count > MaxCount || s.Index < 1 || s.Index > s.Count {
		return nil, nil, fmt.Errorf("shard %s: K must be within 1..N and N within 1..%d", s, MaxCount)
	}
	if plan.ReportOnly() {
		return nil, nil, fmt.Errorf("pipeline %s generates nothing (it only reads earlier results); run it without --shard", plan.Name)
	}
	mine := Partition(plan, s.Count)[s.Index-1]
	rec := &result.Shard{Index: s.Index, Count: s.Count, Cases: []string{}}
	for _, c := range plan.Cases {
		rec.Plan = append(rec.Plan, result.CaseRef{ID: c.ID, Key: c.Key()})
	}
	part := *plan
	part.Cases = make([]pipeline.CaseSpec, 0, len(mine))
	for _, i := range mine {
		part.Cases = append(part.Cases, plan.Cases[i])
		rec.Cases = append(rec.Cases, rec.Plan[i].Key)
	}
	part.Targets = nil
	for _, t := range plan.Targets {
		if selectsAny(t.Case, part.Cases) {
			part.Targets = append(part.Targets, t)
		}
	}
	return &part, rec, nil
}

// selectsAny reports whether a target's case selector, read as package
// target reads it, selects one of cases.
func selectsAny(sel string, cases []pipeline.CaseSpec) bool {
	for _, c := range cases {
		if target.Selects(sel, c.ID) {
			return true
		}
	}
	return false
}

// Describe prints the shard line of --dry-run: which part of the plan this
// is and its share of the estimated cost.
func Describe(plan, part *pipeline.Plan, s Spec) string {
	total, mine := 0.0, 0.0
	for _, c := range plan.Cases {
		total += Cost(plan, c)
	}
	for _, c := range part.Cases {
		mine += Cost(plan, c)
	}
	share := 0.0
	if total > 0 {
		share = 100 * mine / total
	}
	return fmt.Sprintf("shard     %s (from %s): %d of the plan's %d cases, %.1f %% of its estimated cost; plan hash %s\n",
		s, s.Source, len(part.Cases), len(plan.Cases), share, plan.Hash())
}
