package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests run the real binary — built here — the way a user or a script
// does: real ONNX Runtime, the tiny built-in model, real files.

func buildPipe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pipe")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runCmd(t *testing.T, env []string, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestRunPhasesScript(t *testing.T) {
	bin := buildPipe(t)
	out := t.TempDir()
	env := []string{"PIPE=" + bin, "PIPELINES=pipelines/testdata/phases"}
	_, stderr, code := runCmd(t, env, "examples/run-phases.sh", "--out", out)
	if code != 0 {
		t.Fatalf("run-phases.sh exit %d\n%s", code, stderr)
	}
	for _, phase := range []string{"phase1-quick", "phase2-latency", "phase3-memory", "phase4-throughput", "phase5-report"} {
		m, _ := filepath.Glob(filepath.Join(out, phase+"_*", "result.json"))
		if len(m) != 1 {
			t.Errorf("%s: %d result.json files, want 1", phase, len(m))
		}
	}
	html, _ := filepath.Glob(filepath.Join(out, "phase5-report_*", "report.html"))
	if len(html) != 1 {
		t.Errorf("phase 5 wrote no report.html")
	}

	// A phase that fails its targets stops the chain with exit 3: phase 3
	// never runs.
	failing := t.TempDir()
	for _, f := range []string{"phase1-quick", "phase2-latency", "phase3-memory", "phase4-throughput", "phase5-report"} {
		b, err := os.ReadFile(filepath.Join("../../pipelines/testdata/phases", f+".toml"))
		if err != nil {
			t.Fatal(err)
		}
		if f == "phase2-latency" {
			b = append(b, []byte("\n[[target]]\nexpr = \"ttft_ms.p50 < 1us\"\n")...)
		}
		if err := os.WriteFile(filepath.Join(failing, f+".toml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out2 := t.TempDir()
	_, stderr, code = runCmd(t, []string{"PIPE=" + bin, "PIPELINES=" + failing}, "examples/run-phases.sh", "--out", out2)
	if code != 3 || !strings.Contains(stderr, "phase2-latency failed its targets") {
		t.Errorf("exit %d, want 3 with a message naming phase2-latency\n%s", code, stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(out2, "phase3-memory_*")); len(m) != 0 {
		t.Errorf("phase 3 ran after phase 2 failed its targets: %v", m)
	}
}

func TestBadInputsGiveOneLine(t *testing.T) {
	bin := buildPipe(t)
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"missing pipeline", []string{"run", "pipelines/nope.toml"}, nil, "no such file"},
		{"unknown key", []string{"run", "pipelines/testdata/gpt2-tiny.toml", "--set", "generate.runz=3"}, nil, "did you mean generate.runs"},
		{"context overflow", []string{"run", "pipelines/testdata/gpt2-tiny.toml", "--set", "matrix.prompt_tokens=[100, 125]", "--out", t.TempDir()}, nil, "exceeds the 128 positions"},
		{"missing runtime", []string{"run", "pipelines/testdata/gpt2-tiny.toml", "--out", t.TempDir()}, []string{"PIPE_ORT_LIB=/nonexistent/libonnxruntime.so"}, "PIPE_ORT_LIB"},
		{"not an ORT library", []string{"run", "pipelines/testdata/gpt2-tiny.toml", "--out", t.TempDir()}, []string{"PIPE_ORT_LIB=/etc/passwd"}, "passwd"},
		{"cuda without a GPU build", []string{"run", "pipelines/testdata/gpt2-tiny.toml", "--set", "model.device=cuda", "--out", t.TempDir()}, nil, "CUDA"},
		{"baseline typo", []string{"run", "pipelines/testdata/gpt2-tiny.toml", "--baseline", "latest:no-such-phase", "--out", t.TempDir()}, nil, "no-such-phase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, tc.env, bin, tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
				t.Errorf("stderr holds a Go stack trace:\n%s", stderr)
			}
		})
	}
}

