package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPluginNewAnywhere is `pipe plugin new` for a user who installed pipe
// with `go install`: the binary lives outside any checkout, the plugin is
// scaffolded in an empty directory outside it, HOME and GOPATH are fresh,
// and the go command may not reach the network (GOPROXY=off) nor resolve
// modules other than from the plugin's vendor/ (GOFLAGS=-mod=vendor). The
// scaffold's own test passes, `pipe plugin build` builds it, and pipe
// loads the .wasm. Only the module and build caches are shared with the
// developer's (they hold no pipe source the plugin could lean on: the
// plugin's go.mod requires pipe at a version no proxy serves).
func TestPluginNewAnywhere(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go not on PATH: plugins build with the Go toolchain")
	}
	bin := buildPipe(t)
	caches, err := exec.Command(goTool, "env", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	modCache, buildCache, _ := strings.Cut(strings.TrimSpace(string(caches)), "\n")
	work := t.TempDir()
	env := []string{
		"HOME=" + t.TempDir(), "GOPATH=" + t.TempDir(), "XDG_CACHE_HOME=", "PIPE_CACHE=",
		"GOMODCACHE=" + modCache, "GOCACHE=" + buildCache,
		"GOPROXY=off", "GOFLAGS=-mod=vendor", "GOWORK=off", "GOTOOLCHAIN=local",
	}
	run := func(t *testing.T, dir, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s (in %s): %v\n%s", filepath.Base(name), strings.Join(args, " "), dir, err, out)
		}
		return string(out)
	}
	for _, kind := range []string{"metric", "target", "report"} {
		t.Run(kind, func(t *testing.T) {
			name := "anywhere_" + kind
			out := run(t, work, bin, "plugin", "new", name, "--kind", kind)
			for _, want := range []string{"go.mod", "vendor/modules.txt", "main_test.go"} {
				if !strings.Contains(out, filepath.Join(name, want)) {
					t.Errorf("plugin new did not say it wrote %s:\n%s", want, out)
				}
			}
			dir := filepath.Join(work, name)
			run(t, dir, goTool, "test", ".")
			wasm := filepath.Join(work, name+".wasm")
			run(t, work, bin, "plugin", "build", name, "-o", wasm)
			out = run(t, work, bin, "plugin", "inspect", wasm)
			if !regexp.MustCompile(`(?m)^kinds +` + kind + `$`).MatchString(out) {
				t.Errorf("inspect output lacks kind %s:\n%s", kind, out)
			}
		})
	}
}
