package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/sdk/schema"
)

const tiny = "pipelines/testdata/gpt2-tiny.toml"

func readResult(t *testing.T, dir string) (*schema.Result, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r schema.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r, b
}

// oneLine fails unless stderr is a single line holding want.
func oneLine(t *testing.T, what, stderr, want string) {
	t.Helper()
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, want) {
		t.Errorf("%s: stderr %q, want one line with %q", what, stderr, want)
	}
}

// journalLines splits a journal into its whole lines.
func journalLines(t *testing.T, dir string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "samples.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Issue 13 item 3: a run cut off mid-way (its journal truncated, its last
// line torn) resumed with --resume holds the same cases and run counts as
// an uninterrupted run, its kept runs and journal lines byte for byte, and
// says it was resumed; a finished run is left alone; another plan or shard
// is refused in one line.
func TestResumeTruncatedJournal(t *testing.T) {
	bin := buildPipe(t)
	root := t.TempDir()
	whole := filepath.Join(root, "whole")
	// --resume of a directory that does not exist starts the run there.
	if _, stderr, code := runCmd(t, nil, bin, "run", tiny, "--resume", whole, "--label", "machine=ci"); code != 0 {
		t.Fatalf("fresh run under --resume: exit %d\n%s", code, stderr)
	}
	full, _ := readResult(t, whole)
	if full.Resumed != nil || full.PlanHash == "" || full.Labels["machine"] != "ci" {
		t.Fatalf("fresh run: resumed %+v, plan hash %q, labels %v", full.Resumed, full.PlanHash, full.Labels)
	}
	lines := journalLines(t, whole)
	// Keep the header, the first case's warmup and 2 of its 3 runs; tear
	// the next line.
	cut := filepath.Join(root, "cut")
	if err := os.Mkdir(cut, 0o755); err != nil {
		t.Fatal(err)
	}
	kept := bytes.Join(lines[:4], nil)
	torn := append(slices.Clone(kept), lines[4][:len(lines[4])/2]...)
	if err := os.WriteFile(filepath.Join(cut, "samples.jsonl"), torn, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCmd(t, nil, bin, "run", tiny, "--resume", cut, "--label", "machine=ci"); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	res, resBytes := readResult(t, cut)
	if len(res.Cases) != len(full.Cases) {
		t.Fatalf("resumed result has %d cases, the uninterrupted %d", len(res.Cases), len(full.Cases))
	}
	for i, c := range res.Cases {
		f := full.Cases[i]
		if c.ID != f.ID || c.Key != f.Key || len(c.Runs) != len(f.Runs) {
			t.Errorf("case %d: %s (key %s) with %d runs, uninterrupted %s (%s) with %d", i, c.ID, c.Key, len(c.Runs), f.ID, f.Key, len(f.Runs))
		}
		for r, run := range c.Runs {
			if run.Index != r {
				t.Errorf("case %s: run %d has index %d", c.ID, r, run.Index)
			}
		}
	}
	// The 2 kept runs are the first case's runs 0 and 1, as measured.
	for r := 0; r < 2; r++ {
		a, _ := json.Marshal(res.Cases[0].Runs[r])
		b, _ := json.Marshal(full.Cases[0].Runs[r])
		if !bytes.Equal(a, b) {
			t.Errorf("kept run %d differs from the run measured:\n%s\n%s", r, a, b)
		}
	}
	if got := journalLines(t, cut); !bytes.Equal(bytes.Join(got[:4], nil), kept) || !bytes.Contains(got[4], []byte(`"type":"resume"`)) {
		t.Errorf("the resumed journal does not start with the kept lines and a resume record:\n%s", bytes.Join(got[:5], nil))
	}
	if r := res.Resumed; r == nil || r.Runs != 2 || r.Cases != 1 || r.Dir != cut || !strings.Contains(r.Torn, "torn") || r.Env == nil {
		t.Errorf("resumed = %+v, want 2 runs of 1 case kept from %s, the torn line and the interrupted run's env", r, cut)
	}
	md, err := os.ReadFile(filepath.Join(cut, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("| Labels | machine=ci |")) || !bytes.Contains(md, []byte("| Resumed | kept runs: 2, of cases: 1, from the interrupted run started "+full.StartedAt)) {
		t.Errorf("report.md's environment does not show the labels and the resume (%v)", err)
	}
	if res.PlanHash != full.PlanHash {
		t.Errorf("plan hash %s after resume, %s before", res.PlanHash, full.PlanHash)
	}

	// Resuming a finished run: said so, exit 0, nothing rewritten.
	_, stderr, code := runCmd(t, nil, bin, "run", tiny, "--resume", cut)
	if code != 0 || !strings.Contains(stderr, "nothing to resume") {
		t.Errorf("resume of a finished run: exit %d, stderr %q", code, stderr)
	}
	if _, again := readResult(t, cut); !bytes.Equal(again, resBytes) {
		t.Error("resuming a finished run rewrote its result.json")
	}

	// Another plan, another shard: one line each, exit 1.
	if err := os.Remove(filepath.Join(cut, "result.json")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCmd(t, nil, bin, "run", tiny, "--resume", cut, "--set", "generate.runs=4")
	if code != 1 {
		t.Errorf("resume with another plan: exit %d, want 1", code)
	}
	oneLine(t, "another plan", stderr, `its journal is pipeline "tiny" (plan hash `+full.PlanHash+`), this command's is "tiny" (plan1:`)
	_, stderr, code = runCmd(t, nil, bin, "run", tiny, "--resume", cut, "--shard", "1/2")
	if code != 1 {
		t.Errorf("resume with another shard: exit %d, want 1", code)
	}
	oneLine(t, "another shard", stderr, "its journal is the whole of the plan, this command's is shard 1/2; resume with the --shard that started it")
	_, stderr, code = runCmd(t, nil, bin, "run", tiny, "--resume", cut, "--out", root)
	if code != 1 {
		t.Errorf("--resume with --out: exit %d, want 1", code)
	}
	oneLine(t, "--resume with --out", stderr, "drop --out")
}

// A pipe run killed with SIGKILL mid-case and started again with the same
// command (what a restarted pod or a requeued Slurm task does) finishes the
// plan: every case has exactly its runs, each index once, and the result
// says how many were kept.
func TestKilledRunResumesWithTheSameCommand(t *testing.T) {
	bin := buildPipe(t)
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"run", tiny, "--resume", dir, "--set", "generate.runs=1500", "--set", "matrix.new_tokens=[16, 16]"}
	cmd := exec.Command(bin, args...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, _ := os.ReadFile(filepath.Join(dir, "samples.jsonl")); bytes.Count(b, []byte("\n")) > 20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no runs journaled within a minute; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "result.json")); err == nil {
		t.Fatal("the run finished before it was killed; give it more runs")
	}
	measured := 0
	for _, line := range journalLines(t, dir) {
		var l struct {
			Type   string `json:"type"`
			Warmup bool   `json:"warmup"`
		}
		if bytes.HasSuffix(line, []byte("\n")) && json.Unmarshal(line, &l) == nil && l.Type == "run" && !l.Warmup {
			measured++
		}
	}
	if _, stderr, code := runCmd(t, nil, bin, args...); code != 0 {
		t.Fatalf("the same command after the kill: exit %d\n%s", code, stderr)
	}
	res, _ := readResult(t, dir)
	if len(res.Cases) != 2 {
		t.Fatalf("%d cases, want 2", len(res.Cases))
	}
	for _, c := range res.Cases {
		if len(c.Runs) != 1500 {
			t.Errorf("case %s: %d runs, want 1500", c.ID, len(c.Runs))
		}
		for i, r := range c.Runs {
			if r.Index != i {
				t.Errorf("case %s: run %d has index %d", c.ID, i, r.Index)
				break
			}
		}
	}
	if res.Resumed == nil || res.Resumed.Runs != measured || measured == 0 {
		t.Errorf("resumed = %+v, want the %d measured runs the killed run journaled whole", res.Resumed, measured)
	}
	if strings.Contains(stderr.String(), "panic") {
		t.Errorf("stderr of the killed run: %s", stderr.String())
	}
}

// Issue 13 item 1: the shards of a plan, each run on its own (by --shard
// K/N and by --shard auto from a scheduler's variables), hold every case of
// the plan once, with the whole plan's hash and their shard recorded;
// --dry-run prints the shard's cases; bad --shard values are one line.
func TestShardsCoverThePlan(t *testing.T) {
	bin := buildPipe(t)
	root := t.TempDir()
	stdout, stderr, code := runCmd(t, nil, bin, "run", tiny, "--shard", "2/2", "--dry-run")
	if code != 0 || !strings.HasPrefix(stdout, "shard     2/2 (from --shard): 1 of the plan's 2 cases") {
		t.Errorf("--dry-run --shard 2/2: exit %d\n%s%s", code, stdout, stderr)
	}
	var ids []string
	hashes := map[string]bool{}
	for k, env := range [][]string{{"JOB_COMPLETION_INDEX=0", "PIPE_SHARD_COUNT=2"}, {"SLURM_ARRAY_TASK_ID=6", "SLURM_ARRAY_TASK_COUNT=2", "SLURM_ARRAY_TASK_MIN=5"}} {
		dir := filepath.Join(root, "shard"+string(rune('1'+k)))
		if _, stderr, code := runCmd(t, env, bin, "run", tiny, "--shard", "auto", "--resume", dir); code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", k+1, code, stderr)
		}
		res, _ := readResult(t, dir)
		if s := res.Shard; s == nil || s.Index != k+1 || s.Count != 2 || len(s.Plan) != 2 || len(s.Cases) != len(res.Cases) {
			t.Errorf("shard %d: record %+v for %d cases", k+1, res.Shard, len(res.Cases))
		}
		for _, c := range res.Cases {
			ids = append(ids, c.ID)
		}
		hashes[res.PlanHash] = true
	}
	slices.Sort(ids)
	if want := []string{"p16-n8", "p8-n4"}; !slices.Equal(ids, want) {
		t.Errorf("the shards ran %v, the plan is %v", ids, want)
	}
	if len(hashes) != 1 {
		t.Errorf("the shards record %d plan hashes, want the plan's one", len(hashes))
	}
	for _, bad := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--shard", "3/2"}, nil, `--shard "3/2": K must be within 1..2 (K is 1-based)`},
		{[]string{"--shard", "auto"}, []string{"JOB_COMPLETION_INDEX=2", "PIPE_SHARD_COUNT=2"}, "JOB_COMPLETION_INDEX=2 is out of range 0..1 for PIPE_SHARD_COUNT=2"},
		{[]string{"--label", "bad key=1"}, nil, `--label "bad key=1": the key must be`},
	} {
		_, stderr, code := runCmd(t, bad.env, bin, append([]string{"run", tiny}, bad.args...)...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1", bad.args, code)
		}
		oneLine(t, strings.Join(bad.args, " "), stderr, bad.want)
	}
	// More shards than cases: the empty ones run nothing and exit 0.
	empty := 0
	for k := 1; k <= 4; k++ {
		_, stderr, code := runCmd(t, nil, bin, "run", tiny, "--shard", strings.Join([]string{string(rune('0' + k)), "4"}, "/"), "--out", filepath.Join(root, "four"))
		if code != 0 {
			t.Errorf("shard %d/4: exit %d\n%s", k, code, stderr)
		}
		if strings.Contains(stderr, "nothing to run") {
			empty++
		}
	}
	if empty != 2 {
		t.Errorf("%d of 4 shards of 2 cases said they had nothing to run, want 2", empty)
	}
}
