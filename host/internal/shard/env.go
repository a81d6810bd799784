package shard

import (
	"fmt"
	"strconv"
	"strings"
)

// CountVar is the variable a Kubernetes Indexed Job's manifest sets to its
// completions (N): Kubernetes gives each pod its index
// (JOB_COMPLETION_INDEX) but not the count.
const CountVar = "PIPE_SHARD_COUNT"

// Lookup reads an environment variable (os.LookupEnv).
type Lookup func(name string) (string, bool)

// scheduler reads K/N from one scheduler's variables: found is false when
// its variables are absent.
type scheduler struct {
	name   string
	detect func(env Lookup) (s Spec, found bool, err error)
}

// schedulers are the ones --shard auto knows. GitHub Actions sets no index
// for a matrix job: its workflow passes --shard ${{ matrix.shard }}/N.
var schedulers = []scheduler{
	{"Kubernetes Indexed Job", kubernetes},
	{"Slurm job array", slurm},
	{"GitLab parallel job", gitlab},
	{"CircleCI parallelism", circleci},
}

// FromEnv is --shard auto: K and N from the scheduler that started the
// process. Exactly one scheduler's variables must say it, or several must
// agree; a variable that is missing, not a whole number, or out of range
// is named in the error.
func FromEnv(env Lookup) (Spec, error) {
	var got []Spec
	for _, sc := range schedulers {
		s, found, err := sc.detect(env)
		if err != nil {
			return Spec{}, fmt.Errorf("--shard auto: %s: %v", sc.name, err)
		}
		if found {
			got = append(got, s)
		}
	}
	if _, set := env("CI_NODE_INDEX"); set && !isTrue(env, "GITLAB_CI") && !isTrue(env, "CIRCLECI") {
		return Spec{}, fmt.Errorf("--shard auto: CI_NODE_INDEX is set but neither GITLAB_CI (1-based index) nor CIRCLECI (0-based) says which CI set it; pass --shard K/N")
	}
	switch {
	case len(got) > 0 && got[0].Count > MaxCount:
		return Spec{}, fmt.Errorf("--shard auto: %s say %d shards; at most %d, the most cases a plan may have", got[0].Source, got[0].Count, MaxCount)
	case len(got) == 0:
		return Spec{}, fmt.Errorf("--shard auto: no scheduler's variables are set (JOB_COMPLETION_INDEX with %s, SLURM_ARRAY_TASK_ID, CI_NODE_INDEX with GITLAB_CI, CIRCLE_NODE_INDEX with CIRCLECI); pass --shard K/N", CountVar)
	case len(got) > 1:
		for _, s := range got[1:] {
			if s.Index != got[0].Index || s.Count != got[0].Count {
				return Spec{}, fmt.Errorf("--shard auto: %s say shard %s but %s say %s; unset one or pass --shard K/N", got[0].Source, got[0], s.Source, s)
			}
		}
	}
	return got[0], nil
}

func kubernetes(env Lookup) (Spec, bool, error) {
	idx, hasIdx := env("JOB_COMPLETION_INDEX")
	n, hasN := env(CountVar)
	if !hasIdx && !hasN {
		return Spec{}, false, nil
	}
	if !hasIdx {
		return Spec{}, false, fmt.Errorf("%s is set but JOB_COMPLETION_INDEX is not: run it as an Indexed Job (completionMode: Indexed)", CountVar)
	}
	if !hasN {
		return Spec{}, false, fmt.Errorf("JOB_COMPLETION_INDEX is set but %s is not: set it in the pod's env to the Job's completions", CountVar)
	}
	s, err := indexed("JOB_COMPLETION_INDEX", idx, 0, CountVar, n)
	s.Source = "JOB_COMPLETION_INDEX, " + CountVar
	return s, err == nil, err
}

