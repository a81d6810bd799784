package shard

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
)

func shipped(t *testing.T) map[string]*pipeline.Plan {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "pipelines", "phase*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped pipelines: %v", err)
	}
	files = append(files, filepath.Join("..", "..", "..", "pipelines", "testdata", "gpt2-tiny.toml"))
	plans := map[string]*pipeline.Plan{}
	for _, f := range files {
		p, err := pipeline.Load(f, pipeline.LoadOptions{Names: registry.New().Names(), CPUs: 64})
		if err != nil {
			t.Fatal(err)
		}
		if !p.ReportOnly() {
			plans[filepath.Base(f)] = p
		}
	}
	return plans
}

// sweep is a plan the size of the sweep of one model and
// precision: 5 prompt lengths × 3 output lengths × 4 batch sizes = 60
// cases of unequal cost.
func sweep(t *testing.T) *pipeline.Plan {
	t.Helper()
	src := "name = \"sweep\"\n[model]\nsource = \"gpt2\"\n[matrix]\nmode = \"cartesian\"\n" +
		"prompt_tokens = [16, 64, 128, 256, 512]\nnew_tokens = [16, 64, 256]\nbatch = [1, 2, 4, 8]\n[generate]\nruns = 20\n"
	p, err := pipeline.Parse(filepath.Join(t.TempDir(), "sweep.toml"), []byte(src), pipeline.LoadOptions{CPUs: 64})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cases) != 60 {
		t.Fatalf("sweep has %d cases, want 60", len(p.Cases))
	}
	return p
}

// TestPartitionCoversEveryCaseOnce: for N = 1..8 on every shipped pipeline,
// each case is in exactly one shard, and Select's plans together are the
// plan.
func TestPartitionCoversEveryCaseOnce(t *testing.T) {
	for name, p := range shipped(t) {
		for n := 1; n <= 8; n++ {
			parts := Partition(p, n)
			if len(parts) != n {
				t.Fatalf("%s N=%d: %d shards", name, n, len(parts))
			}
			seen := make([]int, len(p.Cases))
			for _, part := range parts {
				for _, i := range part {
					seen[i]++
				}
			}
			for i, k := range seen {
				if k != 1 {
					t.Errorf("%s N=%d: case %s is in %d shards", name, n, p.Cases[i].ID, k)
				}
			}
			var ids []string
			for k := 1; k <= n; k++ {
				part, rec, err := Select(p, Spec{Index: k, Count: n})
				if err != nil {
					t.Fatal(err)
				}
				if len(rec.Plan) != len(p.Cases) || len(rec.Cases) != len(part.Cases) || rec.Index != k || rec.Count != n {
					t.Errorf("%s %d/%d: record %+v for %d cases", name, k, n, rec, len(part.Cases))
				}
				for i, c := range part.Cases {
					ids = append(ids, c.ID)
					if rec.Cases[i] != c.Key() {
						t.Errorf("%s %d/%d: record's key %s for case %s (key %s)", name, k, n, rec.Cases[i], c.ID, c.Key())
					}
				}
			}
			var want []string
			for _, c := range p.Cases {
				want = append(want, c.ID)
			}
			slices.Sort(ids)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("%s N=%d: shards hold %v, the plan %v", name, n, ids, want)
			}
		}
	}
}

// balance is the max/mean estimated cost of the shards.
func balance(p *pipeline.Plan, parts [][]int) float64 {
	total, most := 0.0, 0.0
	for _, part := range parts {
		load := 0.0
		for _, i := range part {
			load += Cost(p, p.Cases[i])
		}
		total += load
		most = max(most, load)
	}
	return most / (total / float64(len(parts)))
}

// moved counts the cases of before that are in another shard in after
// (matched by ID).
func moved(before, after *pipeline.Plan, pb, pa [][]int) int {
	where := map[string]int{}
	for s, part := range pb {
		for _, i := range part {
			where[before.Cases[i].ID] = s
		}
	}
	n := 0
	for s, part := range pa {
		for _, i := range part {
			if w, ok := where[after.Cases[i].ID]; ok && w != s {
				n++
			}
		}
	}
	return n
}

// withExtra is p with one more case, unlike any of its own.
func withExtra(p *pipeline.Plan, prompt, newTokens int) *pipeline.Plan {
	q := *p
	q.Cases = append(slices.Clone(p.Cases), pipeline.CaseSpec{ID: fmt.Sprintf("extra-p%d-n%d", prompt, newTokens), PromptTokens: prompt, NewTokens: newTokens, Batch: 1, Streams: 1})
	return &q
}

