package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The protocol of issue 13 on the tiny model: three shards of one plan
// started as three schedulers start them, one killed mid-run and started
// again with the same command, merged into one result that holds exactly
// the unsharded plan's cases, each once, and renders.

// protocolSets make a six-case plan with enough runs per case that a shard
// is still running when it is killed.
var protocolSets = []string{"--set", "matrix.prompt_tokens=[8, 16, 24, 32, 40, 48]", "--set", "matrix.new_tokens=[4, 4, 8, 8, 12, 12]",
	"--set", "generate.runs=600"}

// planCases are the case IDs pipe run --dry-run prints for the plan.
func planCases(t *testing.T, bin string, args ...string) []string {
	t.Helper()
	stdout, stderr, code := runCmd(t, nil, bin, append([]string{"run", tiny, "--dry-run"}, args...)...)
	if code != 0 {
		t.Fatalf("--dry-run: exit %d\n%s", code, stderr)
	}
	var ids []string
	in := false
	for sc := bufio.NewScanner(strings.NewReader(stdout)); sc.Scan(); {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 1 && f[0] == "id" && f[1] == "prompt":
			in = true
		case in && strings.HasPrefix(sc.Text(), "  ") && len(f) > 0:
			ids = append(ids, f[0])
		default:
			in = false
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no cases in the dry run:\n%s", stdout)
	}
	return ids
}