func slurm(env Lookup) (Spec, bool, error) {
	id, ok := env("SLURM_ARRAY_TASK_ID")
	if !ok {
		return Spec{}, false, nil
	}
	get := func(name string) (int, error) {
		v, ok := env(name)
		if !ok {
			return 0, fmt.Errorf("SLURM_ARRAY_TASK_ID is set but %s is not", name)
		}
		return whole(name, v)
	}
	idv, err := whole("SLURM_ARRAY_TASK_ID", id)
	if err != nil {
		return Spec{}, false, err
	}
	count, err := get("SLURM_ARRAY_TASK_COUNT")
	if err != nil {
		return Spec{}, false, err
	}
	lo, err := get("SLURM_ARRAY_TASK_MIN")
	if err != nil {
		return Spec{}, false, err
	}
	step := 1
	if v, ok := env("SLURM_ARRAY_TASK_STEP"); ok {
		if step, err = whole("SLURM_ARRAY_TASK_STEP", v); err != nil {
			return Spec{}, false, err
		}
		step = max(step, 1)
	}
	if v, ok := env("SLURM_ARRAY_TASK_MAX"); ok {
		hi, err := whole("SLURM_ARRAY_TASK_MAX", v)
		if err != nil {
			return Spec{}, false, err
		}
		if (hi-lo)/step+1 != count {
			return Spec{}, false, fmt.Errorf("SLURM_ARRAY_TASK_COUNT=%d but the array spans %d..%d step %d: give the array as one range (--array=0-%d) so task IDs number the shards", count, lo, hi, step, count-1)
		}
	}
	if count < 1 {
		return Spec{}, false, fmt.Errorf("SLURM_ARRAY_TASK_COUNT=%d: must be at least 1", count)
	}
	if idv < lo || (idv-lo)%step != 0 || (idv-lo)/step >= count {
		return Spec{}, false, fmt.Errorf("SLURM_ARRAY_TASK_ID=%d is not one of the %d tasks from SLURM_ARRAY_TASK_MIN=%d step %d", idv, count, lo, step)
	}
	return Spec{Index: (idv-lo)/step + 1, Count: count, Source: "SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN"}, true, nil
}

func gitlab(env Lookup) (Spec, bool, error) {
	if !isTrue(env, "GITLAB_CI") {
		return Spec{}, false, nil
	}
	idx, ok := env("CI_NODE_INDEX")
	if !ok {
		// GitLab sets CI_NODE_TOTAL=1 for every job; the index only
		// for a parallel: one.
		return Spec{}, false, nil
	}
	n, ok := env("CI_NODE_TOTAL")
	if !ok {
		return Spec{}, false, fmt.Errorf("CI_NODE_INDEX is set but CI_NODE_TOTAL is not")
	}
	// GitLab numbers the jobs of parallel: N from 1.
	s, err := indexed("CI_NODE_INDEX", idx, 1, "CI_NODE_TOTAL", n)
	s.Source = "CI_NODE_INDEX, CI_NODE_TOTAL (GitLab)"
	return s, err == nil, err
}

func circleci(env Lookup) (Spec, bool, error) {
	if !isTrue(env, "CIRCLECI") {
		return Spec{}, false, nil
	}
	for _, pair := range [][2]string{{"CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL"}, {"CI_NODE_INDEX", "CI_NODE_TOTAL"}} {
		idx, ok := env(pair[0])
		if !ok {
			continue
		}
		n, ok := env(pair[1])
		if !ok {
			return Spec{}, false, fmt.Errorf("%s is set but %s is not", pair[0], pair[1])
		}
		// CircleCI numbers parallel executors from 0.
		s, err := indexed(pair[0], idx, 0, pair[1], n)
		s.Source = pair[0] + ", " + pair[1] + " (CircleCI)"
		return s, err == nil, err
	}
	return Spec{}, false, nil
}

// indexed is the shard that index idx of n is, for a scheduler that
// numbers from base (0 or 1); each variable is named in its error.
func indexed(idxName, idx string, base int, nName, n string) (Spec, error) {
	k, err := whole(idxName, idx)
	if err != nil {
		return Spec{}, err
	}
	count, err := whole(nName, n)
	if err != nil {
		return Spec{}, err
	}
	if count < 1 {
		return Spec{}, fmt.Errorf("%s=%d: must be at least 1", nName, count)
	}
	if k < base || k >= count+base {
		return Spec{}, fmt.Errorf("%s=%d is out of range %d..%d for %s=%d (it counts from %d here)", idxName, k, base, count+base-1, nName, count, base)
	}
	return Spec{Index: k - base + 1, Count: count}, nil
}

func whole(name, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a whole number", name, v)
	}
	return n, nil
}

func isTrue(env Lookup, name string) bool {
	v, _ := env(name)
	return strings.EqualFold(v, "true")
}