// TestPartitionStableAndBalanced: on every shipped pipeline and N = 2, 4,
// 8, adding one case (a small, a typical and one larger than any) moves at
// most 4 of the other cases — on the 60-case sweep at most a quarter of
// them (a case larger than any raises every shard's load bound) — and the
// shards' estimated costs stay within the bound the partition promises.
// The figures are logged (go test -v -run TestPartitionStableAndBalanced):
// RATIONALE.md quotes them.
func TestPartitionStableAndBalanced(t *testing.T) {
	plans := shipped(t)
	plans["sweep (60 cases)"] = sweep(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range plans {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		p := plans[name]
		moveBound := 4
		if len(p.Cases) == 60 {
			moveBound = len(p.Cases) / 4
		}
		var line strings.Builder
		fmt.Fprintf(&line, "%-22s %2d cases:", name, len(p.Cases))
		for _, n := range []int{2, 4, 8} {
			parts := Partition(p, n)
			b := balance(p, parts)
			worst := 0
			for _, extra := range [][2]int{{8, 4}, {128, 64}, {1024, 512}} {
				q := withExtra(p, extra[0], extra[1])
				m := moved(p, q, parts, Partition(q, n))
				worst = max(worst, m)
				if m > moveBound {
					t.Errorf("%s N=%d: adding case p%d-n%d moved %d other cases, want at most %d", name, n, extra[0], extra[1], m, moveBound)
				}
			}
			lpt := balance(p, lptPartition(p, n))
			fmt.Fprintf(&line, "  N=%d max/mean %.2f (LPT %.2f), moves ≤ %d", n, b, lpt, worst)
			total, largest := 0.0, 0.0
			for _, c := range p.Cases {
				total += Cost(p, c)
				largest = max(largest, Cost(p, c))
			}
			if limit := max(Slack, largest/(total/float64(n))) + largest/(total/float64(n)); b > limit+1e-9 {
				t.Errorf("%s N=%d: max/mean %.3f exceeds the bound %.3f", name, n, b, limit)
			}
		}
		t.Log(line.String())
	}
}

// lptPartition is the classical balanced partition (each case, largest
// first, to the least loaded shard), the comparison RATIONALE.md makes.
func lptPartition(p *pipeline.Plan, n int) [][]int {
	idx := make([]int, len(p.Cases))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ca, cb := Cost(p, p.Cases[a]), Cost(p, p.Cases[b])
		switch {
		case ca > cb:
			return -1
		case ca < cb:
			return 1
		}
		return 0
	})
	out := make([][]int, n)
	load := make([]float64, n)
	for _, i := range idx {
		s := slices.Index(load, slices.Min(load))
		load[s] += Cost(p, p.Cases[i])
		out[s] = append(out[s], i)
	}
	return out
}

// TestLPTMovesMore backs RATIONALE.md's claim: over the shipped pipelines,
// N = 2, 4, 8 and the three added cases, LPT moves more cases in total
// than the rendezvous partition.
func TestLPTMovesMore(t *testing.T) {
	ours, lpt := 0, 0
	plans := shipped(t)
	plans["sweep"] = sweep(t)
	for _, p := range plans {
		for _, n := range []int{2, 4, 8} {
			for _, extra := range [][2]int{{8, 4}, {128, 64}, {1024, 512}} {
				q := withExtra(p, extra[0], extra[1])
				ours += moved(p, q, Partition(p, n), Partition(q, n))
				lpt += moved(p, q, lptPartition(p, n), lptPartition(q, n))
			}
		}
	}
	t.Logf("cases moved by adding one case, summed: rendezvous %d, LPT %d", ours, lpt)
	if ours >= lpt {
		t.Errorf("rendezvous moved %d cases, LPT %d: the stability claim does not hold", ours, lpt)
	}
}

func TestParse(t *testing.T) {
	good := map[string]Spec{"1/1": {1, 1, "--shard"}, "2/4": {2, 4, "--shard"}, " 8/8 ": {8, 8, "--shard"}}
	for arg, want := range good {
		got, err := Parse(arg)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", arg, got, err, want)
		}
	}
	bad := map[string]string{
		"3":            `--shard "3": want K/N (shard K of N, 1-based, e.g. --shard 2/4) or auto`,
		"a/4":          `--shard "a/4": K and N must be whole numbers (e.g. --shard 2/4)`,
		"0/4":          `--shard "0/4": K must be within 1..4 (K is 1-based)`,
		"5/4":          `--shard "5/4": K must be within 1..4 (K is 1-based)`,
		"1/0":          `--shard "1/0": N must be at least 1`,
		"1/-2":         `--shard "1/-2": N must be at least 1`,
		"1/1000000000": `--shard "1/1000000000": N must be at most 10000, the most cases a plan may have`,
		"":             `--shard "": want K/N (shard K of N, 1-based, e.g. --shard 2/4) or auto`,
	}
	for arg, want := range bad {
		_, err := Parse(arg)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v\nwant %s", arg, err, want)
		}
	}
}

