package merge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/engine"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
)

func whole(*testing.T) *result.Result { return resulttest.Whole() }

func shards(*testing.T) []*result.Result { return resulttest.Shards() }

func writeShards(t *testing.T, rs []*result.Result) []string {
	root := t.TempDir()
	var dirs []string
	for _, r := range rs {
		dir := filepath.Join(root, "shard-"+r.Env.Hostname)
		if err := result.Write(dir, r); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

func caseIDs(r *result.Result) []string {
	var ids []string
	for _, c := range r.Cases {
		ids = append(ids, c.ID)
	}
	return ids
}

func verdictKeys(vs []result.Verdict) []string {
	var out []string
	for _, v := range vs {
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func TestMergeShards(t *testing.T) {
	rs := shards(t)
	dirs := writeShards(t, rs)
	// Given out of order: the merged cases follow the plan.
	got, err := Dirs([]string{dirs[2], dirs[0], dirs[1]})
	if err != nil {
		t.Fatal(err)
	}
	full := whole(t)
	if !slices.Equal(caseIDs(got), caseIDs(full)) {
		t.Errorf("cases %v, want the plan's %v", caseIDs(got), caseIDs(full))
	}
	if got.Incomplete != "" || got.Valid {
		t.Errorf("incomplete %q, valid %v; want complete and invalid (p512 has a broken run)", got.Incomplete, got.Valid)
	}
	// Targets are judged per case: the merge's verdicts are exactly those
	// of the unsharded run, the shards' "no case matches" failures gone.
	if g, w := verdictKeys(got.Targets), verdictKeys(full.Targets); !slices.Equal(g, w) {
		t.Errorf("verdicts differ from the unsharded run's:\n got %q\nwant %q", g, w)
	}
	if len(got.Environments) != 3 {
		t.Fatalf("%d environments, want 3", len(got.Environments))
	}
	for i, c := range got.Cases {
		want := rs[i]
		env := got.Environments[slices.IndexFunc(got.Environments, func(e result.Environment) bool { return e.ID == c.Environment })]
		if env.Env.Hostname != want.Env.Hostname || env.Labels["pool"] != want.Labels["pool"] || env.Source != dirs[i] || env.ShardIndex != i+1 || env.Cases != 1 {
			t.Errorf("case %s: environment %+v; want host %s, pool %s, source %s, shard %d", c.ID, env, want.Env.Hostname, want.Labels["pool"], dirs[i], i+1)
		}
		if len(c.Runs) != len(full.Cases[i].Runs) {
			t.Errorf("case %s: %d runs, want %d", c.ID, len(c.Runs), len(full.Cases[i].Runs))
		}
	}
	if m := result.Machines(got); len(m) != 3 {
		t.Errorf("%d machines, want 3", len(m))
	}
	// The merged result survives its own file.
	dir := t.TempDir()
	if err := result.Write(dir, got); err != nil {
		t.Fatal(err)
	}
	back, err := result.Read(filepath.Join(dir, result.FileName))
	if err != nil || len(back.Environments) != 3 || back.Cases[1].Environment != "shard-2" {
		t.Errorf("read back: %v, %+v", err, back)
	}
}

func TestMergeRefuses(t *testing.T) {
	t.Run("plans differ", func(t *testing.T) {
		rs := shards(t)
		rs[1].PlanHash = "plan1:fedcba"
		rs[1].Pipeline.File = "pipelines/other.toml"
		dirs := writeShards(t, rs)
		_, err := Dirs(dirs)
		if err == nil || !strings.Contains(err.Error(), dirs[0]) || !strings.Contains(err.Error(), dirs[1]) ||
			!strings.Contains(err.Error(), "pipelines/other.toml") || !strings.Contains(err.Error(), "pipelines/phase2-latency.toml") || strings.Contains(err.Error(), "\n") {
			t.Errorf("want one line naming both shards and both pipelines, got %v", err)
		}
	})
	t.Run("a case twice", func(t *testing.T) {
		rs := shards(t)
		rs[2].Cases = append(rs[2].Cases, rs[1].Cases[0])
		rs[2].Shard.Index = 3
		dirs := writeShards(t, rs)
		_, err := Dirs(dirs)
		if err == nil || !strings.Contains(err.Error(), "p512-n128-b1") || !strings.Contains(err.Error(), dirs[1]) || !strings.Contains(err.Error(), dirs[2]) {
			t.Errorf("want the duplicate case and both sources named, got %v", err)
		}
	})
	t.Run("a shard twice", func(t *testing.T) {
		dirs := writeShards(t, shards(t))
		if _, err := Dirs([]string{dirs[0], dirs[0]}); err == nil || !strings.Contains(err.Error(), "shard 1/3 twice") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("no plan hash", func(t *testing.T) {
		rs := shards(t)
		rs[0].PlanHash = ""
		if _, err := Dirs(writeShards(t, rs)); err == nil || !strings.Contains(err.Error(), "plan_hash") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("a merged result", func(t *testing.T) {
		dirs := writeShards(t, shards(t))
		merged, err := Dirs(dirs)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := result.Write(dir, merged); err != nil {
			t.Fatal(err)
		}
		if _, err := Dirs([]string{dir}); err == nil || !strings.Contains(err.Error(), "itself a merged result") {
			t.Errorf("got %v", err)
		}
	})
}

func TestMergeMissingShard(t *testing.T) {
	dirs := writeShards(t, shards(t))
	gone := filepath.Join(t.TempDir(), "shard-never-started")
	got, err := Dirs([]string{dirs[0], gone, dirs[2]})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Incomplete, "1 of 3 cases missing (shard 2 of 3 not merged): p512-n128-b1") {
		t.Errorf("incomplete %q; want the missing case and shard named", got.Incomplete)
	}
	if !slices.Equal(caseIDs(got), []string{"p128-n64-b1", "p768-n256-b1"}) {
		t.Errorf("cases %v", caseIDs(got))
	}
	if !slices.ContainsFunc(got.Warnings, func(w string) bool { return strings.Contains(w, gone) }) {
		t.Errorf("warnings %q do not name the unreadable shard", got.Warnings)
	}
	if len(got.Errors) == 0 || got.Errors[0] != got.Incomplete {
		t.Errorf("errors %q: the first should be the incomplete note", got.Errors)
	}
}

// TestMergeRebuiltShard: a shard killed before its result.json is merged
// from its journal, and the merge says so.
func TestMergeRebuiltShard(t *testing.T) {
	rs := shards(t)
	dirs := writeShards(t, rs[:2])
	killed := filepath.Join(t.TempDir(), "shard-3")
	if err := os.MkdirAll(killed, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rs[2]
	var lines []string
	add := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	add(engine.JournalHeader{Type: "start", StartedAt: r.StartedAt, Pipeline: r.Pipeline, Model: r.Model, Env: r.Env,
		PlanHash: r.PlanHash, Shard: r.Shard, Labels: r.Labels})
	c := r.Cases[0]
	for _, run := range c.Runs[:5] { // killed after five runs
		add(engine.JournalRun{Type: "run", Case: c.ID, Key: c.Key, Params: &c.Params, Index: run.Index, Values: run.Values, Valid: run.Valid})
	}
	if err := os.WriteFile(filepath.Join(killed, engine.JournalName), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Dirs(append(dirs, killed))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(caseIDs(got), caseIDs(whole(t))) {
		t.Errorf("cases %v", caseIDs(got))
	}
	env := got.Environments[2]
	if !env.Rebuilt || got.Cases[2].Environment != env.ID || len(got.Cases[2].Runs) != 5 {
		t.Errorf("environment %+v, case runs %d; want rebuilt with 5 runs", env, len(got.Cases[2].Runs))
	}
	if !strings.Contains(got.Incomplete, "rebuilt from the journal") || !strings.Contains(got.Incomplete, killed) {
		t.Errorf("incomplete %q", got.Incomplete)
	}
	if slices.Contains(got.Errors[1:], "shard-3: "+engine.IncompleteRebuilt) {
		t.Errorf("the rebuilt note is repeated in errors: %q", got.Errors)
	}
}
