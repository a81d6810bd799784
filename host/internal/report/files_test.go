package report_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/report"
	"github.com/pipe-bench/pipe/host/internal/result/resulttest"
)

// TestFormatFilesDeclared: a format's claimed file names are the names it
// renders, so the claim CheckFileName enforces cannot drift from what is
// written.
func TestFormatFilesDeclared(t *testing.T) {
	for _, name := range []string{"md", "csv", "json"} {
		f, _ := report.Lookup(name)
		fn, ok := f.(report.FileNamer)
		if !ok {
			t.Fatalf("format %s claims no file names", name)
		}
		files, err := report.RenderFiles(name, resulttest.Phase2(), report.Options{Baseline: resulttest.Baseline()})
		var got []string
		for _, f := range files {
			got = append(got, f.Name)
		}
		if err != nil || !slices.Equal(got, fn.Files()) {
			t.Errorf("format %s renders %v (%v), claims %v", name, got, err, fn.Files())
		}
	}
}

// TestCheckFileName: a plugin's report file name must be plain, and no
// format's or other writer's.
func TestCheckFileName(t *testing.T) {
	reg := builtinRegistry(t)
	taken := map[string]string{"samples.jsonl": "pipe's sample journal", "junit.xml": "plugin junit"}
	for _, tt := range []struct{ name, want string }{
		{"result.json", `"result.json" is the file of pipe's format json`},
		{"report.md", `"report.md" is the file of pipe's format md`},
		{"runs.csv", "format csv"},
		{"cases.csv", "format csv"},
		{"samples.jsonl", "already written by pipe's sample journal"},
		{"junit.xml", "already written by plugin junit"},
		{"../x.xml", "not a plain file name"},
		{"sub/x.xml", "not a plain file name"},
		{`sub\x.xml`, "not a plain file name"},
		{"..", "not a plain file name"},
		{".", "not a plain file name"},
		{"", "not a plain file name"},
	} {
		err := reg.CheckFileName(tt.name, "plugin clobber", taken)
		if err == nil || !strings.HasPrefix(err.Error(), "plugin clobber: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckFileName(%q) = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if err := reg.CheckFileName("clobber.txt", "plugin clobber", taken); err != nil {
		t.Errorf("a free name is refused: %v", err)
	}
}

// FuzzCheckFileName: a report file name a plugin declares is accepted only
// when it names a new file directly inside the run directory.
func FuzzCheckFileName(f *testing.F) {
	for _, s := range []string{"junit.xml", "result.json", "../x", "a/b", `a\b`, "..", ".", "", "x\x00y", "report.md"} {
		f.Add(s)
	}
	reg := builtinRegistry(f)
	f.Fuzz(func(t *testing.T, name string) {
		if reg.CheckFileName(name, "plugin fuzz", map[string]string{"samples.jsonl": "journal"}) != nil {
			return
		}
		dir := filepath.Join("/run", "dir")
		if p := filepath.Join(dir, name); filepath.Dir(p) != dir || filepath.Base(p) != name {
			t.Fatalf("accepted %q, which lands at %s", name, p)
		}
		for _, owned := range []string{"result.json", "report.md", "runs.csv", "cases.csv", "samples.jsonl"} {
			if name == owned {
				t.Fatalf("accepted %q, which pipe writes", name)
			}
		}
	})
}

// builtinRegistry is a registry of this package's formats.
func builtinRegistry(t testing.TB) *report.Registry {
	t.Helper()
	reg, err := report.NewRegistry(report.Builtin(nil)...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