func env(vars map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want Spec   // when err is ""
		err  string // the whole message
	}{
		{"kubernetes", map[string]string{"JOB_COMPLETION_INDEX": "0", "PIPE_SHARD_COUNT": "4"}, Spec{1, 4, "JOB_COMPLETION_INDEX, PIPE_SHARD_COUNT"}, ""},
		{"kubernetes last", map[string]string{"JOB_COMPLETION_INDEX": "3", "PIPE_SHARD_COUNT": "4"}, Spec{4, 4, "JOB_COMPLETION_INDEX, PIPE_SHARD_COUNT"}, ""},
		{"kubernetes index = count", map[string]string{"JOB_COMPLETION_INDEX": "4", "PIPE_SHARD_COUNT": "4"}, Spec{},
			"--shard auto: Kubernetes Indexed Job: JOB_COMPLETION_INDEX=4 is out of range 0..3 for PIPE_SHARD_COUNT=4 (it counts from 0 here)"},
		{"kubernetes without the count", map[string]string{"JOB_COMPLETION_INDEX": "1"}, Spec{},
			"--shard auto: Kubernetes Indexed Job: JOB_COMPLETION_INDEX is set but PIPE_SHARD_COUNT is not: set it in the pod's env to the Job's completions"},
		{"kubernetes count alone", map[string]string{"PIPE_SHARD_COUNT": "4"}, Spec{},
			"--shard auto: Kubernetes Indexed Job: PIPE_SHARD_COUNT is set but JOB_COMPLETION_INDEX is not: run it as an Indexed Job (completionMode: Indexed)"},
		{"kubernetes non-integer", map[string]string{"JOB_COMPLETION_INDEX": "x", "PIPE_SHARD_COUNT": "4"}, Spec{},
			`--shard auto: Kubernetes Indexed Job: JOB_COMPLETION_INDEX="x" is not a whole number`},
		{"kubernetes huge count", map[string]string{"JOB_COMPLETION_INDEX": "0", "PIPE_SHARD_COUNT": "99999"}, Spec{},
			"--shard auto: JOB_COMPLETION_INDEX, PIPE_SHARD_COUNT say 99999 shards; at most 10000, the most cases a plan may have"},
		{"kubernetes zero count", map[string]string{"JOB_COMPLETION_INDEX": "0", "PIPE_SHARD_COUNT": "0"}, Spec{},
			"--shard auto: Kubernetes Indexed Job: PIPE_SHARD_COUNT=0: must be at least 1"},
		{"slurm from 0", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"}, Spec{3, 4, "SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN"}, ""},
		{"slurm from 1", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "1"}, Spec{1, 8, "SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN"}, ""},
		{"slurm with a step", map[string]string{"SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_MAX": "16", "SLURM_ARRAY_TASK_STEP": "2"}, Spec{3, 4, "SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN"}, ""},
		{"slurm without the count", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0"}, Spec{},
			"--shard auto: Slurm job array: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not"},
		{"slurm without the min", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, Spec{},
			"--shard auto: Slurm job array: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN is not"},
		{"slurm id beyond the count", map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"}, Spec{},
			"--shard auto: Slurm job array: SLURM_ARRAY_TASK_ID=4 is not one of the 4 tasks from SLURM_ARRAY_TASK_MIN=0 step 1"},
		{"slurm list array", map[string]string{"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "7"}, Spec{},
			"--shard auto: Slurm job array: SLURM_ARRAY_TASK_COUNT=3 but the array spans 1..7 step 1: give the array as one range (--array=0-2) so task IDs number the shards"},
		{"slurm non-integer", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "four", "SLURM_ARRAY_TASK_MIN": "0"}, Spec{},
			`--shard auto: Slurm job array: SLURM_ARRAY_TASK_COUNT="four" is not a whole number`},
		{"gitlab is 1-based", map[string]string{"GITLAB_CI": "true", "CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "3"}, Spec{1, 3, "CI_NODE_INDEX, CI_NODE_TOTAL (GitLab)"}, ""},
		{"gitlab last", map[string]string{"GITLAB_CI": "true", "CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "3"}, Spec{3, 3, "CI_NODE_INDEX, CI_NODE_TOTAL (GitLab)"}, ""},
		{"gitlab index 0", map[string]string{"GITLAB_CI": "true", "CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "3"}, Spec{},
			"--shard auto: GitLab parallel job: CI_NODE_INDEX=0 is out of range 1..3 for CI_NODE_TOTAL=3 (it counts from 1 here)"},
		{"gitlab job without parallel", map[string]string{"GITLAB_CI": "true", "CI_NODE_TOTAL": "1"}, Spec{},
			"--shard auto: no scheduler's variables are set (JOB_COMPLETION_INDEX with PIPE_SHARD_COUNT, SLURM_ARRAY_TASK_ID, CI_NODE_INDEX with GITLAB_CI, CIRCLE_NODE_INDEX with CIRCLECI); pass --shard K/N"},
		{"circleci is 0-based", map[string]string{"CIRCLECI": "true", "CIRCLE_NODE_INDEX": "0", "CIRCLE_NODE_TOTAL": "3"}, Spec{1, 3, "CIRCLE_NODE_INDEX, CIRCLE_NODE_TOTAL (CircleCI)"}, ""},
		{"circleci CI_NODE_INDEX is 0-based", map[string]string{"CIRCLECI": "true", "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}, Spec{3, 3, "CI_NODE_INDEX, CI_NODE_TOTAL (CircleCI)"}, ""},
		{"circleci index = total", map[string]string{"CIRCLECI": "true", "CIRCLE_NODE_INDEX": "3", "CIRCLE_NODE_TOTAL": "3"}, Spec{},
			"--shard auto: CircleCI parallelism: CIRCLE_NODE_INDEX=3 is out of range 0..2 for CIRCLE_NODE_TOTAL=3 (it counts from 0 here)"},
		{"circleci without the total", map[string]string{"CIRCLECI": "true", "CIRCLE_NODE_INDEX": "1"}, Spec{},
			"--shard auto: CircleCI parallelism: CIRCLE_NODE_INDEX is set but CIRCLE_NODE_TOTAL is not"},
		{"CI_NODE_INDEX of an unknown CI", map[string]string{"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "3"}, Spec{},
			"--shard auto: CI_NODE_INDEX is set but neither GITLAB_CI (1-based index) nor CIRCLECI (0-based) says which CI set it; pass --shard K/N"},
		{"nothing set", map[string]string{"HOME": "/root"}, Spec{},
			"--shard auto: no scheduler's variables are set (JOB_COMPLETION_INDEX with PIPE_SHARD_COUNT, SLURM_ARRAY_TASK_ID, CI_NODE_INDEX with GITLAB_CI, CIRCLE_NODE_INDEX with CIRCLECI); pass --shard K/N"},
		{"two that agree", map[string]string{"JOB_COMPLETION_INDEX": "1", "PIPE_SHARD_COUNT": "2", "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0"}, Spec{2, 2, "JOB_COMPLETION_INDEX, PIPE_SHARD_COUNT"}, ""},
		{"two that disagree", map[string]string{"JOB_COMPLETION_INDEX": "0", "PIPE_SHARD_COUNT": "2", "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0"}, Spec{},
			"--shard auto: JOB_COMPLETION_INDEX, PIPE_SHARD_COUNT say shard 1/2 but SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN say 2/2; unset one or pass --shard K/N"},
	}
	for _, tt := range tests {
		got, err := FromEnv(env(tt.vars))
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%s: got %+v, %v\nwant error %s", tt.name, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: a multi-line error: %q", tt.name, err)
		}
	}
}

// TestEmptyShard: more shards than cases leaves some empty, and Select
// says so by an empty plan (the CLI runs nothing).
func TestEmptyShard(t *testing.T) {
	p := shipped(t)["gpt2-tiny.toml"]
	empty := 0
	for k := 1; k <= 8; k++ {
		part, rec, err := Select(p, Spec{Index: k, Count: 8})
		if err != nil {
			t.Fatal(err)
		}
		if len(part.Cases) == 0 {
			empty++
			if len(rec.Cases) != 0 || len(rec.Plan) != len(p.Cases) {
				t.Errorf("empty shard %d/8: record %+v", k, rec)
			}
		}
	}
	if want := 8 - len(p.Cases); empty != want {
		t.Errorf("%d of 8 shards are empty for %d cases, want %d", empty, len(p.Cases), want)
	}
}

// TestSelectKeepsTheShardsTargets: a target whose selector matches only
// another shard's cases is left to that shard (and the merge), not failed
// here as matching nothing.
func TestSelectKeepsTheShardsTargets(t *testing.T) {
	p := shipped(t)["gpt2-tiny.toml"]
	total := 0
	for k := 1; k <= 2; k++ {
		part, _, err := Select(p, Spec{Index: k, Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		var exprs []string
		for _, tg := range part.Targets {
			exprs = append(exprs, tg.Expr)
			if !selectsAny(tg.Case, part.Cases) {
				t.Errorf("shard %d/2 keeps target %q (cases %q), which selects none of its cases", k, tg.Expr, tg.Case)
			}
		}
		want := 1
		if part.Cases[0].ID == "p16-n8" {
			want = 2 // e2e_ms.mean on every case, decode_tps.mean on p16-*
		}
		if len(exprs) != want {
			t.Errorf("shard %d/2 (%s) has targets %q, want %d", k, part.Cases[0].ID, exprs, want)
		}
		total += len(part.Targets)
	}
	if total != 3 {
		t.Errorf("the shards hold %d targets, want 3 (the every-case one on both)", total)
	}
}
