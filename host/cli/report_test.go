package cli

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
)

// writeResults stores the fixture's baseline and current result under a
// fresh output root as pipe run would, and returns the root and the two
// run directories.
func writeResults(t *testing.T) (root, oldDir, newDir string) {
	t.Helper()
	root = t.TempDir()
	for i, r := range []*result.Result{resulttest.Baseline(), resulttest.Phase2()} {
		at, err := time.Parse(time.RFC3339, r.StartedAt)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, result.DirName(r.Pipeline.Name, r.Model.Model, at))
		if err := result.Write(dir, r); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			oldDir = dir
		} else {
			newDir = dir
		}
	}
	return root, oldDir, newDir
}

func oneLine(t *testing.T, stderr string) {
	t.Helper()
	if strings.Count(strings.TrimRight(stderr, "\n"), "\n") > 0 || stderr == "" {
		t.Errorf("want one line on stderr, got %q", stderr)
	}
	if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
		t.Errorf("stack trace on stderr: %q", stderr)
	}
}

func TestReportCommand(t *testing.T) {
	root, oldDir, newDir := writeResults(t)

	t.Run("latest to stdout, with a baseline", func(t *testing.T) {
		code, stdout, stderr := runPipe("report", "latest:phase2-latency", "--out-root", root, "--baseline", oldDir)
		if code != ExitOK || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		golden.Check(t, "report-phase2.md", []byte(stdout))
	})
	t.Run("a directory and a file name the same result", func(t *testing.T) {
		_, byDir, _ := runPipe("report", newDir, "--format", "json")
		_, byFile, _ := runPipe("report", filepath.Join(newDir, result.FileName), "--format", "json")
		want, _ := os.ReadFile(filepath.Join(newDir, result.FileName))
		if byDir != string(want) || byFile != string(want) {
			t.Error("--format json differs from the result.json it read")
		}
	})
	t.Run("csv on stdout says what it left out", func(t *testing.T) {
		code, stdout, stderr := runPipe("report", newDir, "--format", "csv")
		if code != ExitOK || !strings.HasPrefix(stdout, "case,prompt_tokens,") || !strings.Contains(stderr, "cases.csv not shown; give --out DIR/") {
			t.Errorf("exit %d, stdout %.40q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("csv into a directory", func(t *testing.T) {
		out := t.TempDir() + string(os.PathSeparator) + "csv" + string(os.PathSeparator)
		code, _, stderr := runPipe("report", newDir, "--format", "csv", "--out", out)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, name := range []string{"runs.csv", "cases.csv"} {
			if _, err := os.Stat(filepath.Join(out, name)); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("md into a file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "phase2.md")
		code, stdout, _ := runPipe("report", newDir, "--out", out, "--title", "Phase 2")
		data, err := os.ReadFile(out)
		if code != ExitOK || err != nil || stdout != "" || !strings.HasPrefix(string(data), "# Phase 2\n") {
			t.Errorf("exit %d, err %v, stdout %q, file starts %.20q", code, err, stdout, data)
		}
	})

	// A valid result whose targets failed, for --check.
	failing := resulttest.Baseline()
	failing.Targets = []result.Verdict{{Target: "ttft_ms.p95 < 1ms", Metric: "ttft_ms", Statistic: "p95", Op: "<", Threshold: 1, Observed: 70, Unit: "ms", Source: "builtin"}}
	failingDir := filepath.Join(t.TempDir(), "failing")
	if err := result.Write(failingDir, failing); err != nil {
		t.Fatal(err)
	}
	// A valid result whose report stage failed: --check counts its errors
	// as pipe run does.
	erred := resulttest.Baseline()
	erred.Errors = []string{"report stage: report html: disk full"}
	erredDir := filepath.Join(t.TempDir(), "erred")
	if err := result.Write(erredDir, erred); err != nil {
		t.Fatal(err)
	}
	notPipe := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(notPipe, []byte(`{"schema": "pipe.result/v9"}`), 0o644)

	codes := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"check: invalid result", []string{newDir, "--check", "--format", "json"}, ExitInvalid, "result invalid: 1 broken invariant(s), e.g. p512-n128-b1: run 7: E2E ≥ TTFT broken"},
		{"check: targets failed", []string{failingDir, "--check", "--format", "json"}, ExitTargetsFailed, "1 target(s) failed"},
		{"check: all well", []string{oldDir, "--check", "--format", "json"}, ExitOK, ""},
		{"check: stage errors", []string{erredDir, "--check", "--format", "json"}, ExitError, "1 stage error(s), e.g. report stage: report html: disk full"},
		{"stage errors without check", []string{erredDir, "--format", "json"}, ExitOK, ""},
		{"flags before the argument", []string{"--check", "--format", "json", newDir}, ExitInvalid, "result invalid"},
		{"unknown flag after the argument", []string{newDir, "--colour"}, ExitError, "report: flag provided but not defined: -colour (see pipe report --help)"},
		{"no argument", nil, ExitError, "report: want one result"},
		{"two arguments", []string{oldDir, newDir}, ExitError, "report: want one result"},
		{"unknown format", []string{newDir, "--format", "pdf"}, ExitError, `unknown format "pdf"; want one of`},
		{"no such file", []string{filepath.Join(root, "nope")}, ExitError, "no such file or directory (give a result.json, its directory, or latest:NAME)"},
		{"no such pipeline", []string{"latest:phase9", "--out-root", root}, ExitError, `no result of pipeline "phase9"`},
		{"other schema", []string{notPipe}, ExitError, "schema pipe.result/v9, but this pipe reads pipe.result/v2 and pipe.result/v1 only"},
		{"bad baseline", []string{newDir, "--baseline", "latest:nope", "--out-root", root}, ExitError, "baseline: latest:nope"},
	}
	for _, tt := range codes {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runPipe(append([]string{"report"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.stderr == "" {
				if stderr != "" {
					t.Errorf("stderr %q", stderr)
				}
				return
			}
			oneLine(t, stderr)
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

func TestCompareCommand(t *testing.T) {
	root, oldDir, newDir := writeResults(t)
	for _, f := range []string{"text", "md", "json"} {
		t.Run(f, func(t *testing.T) {
			code, stdout, stderr := runPipe("compare", oldDir, "latest:phase2-latency", "--out-root", root, "--format", f)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			golden.Check(t, "compare-phase2."+f, []byte(stdout))
		})
	}
	codes := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"improvements do not fail", []string{oldDir, newDir, "--fail-on-regression"}, ExitOK, ""},
		{"reversed, regressions fail on request", []string{newDir, oldDir, "--fail-on-regression"}, ExitTargetsFailed, "compare: 5 regressions (ttft_ms at p128-n64-b1; decode speed at p128-n64-b1: tpot_ms, itl_ms, decode_tps;"},
		{"one metric only", []string{newDir, oldDir, "--metric", "peak_rss_mib", "--fail-on-regression"}, ExitOK, ""},
		{"one argument", []string{oldDir}, ExitError, "compare: want two results"},
		{"bad alpha", []string{oldDir, newDir, "--alpha", "5"}, ExitError, "--alpha 5: want a level between 0 and 1"},
		{"bad noise", []string{oldDir, newDir, "--noise", "-1"}, ExitError, "--noise -1: want a fraction"},
		{"unknown format", []string{oldDir, newDir, "--format", "html"}, ExitError, `compare: unknown format "html"`},
		{"unknown metric", []string{oldDir, newDir, "--metric", "nope"}, ExitError, `--metric: metric "nope" is not defined by pipe or by the results; they measured ttft_ms`},
		{"missing result", []string{oldDir, "latest:nope", "--out-root", root}, ExitError, `no result of pipeline "nope"`},
	}
	for _, tt := range codes {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runPipe(append([]string{"compare"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.stderr == "" {
				if stderr != "" {
					t.Errorf("stderr %q", stderr)
				}
				return
			}
			oneLine(t, stderr)
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

// TestReportPluginFormat: pipe report resolves a format that is not
// built-in as a first-party report plugin, found the way pipe run finds
// one (a bare name in the plugin cache, built by `make plugins`): junit
// renders junit.xml to stdout or into --out DIR/. A name that is neither
// built-in nor a built report plugin, and a plugin of another kind, are
// one-line errors.
func TestReportPluginFormat(t *testing.T) {
	junit, _ := pipeline.FirstPartyPlugin("junit")
	if _, err := os.Stat(junit); err != nil {
		t.Fatalf("%v: build the first-party plugins with `make plugins`", err)
	}
	_, _, newDir := writeResults(t)
	code, stdout, stderr := runPipe("report", newDir, "--format", "junit")
	if code != ExitOK || stderr != "" {
		t.Fatalf("--format junit: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "<testsuites") || !strings.Contains(stdout, `<testsuite name="p128-n64-b1"`) {
		t.Errorf("--format junit printed no JUnit XML of the result:\n%.300s", stdout)
	}
	out := t.TempDir() + "/"
	if code, _, stderr := runPipe("report", newDir, "--format", "junit", "--out", out); code != ExitOK {
		t.Fatalf("--format junit --out DIR/: exit %d, stderr %q", code, stderr)
	}
	if data, err := os.ReadFile(filepath.Join(out, "junit.xml")); err != nil || string(data) != stdout {
		t.Errorf("--out DIR/ wrote junit.xml %v, differing from stdout", err)
	}
	for _, tc := range []struct{ format, want string }{
		{"nosuch", `unknown format "nosuch"; want one of csv, html, json, md, or the name of a report plugin built into`},
		{"jitter", `plugin jitter is not a report plugin (kinds: [metric])`},
		{"../junit", `unknown format "../junit"`},
	} {
		code, _, stderr := runPipe("report", newDir, "--format", tc.format)
		if code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("--format %s: exit %d, stderr %q, want %q", tc.format, code, stderr, tc.want)
		}
		oneLine(t, stderr)
	}
}
