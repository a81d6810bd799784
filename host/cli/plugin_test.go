package cli

import (
	"github.com/pipe-bench/pipe/internal/golden"

	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPluginNew scaffolds each kind outside the checkout, runs the
// scaffold's own test, builds it and inspects the .wasm: the scaffold is
// buildable as written.
func TestPluginNew(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, kind := range []string{"metric", "target", "report"} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my_"+kind)
			name := "my_" + kind
			code, stdout, stderr := runPipe("plugin", "new", name, "--kind", kind, "--dir", dir)
			if code != 0 {
				t.Fatalf("plugin new: exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "main_test.go") || !strings.Contains(stdout, "go.mod") {
				t.Errorf("plugin new printed %q", stdout)
			}
			cmd := exec.Command("go", "test", ".")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test in the scaffold: %v\n%s", err, out)
			}
			wasm := filepath.Join(dir, name+".wasm")
			if code, _, stderr := runPipe("plugin", "build", dir, "-o", wasm); code != 0 {
				t.Fatalf("plugin build: exit %d: %s", code, stderr)
			}
			code, stdout, stderr = runPipe("plugin", "inspect", wasm)
			if code != 0 {
				t.Fatalf("plugin inspect: exit %d: %s", code, stderr)
			}
			if !regexp.MustCompile(`(?m)^kinds +` + kind + `$`).MatchString(stdout) {
				t.Errorf("inspect output lacks kind %s:\n%s", kind, stdout)
			}
		})
	}
}

func TestPluginErrors(t *testing.T) {
	tmp := t.TempDir()
	notWasm := filepath.Join(tmp, "x.wasm")
	os.WriteFile(notWasm, []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(tmp, "main.go"), []byte("package main\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"new without a name", []string{"plugin", "new"}, "plugin new: want one NAME"},
		{"new with a bad name", []string{"plugin", "new", "Bad-Name", "--dir", filepath.Join(tmp, "b")}, `plugin name "Bad-Name": use lowercase letters`},
		{"new with a bad kind", []string{"plugin", "new", "x", "--kind", "exporter", "--dir", filepath.Join(tmp, "k")}, `plugin kind "exporter": want metric, target or report`},
		{"new over existing files", []string{"plugin", "new", "x", "--dir", tmp}, "main.go already exists"},
		{"build a dir without main.go", []string{"plugin", "build", filepath.Join(tmp, "nothing")}, "no main.go: a plugin is a package main"},
		{"inspect a file that is not wasm", []string{"plugin", "inspect", notWasm}, "not a pipe plugin"},
		{"inspect a missing plugin", []string{"plugin", "inspect", filepath.Join(tmp, "none.wasm")}, "does not exist: build it with `pipe plugin build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runPipe(tt.args...)
			if code != ExitError || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line containing %q", code, stderr, tt.want)
			}
		})
	}
}

func TestPluginInspectGolden(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	wasm := filepath.Join(t.TempDir(), "jitter.wasm")
	if code, _, stderr := runPipe("plugin", "build", "../../plugins/jitter", "-o", wasm); code != 0 {
		t.Fatalf("plugin build: %s", stderr)
	}
	code, stdout, stderr := runPipe("plugin", "inspect", wasm)
	if code != 0 {
		t.Fatalf("inspect: %s", stderr)
	}
	stable := regexp.MustCompile(`\(\d+ bytes, sha256 [0-9a-f]+\)`).ReplaceAllString(stdout, "(SIZE bytes, sha256 HASH)")
	golden.Check(t, "plugin-inspect-jitter.txt", []byte(stable))
}
