package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWritesNothingOutside runs `pipe run` and `pipe generate` through the
// built binary with HOME, TMPDIR and XDG_CACHE_HOME pointed at empty
// directories, and finds them still empty afterwards: pipe writes into its
// output directory and its cache (the checkout's .cache/) and nowhere else.
// ONNX Runtime's telemetry left mat-debug-PID.log and .ses in TMPDIR and
// Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db under the user's
// cache directory on every run before ortgen switched it off.
func TestWritesNothingOutside(t *testing.T) {
	bin := buildPipe(t)
	home, tmp, xdg := t.TempDir(), t.TempDir(), t.TempDir()
	env := []string{"HOME=" + home, "TMPDIR=" + tmp, "XDG_CACHE_HOME=" + xdg}
	out := t.TempDir()
	for _, args := range [][]string{
		{"run", "pipelines/testdata/gpt2-tiny.toml", "--out", out, "--set", `report.formats=["md","json","csv","html"]`},
		{"generate", "--model", "gpt2-tiny", "--prompt-tokens", "5", "--new-tokens", "4"},
	} {
		_, stderr, code := runCmd(t, env, bin, args...)
		if code != 0 {
			t.Fatalf("pipe %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(out, "tiny_*", "report.html")); len(m) != 1 {
		t.Fatalf("pipe run wrote no report into its output directory %s", out)
	}
	for name, dir := range map[string]string{"HOME": home, "TMPDIR": tmp, "XDG_CACHE_HOME": xdg} {
		var found []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && p != dir {
				rel, _ := filepath.Rel(dir, p)
				found = append(found, rel)
			}
			return nil
		})
		if len(found) > 0 {
			t.Errorf("pipe wrote into %s (%s): %s", name, dir, strings.Join(found, ", "))
		}
	}
	if _, err := os.Stat(filepath.Join("..", "..", ".cache")); err != nil {
		t.Errorf("the cache the runs used is not in the checkout: %v", err)
	}
}
