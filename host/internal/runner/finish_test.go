package runner

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
)

// failingFormat is a report format that fails (or panics) when rendered,
// to show that one format never costs another file.
type failingFormat struct {
	name  string
	panic bool
}

func (f failingFormat) Name() string { return f.name }
func (f failingFormat) Render(*result.Result, report.Options) ([]report.File, error) {
	if f.panic {
		var m map[string]int
		m["boom"]++ // a bug in a format: nil map write
	}
	return nil, errors.New("cannot render")
}

// finishIn runs finish with the built-in formats and two failing ones.
func finishIn(t *testing.T, dir string, res *result.Result, formats ...string) (*Outcome, error) {
	t.Helper()
	reg := registry.New()
	for _, f := range []failingFormat{{name: "test-fails"}, {name: "test-panics", panic: true}} {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	plan := &pipeline.Plan{Report: pipeline.ReportSpec{Formats: formats}}
	out := &Outcome{Result: res, Dir: dir}
	return out, finish(plan, reportOptions{}, out, reg)
}

// Issue 9 item 4: NaN and ±Inf in a summary, a leak fit, a case value and
// a plugin value cost no file; warnings name the fields.
func TestFinishWritesEveryFileDespiteNonFiniteNumbers(t *testing.T) {
	res := resulttest.Phase2()
	c := &res.Cases[0]
	s := c.Stats["ttft_ms"]
	s.Std, s.CV = math.NaN(), math.Inf(1)
	c.Stats["ttft_ms"] = s
	c.Values = map[string]float64{"throughput.output_tps": math.Inf(1)}
	c.Runs[2].Values[resulttest.JitterMetric.ID] = math.NaN()
	res.Memory = &result.Memory{Leak: []result.Leak{{Case: c.ID, R2: math.NaN(), Verdict: "no leak"}}}

	dir := t.TempDir()
	out, err := finishIn(t, dir, res, "json", "md", "csv", "html")
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	for _, name := range []string{"result.json", "report.md", "runs.csv", "cases.csv", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	got, err := result.Read(filepath.Join(dir, result.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{
		"cases[0].stats.ttft_ms.std is NaN", "cases[0].stats.ttft_ms.cv is +Inf",
		"cases[0].values.throughput.output_tps is +Inf", "cases[0].runs[2].values.jitter.itl_cv is NaN",
		"memory.leak[0].r2 is NaN",
	} {
		if !slices.ContainsFunc(got.Warnings, func(w string) bool { return strings.Contains(w, field) }) {
			t.Errorf("no warning names %s: %q", field, got.Warnings)
		}
	}
	if len(out.Files) != 5 || out.Files[0] != filepath.Join(dir, result.FileName) {
		t.Errorf("files %q, want result.json first and 5 in all", out.Files)
	}
}

// A failing or panicking format, and a file that cannot be written, each
// cost only themselves: every other file is written, result.json records
// every failure, and the error has one line per failed output.
func TestFinishReportsEveryFailedOutput(t *testing.T) {
	dir := t.TempDir()
	// runs.csv cannot be replaced: a directory holds its name (works as root,
	// unlike a read-only directory).
	if err := os.MkdirAll(filepath.Join(dir, report.RunsCSV, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := finishIn(t, dir, resulttest.Phase2(), "test-panics", "csv", "md", "test-fails", "html")
	if err == nil {
		t.Fatal("finish reported no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"test-panics", report.RunsCSV, "test-fails"}
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines, want %d (one per failed output):\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) || strings.Contains(lines[i], result.FileName) {
			t.Errorf("error line %d = %q, want it to name %s (and not blame result.json)", i+1, lines[i], w)
		}
	}
	for _, name := range []string{"result.json", "report.md", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	got, err := result.Read(filepath.Join(dir, result.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Errors) != 3 {
		t.Errorf("result.json records %d errors, want 3: %q", len(got.Errors), got.Errors)
	}
}

// When result.json itself cannot be written, the reports still are, and
// its error comes first.
func TestFinishWritesReportsWhenResultFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, result.FileName, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := finishIn(t, dir, resulttest.Phase2(), "json", "md", "csv")
	if err == nil || !strings.Contains(strings.Split(err.Error(), "\n")[0], result.FileName) {
		t.Fatalf("error = %v, want its first line to name result.json", err)
	}
	for _, name := range []string{"report.md", "runs.csv", "cases.csv"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not written after result.json failed: %v", name, err)
		}
	}
}
