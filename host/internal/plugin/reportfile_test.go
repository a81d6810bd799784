package plugin_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/registry"
	"github.com/pipe-bench/pipe/host/internal/result"
	"github.com/pipe-bench/pipe/host/internal/runner"
)

// TestReportFileNameOwned: a report plugin may not write a file another
// writer of the run directory owns — pipe's result and journal, any
// built-in format's files (listed or not), another plugin's file. The
// report stage fails with one line naming both writers, the run exits 1,
// and the owner's file keeps its content; a free name is written.
func TestReportFileNameOwned(t *testing.T) {
	junit := buildPlugin(t, "plugins/junit")
	clobber := buildPlugin(t, "host/internal/plugin/testdata/clobber")
	dir := t.TempDir()
	toml := filepath.Join(dir, "p.toml")
	os.WriteFile(toml, []byte(`name = "clobber"
[model]
source = "gpt2-tiny"
[matrix]
prompt_tokens = 4
new_tokens = 8
[warmup]
runs = 0
[generate]
runs = 2
[report]
formats = ["json", "md", "csv", "junit", "clobber"]
out_dir = "`+filepath.Join(dir, "out")+`"
[[plugin]]
name = "junit"
path = "`+junit+`"
[[plugin]]
name = "clobber"
path = "`+clobber+`"
grant.env = ["CLOBBER_FILE"]
`), 0o644)
	run := func(t *testing.T, file string) *runner.Outcome {
		t.Setenv("CLOBBER_FILE", file)
		plan, err := pipeline.Load(toml, pipeline.LoadOptions{Names: registry.New().Names()})
		if err != nil {
			t.Fatal(err)
		}
		out, err := runner.Execute(context.Background(), plan, runner.Options{Generator: steadyGen{}})
		if out == nil || out.Result == nil {
			t.Fatalf("no result written: %v", err)
		}
		return out
	}
	for _, tt := range []struct{ file, owner string }{
		{"result.json", "json"},
		{"samples.jsonl", "journal"},
		{"report.md", "md"},
		{"runs.csv", "csv"},
		{"cases.csv", "csv"},
		{"report.html", "html"}, // not listed in this pipeline: still pipe's
		{"junit.xml", "junit"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			out := run(t, tt.file)
			var stage []string
			for _, e := range out.Result.Errors {
				if strings.HasPrefix(e, "report stage: ") {
					stage = append(stage, e)
				}
			}
			if len(stage) != 1 || !strings.Contains(stage[0], "plugin clobber") || !strings.Contains(stage[0], strconv.Quote(tt.file)) || !strings.Contains(stage[0], tt.owner) || strings.Contains(stage[0], "\n") {
				t.Fatalf("report stage errors %q, want one line naming plugin clobber, %q and its owner %s", stage, tt.file, tt.owner)
			}
			t.Log(stage[0])
			if !out.Result.Valid || out.Result.Incomplete != "" {
				t.Errorf("valid %v, incomplete %q: the stage error alone must decide the run (pipe exits 1 on it)", out.Result.Valid, out.Result.Incomplete)
			}
			if b, err := os.ReadFile(filepath.Join(out.Dir, tt.file)); err == nil && string(b) == "clobbered\n" {
				t.Errorf("%s was overwritten by the plugin", tt.file)
			}
			if _, _, err := result.Load(out.Dir, ""); err != nil {
				t.Errorf("result.json no longer loads: %v", err)
			}
			j, err := os.ReadFile(filepath.Join(out.Dir, "samples.jsonl"))
			if err != nil || !strings.HasPrefix(string(j), "{") {
				t.Errorf("samples.jsonl = %.40q, %v", j, err)
			}
		})
	}
	t.Run("a free name", func(t *testing.T) {
		out := run(t, "clobber.txt")
		if b, err := os.ReadFile(filepath.Join(out.Dir, "clobber.txt")); err != nil || string(b) != "clobbered\n" {
			t.Errorf("clobber.txt = %q, %v (errors %q)", b, err, out.Result.Errors)
		}
	})
	for _, file := range []string{"../escape.txt", "sub/x.txt", ".."} {
		t.Run(file, func(t *testing.T) {
			t.Setenv("CLOBBER_FILE", file)
			plan, err := pipeline.Load(toml, pipeline.LoadOptions{Names: registry.New().Names()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = runner.Execute(context.Background(), plan, runner.Options{Generator: steadyGen{}})
			if err == nil || !strings.Contains(err.Error(), "want a plain file name") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Execute error = %v, want the plugin refused at load", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "escape.txt")); err == nil {
				t.Errorf("the plugin wrote outside the run directory")
			}
		})
	}
}
