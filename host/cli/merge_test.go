package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
)

// writeShardDirs stores the fixture's three shards as their runs would,
// one run directory each, and returns them.
func writeShardDirs(t *testing.T, rs []*result.Result) []string {
	t.Helper()
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

func TestMergeCommand(t *testing.T) {
	dirs := writeShardDirs(t, resulttest.Shards())
	out := filepath.Join(t.TempDir(), "merged")

	// The fixture has a run that broke an invariant: exit 4, as pipe run.
	code, stdout, stderr := runPipe(append([]string{"merge"}, append(dirs, "--out", out)...)...)
	if code != ExitInvalid || !strings.Contains(stdout, "merged 3 cases from 3 shard(s) into "+out) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	oneLine(t, stderr)
	for _, f := range []string{result.FileName, "report.md", "runs.csv", "cases.csv", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("merge wrote no %s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, host := range resulttest.ShardHosts {
		if !strings.Contains(string(md), host) {
			t.Errorf("report.md does not say that %s ran cases", host)
		}
	}

	t.Run("the merged result reports, checks and compares like any other", func(t *testing.T) {
		if code, _, stderr := runPipe("report", out, "--check"); code != ExitInvalid {
			t.Errorf("report --check: exit %d (%s), want %d", code, stderr, ExitInvalid)
		}
		csvDir := t.TempDir() + "/"
		if code, _, stderr := runPipe("report", out, "--format", "csv", "--out", csvDir); code != ExitOK {
			t.Errorf("report --format csv: exit %d: %s", code, stderr)
		}
		whole := t.TempDir()
		if err := result.Write(whole, resulttest.Whole()); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runPipe("compare", whole, out)
		if code != ExitOK || !strings.Contains(stdout, "p768-n256-b1") {
			t.Errorf("compare unsharded → merged: exit %d, stderr %q, stdout %.200q", code, stderr, stdout)
		}
		// Fleet mode: the unsharded run's machine, then the merge's two
		// machine types (the cpu pool's two hosts are one column).
		code, stdout, stderr = runPipe("compare", whole, out, "--fleet", "--format", "md")
		if code != ExitOK || !strings.Contains(stdout, "## Fleet: 3 machines") || !strings.Contains(stdout, "| bench-1 | pool=cpu | gpu-1 |") {
			t.Errorf("compare --fleet: exit %d, stderr %q, stdout %.600q", code, stderr, stdout)
		}
		if code, _, stderr := runPipe("compare", whole, out, "--fleet", "--fail-on-regression"); code != ExitError || !strings.Contains(stderr, "a fleet runs no test") {
			t.Errorf("compare --fleet --fail-on-regression: exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("phase 5 reads the merged result as its latency input", func(t *testing.T) {
		dir := t.TempDir()
		p5 := filepath.Join(dir, "phase5.toml")
		src := "name = \"phase5-report\"\n[inputs]\nlatency = \"" + out + "\"\n[report]\nformats = [\"md\", \"html\"]\n"
		if err := os.WriteFile(p5, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runPipe("run", p5, "--out", dir)
		md, _ := filepath.Glob(filepath.Join(dir, "phase5-report_*", "report.md"))
		if len(md) != 1 {
			t.Fatalf("exit %d, no phase 5 report: %s", code, stderr)
		}
		if code != ExitInvalid {
			t.Errorf("phase 5: exit %d, want %d, as its input (the fixture's broken run): %s", code, ExitInvalid, stderr)
		}
		b, _ := os.ReadFile(md[0])
		if !strings.Contains(string(b), "p768-n256-b1") {
			t.Errorf("phase 5's report (exit %d) does not show the merged cases:\n%.800s", code, b)
		}
	})
	t.Run("--out that holds a result is refused", func(t *testing.T) {
		code, _, stderr := runPipe(append([]string{"merge"}, append(dirs, "--out", out)...)...)
		if code != ExitError || !strings.Contains(stderr, "already holds a result.json") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		oneLine(t, stderr)
	})
	t.Run("a missing shard: incomplete, exit 5, the missing case named", func(t *testing.T) {
		gone := filepath.Join(t.TempDir(), "shard-never-started")
		code, _, stderr := runPipe("merge", dirs[0], gone, dirs[2], "--out", t.TempDir())
		if code != ExitIncomplete || !strings.Contains(stderr, "1 of 3 cases missing (shard 2 of 3 not merged): p512-n128-b1") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		oneLine(t, stderr)
	})
	t.Run("another plan: one line naming both", func(t *testing.T) {
		rs := resulttest.Shards()
		rs[1].PlanHash = "plan1:other"
		bad := writeShardDirs(t, rs)
		code, _, stderr := runPipe("merge", bad[0], bad[1], "--out", t.TempDir())
		if code != ExitError || !strings.Contains(stderr, bad[0]) || !strings.Contains(stderr, bad[1]) || !strings.Contains(stderr, "different plans") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		oneLine(t, stderr)
	})
	t.Run("no --out", func(t *testing.T) {
		code, _, stderr := runPipe("merge", dirs[0])
		if code != ExitError || !strings.Contains(stderr, "--out DIR") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}