func TestShardResumeMergeProtocol(t *testing.T) {
	bin := buildPipe(t)
	root := t.TempDir()
	want := planCases(t, bin, protocolSets...)
	// Each shard's command as its scheduler runs it, with that scheduler's
	// variables and a label naming it.
	shards := []struct {
		name string
		env  []string
	}{
		{"kubernetes", []string{"JOB_COMPLETION_INDEX=0", "PIPE_SHARD_COUNT=3"}},
		{"slurm", []string{"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_MIN=0"}},
		{"gitlab", []string{"CI_NODE_INDEX=3", "CI_NODE_TOTAL=3", "GITLAB_CI=true"}},
	}
	dirs := make([]string, len(shards))
	args := make([][]string, len(shards))
	cmds := make([]*exec.Cmd, len(shards))
	stderrs := make([]*bytes.Buffer, len(shards))
	for i, s := range shards {
		dirs[i] = filepath.Join(root, "shard-"+s.name)
		args[i] = append([]string{"run", tiny, "--shard", "auto", "--resume", dirs[i], "--label", "scheduler=" + s.name, "--no-progress"}, protocolSets...)
		cmds[i] = exec.Command(bin, args[i]...)
		cmds[i].Dir = "../.."
		cmds[i].Env = append(os.Environ(), s.env...)
		stderrs[i] = &bytes.Buffer{}
		cmds[i].Stderr = stderrs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	// The Slurm task is preempted: SIGKILL once it has journaled runs.
	const victim = 1
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if b, _ := os.ReadFile(filepath.Join(dirs[victim], "samples.jsonl")); bytes.Count(b, []byte("\n")) > 30 {
			break
		}
		if time.Now().After(deadline) {
			for _, c := range cmds {
				c.Process.Kill()
			}
			t.Fatalf("the slurm shard journaled nothing within 2 minutes; stderr: %s", stderrs[victim])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmds[victim].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmds[victim].Wait()
	if _, err := os.Stat(filepath.Join(dirs[victim], "result.json")); err == nil {
		t.Fatal("the slurm shard finished before it was killed; give the plan more runs")
	}
	for i, c := range cmds {
		if i == victim {
			continue
		}
		if err := c.Wait(); err != nil {
			t.Fatalf("shard %s: %v\n%s", shards[i].name, err, stderrs[i])
		}
	}

	t.Run("a killed shard not yet restarted: merged from its journal, incomplete", func(t *testing.T) {
		out := filepath.Join(root, "merged-early")
		_, stderr, code := runCmd(t, nil, bin, "merge", dirs[0], dirs[1], dirs[2], "--out", out)
		if code != 5 || !strings.Contains(stderr, "rebuilt from the journal of a killed run") || !strings.Contains(stderr, "shard-2") {
			t.Errorf("exit %d, stderr %q; want 5 naming the rebuilt shard", code, stderr)
		}
		res, _ := readResult(t, out)
		if len(res.Environments) != 3 || !res.Environments[1].Rebuilt {
			t.Errorf("environments %+v; want the slurm shard's marked rebuilt", res.Environments)
		}
	})

	// The requeued task: the same command, the same variables.
	if _, stderr, code := runCmd(t, shards[victim].env, bin, args[victim]...); code != 0 {
		t.Fatalf("the slurm shard restarted: exit %d\n%s", code, stderr)
	}
	res, _ := readResult(t, dirs[victim])
	if res.Resumed == nil || res.Resumed.Runs == 0 {
		t.Errorf("the restarted shard does not say it resumed: %+v", res.Resumed)
	}

	out := filepath.Join(root, "merged")
	stdout, stderr, code := runCmd(t, nil, bin, "merge", dirs[2], dirs[0], dirs[1], "--out", out)
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
	}
	merged, _ := readResult(t, out)
	var got []string
	runs := map[string]int{}
	for _, c := range merged.Cases {
		got = append(got, c.ID)
		runs[c.ID] = len(c.Runs)
		if c.Environment == "" {
			t.Errorf("case %s names no environment", c.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("merged cases %v; the unsharded plan's are %v (each once, in plan order)", got, want)
	}
	for id, n := range runs {
		if n != 600 {
			t.Errorf("case %s: %d runs, want 600", id, n)
		}
	}
	if merged.Incomplete != "" || len(merged.Environments) != 3 {
		t.Errorf("incomplete %q, %d environments", merged.Incomplete, len(merged.Environments))
	}
	for i, e := range merged.Environments {
		if e.Labels["scheduler"] == "" || (e.ShardIndex == 2) != (e.Resumed != nil) {
			t.Errorf("environment %d: %+v; want its scheduler label, and only shard 2 resumed", i, e)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append([]string{"## Where each case ran", "resumed ("}, "scheduler=kubernetes", "scheduler=slurm", "scheduler=gitlab") {
		if !strings.Contains(string(md), s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
	for _, format := range []string{"md", "html", "csv"} {
		if _, stderr, code := runCmd(t, nil, bin, "report", out, "--format", format, "--out", filepath.Join(root, "report-"+format)+"/", "--check"); code != 0 {
			t.Errorf("pipe report --format %s --check of the merge: exit %d\n%s", format, code, stderr)
		}
	}

	t.Run("a shard missing: exit 5, its cases listed", func(t *testing.T) {
		_, stderr, code := runCmd(t, nil, bin, "merge", dirs[0], dirs[2], "--out", filepath.Join(root, "merged-missing"))
		shard2, _ := readResult(t, dirs[1])
		if code != 5 || !strings.Contains(stderr, "(shard 2 of 3 not merged)") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		for _, c := range shard2.Cases {
			if !strings.Contains(stderr, c.ID) {
				t.Errorf("the missing case %s is not listed: %q", c.ID, stderr)
			}
		}
	})
	t.Run("another plan: one line", func(t *testing.T) {
		other := filepath.Join(root, "other-plan")
		if _, stderr, code := runCmd(t, nil, bin, "run", tiny, "--shard", "1/3", "--resume", other, "--set", "generate.runs=2", "--no-progress"); code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		_, stderr, code := runCmd(t, nil, bin, "merge", other, dirs[1], "--out", filepath.Join(root, "merged-other"))
		if code != 1 || !strings.Contains(stderr, other) || !strings.Contains(stderr, dirs[1]) {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		oneLine(t, "merge of two plans", stderr, "are shards of different plans")
	})
}