// startLongRun starts a run of 100,000 runs per case and returns once
// more than 20 runs are journaled.
func startLongRun(t *testing.T, bin, out string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, "run", "pipelines/testdata/gpt2-tiny.toml", "--out", out,
		"--set", "generate.runs=100000", "--set", "matrix.prompt_tokens=[16, 32]", "--set", "matrix.new_tokens=[32, 32]")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until runs are being journaled.
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(out, "*", "samples.jsonl"))
		if len(m) == 1 {
			if b, _ := os.ReadFile(m[0]); bytes.Count(b, []byte("\n")) > 20 {
				return cmd, &stderr
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no runs journaled within a minute; stderr: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An interrupt stops the run and still writes what finished: the journal,
// result.json and the report, with exit 1 and a message saying so.
func TestInterruptWritesFinishedRuns(t *testing.T) {
	bin := buildPipe(t)
	out := t.TempDir()
	cmd, stderr := startLongRun(t, bin, out)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; stderr: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q does not say it was interrupted", stderr.String())
	}
	dir, _ := filepath.Glob(filepath.Join(out, "*"))
	b, err := os.ReadFile(filepath.Join(dir[0], "result.json"))
	if err != nil {
		t.Fatalf("no result.json after the interrupt: %v", err)
	}
	var res struct {
		Cases []struct {
			Runs []json.RawMessage `json:"runs"`
		} `json:"cases"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	journal, _ := os.ReadFile(filepath.Join(dir[0], "samples.jsonl"))
	lines := bytes.Count(journal, []byte("\n"))
	if len(res.Cases) == 0 || len(res.Cases[0].Runs) == 0 || len(res.Cases[0].Runs) != lines-2 {
		t.Errorf("result holds %d runs, journal %d lines: want every journaled measured run (lines − header − warmup) in the result", len(res.Cases[0].Runs), lines)
	}
	if len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "interrupted") {
		t.Errorf("result errors %q do not record the interrupt", res.Errors)
	}
	if _, err := os.Stat(filepath.Join(dir[0], "report.md")); err != nil {
		t.Errorf("no report after the interrupt: %v", err)
	}
}

// Issue 9 item 12: after kill -9 there is no result.json; pipe report
// rebuilds the result from the journal, renders md, csv and html, marks it
// incomplete and exits 5.
func TestKilledRunIsRebuiltByReport(t *testing.T) {
	bin := buildPipe(t)
	out := t.TempDir()
	cmd, _ := startLongRun(t, bin, out)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	dirs, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(dirs) != 1 {
		t.Fatalf("%d run directories, want 1", len(dirs))
	}
	dir := dirs[0]
	if _, err := os.Stat(filepath.Join(dir, "result.json")); err == nil {
		t.Fatal("a killed run wrote result.json")
	}
	// The measured runs the journal holds whole.
	journal, _ := os.ReadFile(filepath.Join(dir, "samples.jsonl"))
	measured := 0
	for _, line := range bytes.SplitAfter(journal, []byte("\n")) {
		var l struct {
			Type   string `json:"type"`
			Warmup bool   `json:"warmup"`
		}
		if bytes.HasSuffix(line, []byte("\n")) && json.Unmarshal(line, &l) == nil && l.Type == "run" && !l.Warmup {
			measured++
		}
	}
	rep := t.TempDir() + "/"
	for _, format := range []string{"md", "csv", "html"} {
		_, stderr, code := runCmd(t, nil, bin, "report", dir, "--format", format, "--out", rep)
		if code != 5 || !strings.Contains(stderr, "incomplete: rebuilt from the journal") {
			t.Errorf("pipe report --format %s: exit %d, want 5 with a line saying the result is incomplete\n%s", format, code, stderr)
		}
		if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
			t.Errorf("stderr holds a Go stack trace:\n%s", stderr)
		}
	}
	md, _ := os.ReadFile(filepath.Join(rep, "report.md"))
	if !strings.Contains(string(md), "incomplete: rebuilt from the journal") {
		t.Errorf("report.md does not say the result is incomplete")
	}
	runs, _ := os.ReadFile(filepath.Join(rep, "runs.csv"))
	if rows := bytes.Count(runs, []byte("\n")) - 1; rows != measured || rows == 0 {
		t.Errorf("runs.csv has %d runs, the journal %d whole measured runs", rows, measured)
	}
	if _, err := os.Stat(filepath.Join(rep, "report.html")); err != nil {
		t.Errorf("no report.html: %v", err)
	}
}

// Issue 9 item 11: a disk that fills (here a 32 KiB file size limit) stops
// the run with the journal's own error first, leaves no torn line, and
// reports every output that could not be written, one line each.
func TestFullDiskReportsTheJournalError(t *testing.T) {
	bin := buildPipe(t)
	out := t.TempDir()
	_, stderr, code := runCmd(t, nil, "sh", "-c", `ulimit -f 64 && exec "$0" "$@"`, bin, "run", "pipelines/testdata/gpt2-tiny.toml",
		"--out", out, "--set", "generate.runs=1000", "--set", "matrix.new_tokens=[32, 32]", "--set", `report.formats=["md", "json", "csv"]`)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if !strings.HasPrefix(lines[0], "pipe: ") || !strings.Contains(lines[0], "samples.jsonl") || !strings.Contains(lines[0], "file too large") {
		t.Errorf("first error line %q does not name the journal and the cause\n%s", lines[0], stderr)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "pipe: ") && !strings.HasPrefix(l, "wrote ") {
			t.Errorf("stderr line %q is neither an error line nor a file written", l)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "*"))
	journal, err := os.ReadFile(filepath.Join(dirs[0], "samples.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(journal) == 0 || journal[len(journal)-1] != '\n' {
		t.Fatalf("the journal (%d bytes) ends in a torn line", len(journal))
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(journal, []byte("\n")), []byte("\n")) {
		if !json.Valid(line) {
			t.Errorf("journal line %d is not JSON", i+1)
		}
	}
	// result.json outgrew the limit too: its error is reported after the
	// journal's, and the report that fit was still written.
	if _, err := os.Stat(filepath.Join(dirs[0], "result.json")); err == nil {
		t.Logf("result.json fit under the limit")
	} else if !strings.Contains(stderr, "result.json") {
		t.Errorf("result.json was not written and no error line names it\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "report.md")); err != nil {
		t.Errorf("report.md not written: %v", err)
	}
}
